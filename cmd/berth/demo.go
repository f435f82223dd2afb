package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"berth/internal/sstable"
	"berth/internal/wellknown"
	"berth/sim"
)

// demoConfig is what the demo's flags choose.
type demoConfig struct {
	seed      uint64
	loss      float64
	pcapFile  string
	traceFile string
	realTime  bool
}

// runDemo tells a story on a simulated network: four hosts, seeded faults,
// a partition that heals, and every socket type in both modes. It runs on
// virtual time, so the same seed replays the same run exactly (the trace
// hash says so), and exits the program when done; -real runs it on the
// wall clock instead and returns.
func runDemo(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("demo", "demo [-seed N] [-loss P] [-pcap FILE] [-trace FILE] [-real]")
	var c demoConfig
	fs.Uint64Var(&c.seed, "seed", 7, "seed of every random choice: faults, ports, sequence numbers; the same seed replays the same run")
	fs.Float64Var(&c.loss, "loss", 0.02, "probability that a path drops a packet")
	fs.StringVar(&c.pcapFile, "pcap", filepath.Join(os.TempDir(), "berth-demo.pcap"), "write every packet of the network to this pcap file")
	fs.StringVar(&c.traceFile, "trace", "", "write the packet trace (virtual time, path, summary) to this file")
	fs.BoolVar(&c.realTime, "real", false, "run on the wall clock (not reproducible) instead of virtual time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts, closeTrace, err := c.options()
	if err != nil {
		return err
	}
	defer closeTrace()
	if c.realTime {
		n := sim.New(opts...)
		defer n.Close()
		return demoStory(n, c, out)
	}
	sim.Main(func(n *sim.Network) error { return demoStory(n, c, out) }, opts...)
	return nil // not reached: Main exits
}

func (c demoConfig) options() ([]sim.Option, func(), error) {
	opts := []sim.Option{sim.Seed(c.seed), sim.DefaultFaults(sim.Delay(5*time.Millisecond, time.Millisecond), sim.Loss(c.loss))}
	if c.traceFile == "" {
		return opts, func() {}, nil
	}
	f, err := os.Create(c.traceFile)
	if err != nil {
		return nil, nil, err
	}
	return append(opts, sim.Trace(f)), func() { f.Close() }, nil
}

// demoStory is the demo proper, on network n.
func demoStory(n *sim.Network, c demoConfig, out io.Writer) error {
	ctx := context.Background()
	seed, loss, pcapFile := &c.seed, &c.loss, &c.pcapFile
	pf, err := os.Create(*pcapFile)
	if err != nil {
		return err
	}
	// The network flushes pw when it closes, after this story returns; the
	// file stays open until the program ends.
	pw := bufio.NewWriter(pf)
	if err := n.Capture(pw); err != nil {
		return err
	}

	web, laptop, db, monitor := n.Host("web"), n.Host("laptop"), n.Host("db"), n.Host("monitor")
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...) }
	say("berth demo: a simulated network (seed %d): web %v, laptop %v, db %v, monitor %v (and %v, %v, %v, %v over IPv6)",
		*seed, web.Addr(), laptop.Addr(), db.Addr(), monitor.Addr(), web.Addr6(), laptop.Addr6(), db.Addr6(), monitor.Addr6())
	say("every path: 5 ms delay, 1 ms jitter, %.0f%% loss; each host is a whole berth stack\n", *loss*100)

	// Raw sockets: the monitor pings everyone, fragmenting large pings.
	say("1. Raw sockets. monitor pings each host (ip4:icmp):")
	for i, h := range []*sim.Host{web, laptop, db} {
		for _, size := range []int{56, 4000} {
			var r, err = pingRetry(ctx, monitor, h.Name(), uint16(i*10+size%7), size)
			if err != nil {
				say("   %-6s %4d bytes: no reply (%v)", h.Name(), size, err)
				continue
			}
			say("   %-6s %4d bytes: reply from %v ttl=%d time=%v", h.Name(), size, r.From, r.TTL, r.RTT.Round(10*time.Microsecond))
		}
	}

	// Datagram sockets, asynchronous on the server, blocking on the client.
	svc, err := wellknown.Serve(db.Berth().Stack(), db.Addr().Unmap())
	if err != nil {
		return err
	}
	defer svc.Close()
	say("\n2. Datagram sockets. db runs echo, daytime and chargen on callbacks (no goroutine per socket); laptop asks with net.Conn:")
	for _, q := range []string{"echo", "daytime"} {
		reply, err := askUDP(laptop, "db:"+q, "hello from laptop")
		if err != nil {
			return err
		}
		say("   udp laptop -> db:%-8s %q", q, reply)
	}

	// Stream sockets: net/http on web, unchanged; the laptop fetches.
	ln, err := web.Listen("tcp", ":http")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s, this is web (%d bytes of page follow)\n%s", r.RemoteAddr, 20000, bytes.Repeat([]byte("."), 20000))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	tr := &http.Transport{DialContext: laptop.DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 3 * time.Second}
	say("\n3. Stream sockets. web serves HTTP with net/http on a berth listener; laptop fetches http://web/:")
	get := func(label string) {
		start := time.Now()
		resp, err := client.Get("http://web/" + label)
		if err != nil {
			say("   GET /%s: failed after %v: %v", label, time.Since(start).Round(time.Millisecond), err)
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			say("   GET /%s: body failed: %v", label, err)
			return
		}
		first, _, _ := bytes.Cut(body, []byte("\n"))
		say("   GET /%s: %s, %d bytes in %v: %q", label, resp.Status, len(body), time.Since(start).Round(time.Millisecond), first)
	}
	get("before")
	ec, err := laptop.Dial("tcp", "db:echo")
	if err != nil {
		return err
	}
	big := bytes.Repeat([]byte("stream sockets: reliable, ordered, no duplicates. "), 2000)
	go ec.Write(big)
	ec.SetReadDeadline(time.Now().Add(30 * time.Second))
	back := make([]byte, len(big))
	if _, err := io.ReadFull(ec, back); err != nil || !bytes.Equal(back, big) {
		return fmt.Errorf("tcp echo: %v", err)
	}
	say("   tcp laptop -> db:echo (callback server): %d bytes out and back intact despite the loss", len(big))

	// The same over IPv6: every simulated host has an address in
	// 2001:2::/48 beside its IPv4 one.
	ln6, err := web.Listen("tcp6", ":http")
	if err != nil {
		return err
	}
	go srv.Serve(ln6)
	tr6 := &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return laptop.DialContext(ctx, "tcp6", addr)
	}}
	defer tr6.CloseIdleConnections()
	say("   IPv6: web listens on [::]:http too; laptop fetches over \"tcp6\", monitor pings web's %v (ICMPv6):", web.Addr6())
	start := time.Now()
	if resp, err := (&http.Client{Transport: tr6, Timeout: 3 * time.Second}).Get("http://web/ipv6"); err != nil {
		say("   GET /ipv6: failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first, _, _ := bytes.Cut(body, []byte("\n"))
		say("   GET /ipv6: %s, %d bytes in %v: %q", resp.Status, len(body), time.Since(start).Round(time.Millisecond), first)
	}
	if r, err := pingRetry(ctx, monitor, web.Addr6().String(), 77, 1400); err == nil {
		say("   ping6 web 1400 bytes: reply from %v hlim=%d time=%v", r.From, r.TTL, r.RTT.Round(10*time.Microsecond))
	} else {
		say("   ping6 web: no reply (%v)", err)
	}

	// A partition, and the heal.
	say("\n4. A partition: laptop and web cannot reach each other.")
	link := n.Link(laptop, web)
	link.Partition()
	tr.CloseIdleConnections()
	get("during")
	if _, err := pingRetry(ctx, laptop, "web", 99, 56); err != nil {
		say("   ping laptop -> web: %v", err)
	}
	if reply, err := askUDP(laptop, "db:echo", "db is still there?"); err == nil {
		say("   laptop -> db still works: %q", reply)
	}
	link.Heal()
	say("   healed.")
	get("after")

	// The seed's question.
	say("\n5. Which local endpoint talks which protocol to which remote endpoint (berth ss):")
	for _, h := range []*sim.Host{web, laptop, db} {
		say("host %s:", h.Name())
		sstable.WriteTable(out, rowsOf(h.Sockets()))
	}
	st := link.Stats()
	say("\nlaptop<->web path: %d packets sent, %d delivered, %d lost, %d dropped by the partition", st.Sent, st.Delivered, st.Lost, st.Partitioned)
	pw.Flush()
	say("trace: %d packet events, sha256 %s (virtual=%v)", n.TraceLines(), n.TraceHash(), n.Virtual())
	say("capture: %s (open it with wireshark or tshark)", *pcapFile)
	return nil
}

// pingRetry pings up to three times: a path may lose a packet.
func pingRetry(ctx context.Context, from *sim.Host, to string, seq uint16, size int) (r struct {
	From fmt.Stringer
	TTL  uint8
	RTT  time.Duration
}, err error) {
	for try := range 3 {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		rep, e := from.Ping(pctx, to, seq+uint16(try)*1000, size)
		cancel()
		if e == nil {
			r.From, r.TTL, r.RTT = rep.From, rep.TTL, rep.RTT
			return r, nil
		}
		err = e
	}
	return r, err
}

// askUDP sends a datagram and waits for the answer, asking again if the
// network loses either.
func askUDP(h *sim.Host, addr, msg string) (string, error) {
	c, err := h.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	p := make([]byte, 2048)
	for range 5 {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(p)
		if err == nil {
			return string(bytes.TrimRight(p[:n], "\r\n")), nil
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return "", err
		}
	}
	return "", fmt.Errorf("no answer from %s", addr)
}
