package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"berth"
	"berth/internal/sstable"
	"berth/internal/wellknown"
	"berth/link/fault"
	"berth/link/mem"
	"berth/link/pcap"
)

// runLinkDemo is the demo on two hosts joined by one lossy in-memory link.
func runLinkDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("link-demo", "link-demo [-loss P] [-seed N] [-count N] [-pcap FILE]")
	loss := fs.Float64("loss", 0.05, "probability that the link drops a packet, each way")
	seed := fs.Int64("seed", 7, "seed of the link's faults and the hosts' random choices")
	count := fs.Int("count", 6, "echo requests per payload size")
	pcapFile := fs.String("pcap", "", "write host a's traffic to this pcap file")
	if err := fs.Parse(args); err != nil {
		return err
	}

	la, lb := mem.Pair(mem.MTU(1500))
	lka := fault.Wrap(la, fault.Seed(*seed), fault.Loss(*loss))
	lkb := fault.Wrap(lb, fault.Seed(*seed+1), fault.Loss(*loss))
	a := berth.NewHost(berth.Options{Name: "a", Seed: uint64(*seed)})
	b := berth.NewHost(berth.Options{Name: "b", Seed: uint64(*seed) + 1})
	defer a.Close()
	defer b.Close()
	addrA, addrB := netip.MustParsePrefix("198.18.0.1/24"), netip.MustParsePrefix("198.18.0.2/24")
	if *pcapFile != "" {
		f, err := os.Create(*pcapFile)
		if err != nil {
			return err
		}
		defer f.Close()
		pl, err := pcap.Wrap(lka, f)
		if err != nil {
			return err
		}
		if err := a.AddLink(pl, addrA); err != nil {
			return err
		}
	} else if err := a.AddLink(lka, addrA); err != nil {
		return err
	}
	if err := b.AddLink(lkb, addrB); err != nil {
		return err
	}
	fmt.Fprintf(out, "berth demo: host a %v and host b %v on an in-memory link, MTU 1500, %.0f%% loss each way (seed %d)\n\n",
		addrA, addrB, *loss*100, *seed)

	// Raw sockets: ping, including payloads the link must fragment.
	sent, got := 0, 0
	var rttSum time.Duration
	for _, size := range []int{56, 1472, 4000} {
		note := ""
		if size+28 > 1500 {
			note = " (fragmented both ways)"
		}
		fmt.Fprintf(out, "PING %v: %d data bytes%s\n", addrB.Addr(), size, note)
		for i := range *count {
			sent++
			pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			r, err := a.Ping(pctx, addrB.Addr(), uint16(sent), size)
			cancel()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				fmt.Fprintf(out, "  icmp_seq=%d: no reply (%v)\n", i, err)
				continue
			}
			got++
			rttSum += r.RTT
			fmt.Fprintf(out, "  %d bytes from %v: icmp_seq=%d ttl=%d time=%.3f ms\n", r.Size+8, r.From, i, r.TTL, float64(r.RTT.Microseconds())/1000)
		}
	}
	fmt.Fprintf(out, "--- %v ping statistics: %d packets transmitted, %d received, %.1f%% packet loss", addrB.Addr(), sent, got, 100*float64(sent-got)/float64(sent))
	if got > 0 {
		fmt.Fprintf(out, ", average rtt %.3f ms", float64((rttSum/time.Duration(got)).Microseconds())/1000)
	}
	fmt.Fprintln(out)

	// Datagram sockets: b runs the well-known UDP services on the callback
	// API; a asks them through blocking net.Conn sockets named by service.
	svc, err := wellknown.Serve(b.Stack(), netip.IPv4Unspecified())
	if err != nil {
		return err
	}
	defer svc.Close()
	fmt.Fprintf(out, "\nUDP: host b serves echo, discard, daytime and chargen (callbacks, no goroutine per socket)\n")
	for _, q := range []struct{ service, msg string }{{"echo", "hello, port 7"}, {"daytime", "what time is it?"}, {"chargen", "chars, please"}} {
		c, err := a.Dial("udp", "198.18.0.2:"+q.service)
		if err != nil {
			return err
		}
		var reply string
		for try := 0; try < 5 && reply == ""; try++ { // datagrams may be lost: ask again
			c.Write([]byte(q.msg))
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			p := make([]byte, 1024)
			if n, err := c.Read(p); err == nil {
				reply = string(p[:n])
			}
		}
		if len(reply) > 60 {
			reply = reply[:60] + "…"
		}
		fmt.Fprintf(out, "  %v -> %s: %q\n", c.LocalAddr(), c.RemoteAddr(), reply)
		defer c.Close()
	}

	// Stream sockets: net/http, unchanged, over berth TCP through the
	// lossy link; and the callback-driven TCP echo service.
	stopHTTP, err := serveHTTP(b)
	if err != nil {
		return err
	}
	defer stopHTTP()
	fmt.Fprintf(out, "\nTCP: host b serves HTTP with net/http on a berth listener; host a fetches its page through the lossy link\n")
	var page bytes.Buffer
	hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err = httpGet(hctx, a, "http://198.18.0.2/", &page)
	cancel()
	if err != nil {
		return fmt.Errorf("http get: %w", err)
	}
	fmt.Fprintf(out, "  GET http://198.18.0.2/ -> %d bytes: %q…\n", page.Len(), firstLine(page.String()))
	ec, err := a.Dial("tcp", "198.18.0.2:echo")
	if err != nil {
		return err
	}
	defer ec.Close()
	big := bytes.Repeat([]byte("stream sockets are reliable and ordered. "), 5000)
	go ec.Write(big)
	ec.SetReadDeadline(time.Now().Add(30 * time.Second))
	back := make([]byte, len(big))
	if _, err := io.ReadFull(ec, back); err != nil || !bytes.Equal(back, big) {
		return fmt.Errorf("tcp echo of %d bytes failed: %v", len(big), err)
	}
	fmt.Fprintf(out, "  %v -> %v echo: %d bytes out and back intact, despite the loss\n", ec.LocalAddr(), ec.RemoteAddr(), len(big))

	fmt.Fprintf(out, "\nlink faults a→b: %+v\nlink faults b→a: %+v\n", lka.StatsOf(fault.Outbound), lkb.StatsOf(fault.Outbound))
	for _, h := range []*berth.Host{a, b} {
		fmt.Fprintf(out, "\nhost %s sockets (berth ss):\n", h.Name())
		sstable.WriteTable(out, rows(h))
	}
	fmt.Fprintf(out, "\nhost b counters (netstat -s):\n")
	b.Stack().Stats().WriteTo(out)
	return nil
}

func firstLine(s string) string {
	if i := bytes.IndexByte([]byte(s), '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 70 {
		s = s[:70]
	}
	return s
}
