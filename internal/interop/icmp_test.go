package interop_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth/internal/netns"
)

// The kernel's ping(8) to berth, with a payload that fits (56), one that
// exactly fills the 1500-byte MTU (1472) and one the kernel must fragment
// (4000): berth reassembles the request and fragments its reply.
// A raw ICMP socket on berth sees each request too, whole, though the
// stack answers it itself: raw sockets get a copy, as on Linux (raw(7)).
func TestKernelPingsBerth(t *testing.T) {
	needPing(t)
	ns := netns.New(t)
	h, capture := attach(t, ns)
	mon, err := h.ListenPacket("ip4:icmp", "")
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	buf := make([]byte, 65536)
	for _, size := range []int{56, 1472, 4000} {
		before := h.Stack().Stats()
		out := runNS(t, ns, 20*time.Second, "ping", "-n", "-c", "5", "-i", "0.2", "-W", "2", "-w", "15",
			"-s", strconv.Itoa(size), berthAddr.String())
		if !strings.Contains(out, "5 packets transmitted, 5 received, 0% packet loss") {
			t.Fatalf("ping -s %d lost replies:\n%s", size, out)
		}
		if want := fmt.Sprintf("%d bytes from %v: icmp_seq=1 ", size+8, berthAddr); !strings.Contains(out, want) {
			t.Fatalf("ping -s %d: no %q line:\n%s", size, want, out)
		}
		after := h.Stack().Stats()
		if d := after.Icmp.InEchos - before.Icmp.InEchos; d != 5 {
			t.Errorf("ping -s %d: InEchos rose by %d, want 5", size, d)
		}
		if d := after.Icmp.OutEchoReps - before.Icmp.OutEchoReps; d != 5 {
			t.Errorf("ping -s %d: OutEchoReps rose by %d, want 5", size, d)
		}
		reasm := after.Ip.ReasmOKs - before.Ip.ReasmOKs
		frag := after.Ip.FragOKs - before.Ip.FragOKs
		if size+28 > 1500 {
			// 4008 bytes of ICMP: three fragments each way.
			if reasm != 5 || frag != 5 {
				t.Errorf("ping -s %d: ReasmOKs +%d, FragOKs +%d, want +5 each", size, reasm, frag)
			}
			if d := after.Ip.FragCreates - before.Ip.FragCreates; d != 15 {
				t.Errorf("ping -s %d: FragCreates +%d, want +15 (3 per reply)", size, d)
			}
		} else if reasm != 0 || frag != 0 || after.Ip.ReasmReqds != before.Ip.ReasmReqds {
			t.Errorf("ping -s %d fits the MTU, yet ReasmOKs +%d, FragOKs +%d, ReasmReqds +%d",
				size, reasm, frag, after.Ip.ReasmReqds-before.Ip.ReasmReqds)
		}
		// The raw socket holds the 5 requests, whole, and nothing else.
		for i := range 5 {
			mon.SetReadDeadline(time.Now().Add(wait))
			n, from, err := mon.ReadFrom(buf)
			if err != nil {
				t.Fatalf("ping -s %d: raw socket, request %d: %v", size, i, err)
			}
			if from.String() != kernelAddr.String() || n != size+8 || buf[0] != 8 {
				t.Fatalf("ping -s %d: raw socket got %d bytes of type %d from %v, want an echo request of %d from %v",
					size, n, buf[0], from, size+8, kernelAddr)
			}
		}
		mon.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, _, err := mon.ReadFrom(buf); !os.IsTimeout(err) {
			t.Fatalf("ping -s %d: raw socket has more: %d bytes, %v", size, n, err)
		}
	}

	ds := checkCapture(t, h, capture)
	for _, size := range []int{56, 1472, 4000} {
		frags := 1
		if size == 4000 {
			frags = 3
		}
		isEcho := func(typ uint8, src netip.Addr) func(datagram) bool {
			return func(d datagram) bool {
				ty, _, ok := d.icmp()
				return ok && ty == typ && d.src == src && len(d.payload) == size+8 && d.frags == frags
			}
		}
		if n := count(ds, isEcho(8, kernelAddr)); n != 5 {
			t.Errorf("capture: %d echo requests of %d bytes in %d fragment(s) from the kernel, want 5", n, size+8, frags)
		}
		if n := count(ds, isEcho(0, berthAddr)); n != 5 {
			t.Errorf("capture: %d echo replies of %d bytes in %d fragment(s) from berth, want 5", n, size+8, frags)
		}
	}
}

// berth pings the kernel with the stack's ICMP echo client, on a raw
// socket; the 4000-byte requests are fragmented by berth and reassembled by
// the kernel, whose fragmented replies berth reassembles.
func TestBerthPingsKernel(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	for _, size := range []int{56, 1472, 4000} {
		before := h.Stack().Stats()
		for seq := range uint16(3) {
			ctx, cancel := context.WithTimeout(t.Context(), wait)
			r, err := h.Ping(ctx, kernelAddr, seq, size)
			cancel()
			if err != nil {
				t.Fatalf("ping -s %d seq %d: %v", size, seq, err)
			}
			if r.From != kernelAddr || r.Seq != seq || r.Size != size || r.TTL == 0 {
				t.Fatalf("ping -s %d seq %d: reply %+v", size, seq, r)
			}
		}
		after := h.Stack().Stats()
		reasm := after.Ip.ReasmOKs - before.Ip.ReasmOKs
		frag := after.Ip.FragOKs - before.Ip.FragOKs
		if size == 4000 && (reasm != 3 || frag != 3) {
			t.Errorf("ping -s %d: ReasmOKs +%d, FragOKs +%d, want +3 each", size, reasm, frag)
		}
		if d := after.Icmp.InEchoReps - before.Icmp.InEchoReps; d != 3 {
			t.Errorf("ping -s %d: InEchoReps +%d, want +3", size, d)
		}
	}
	ds := checkCapture(t, h, capture)
	if n := count(ds, func(d datagram) bool {
		ty, _, ok := d.icmp()
		return ok && ty == 0 && d.src == kernelAddr && len(d.payload) == 4008 && d.frags == 3
	}); n != 3 {
		t.Errorf("capture: %d fragmented 4008-byte echo replies from the kernel, want 3", n)
	}
}

// The berth CLI, as a user runs it: `berth ping` opens its own TUN device
// in the namespace (a second one, on 198.18.1.0/24), gives the kernel's
// end an address and pings it.
func TestBerthPingCLI(t *testing.T) {
	ns := netns.New(t)
	bin := berthBinary(t)
	for i, size := range []int{56, 4000} {
		capture := filepath.Join(t.TempDir(), "cli.pcap")
		dev := fmt.Sprintf("berthp%d", i)
		out := runNS(t, ns, 20*time.Second, bin, "ping", "-tun", dev,
			"-addr", "198.18.1.2/24", "-kernel-addr", "198.18.1.1/24", "-pcap", capture,
			"-c", "3", "-i", "100ms", "-W", "2s", "-s", strconv.Itoa(size), "198.18.1.1")
		if !strings.Contains(out, "3 transmitted, 3 received") {
			t.Fatalf("berth ping -s %d:\n%s", size, out)
		}
		if want := fmt.Sprintf("%d bytes from 198.18.1.1: icmp_seq=2 ", size+8); !strings.Contains(out, want) {
			t.Fatalf("berth ping -s %d: no %q line:\n%s", size, want, out)
		}
		t.Logf("berth ping -s %d:\n%s", size, out)
		ds := decodeCapture(t, capture)
		cli := netip.MustParseAddr("198.18.1.2")
		for _, typ := range []uint8{8, 0} {
			if n := count(ds, func(d datagram) bool {
				ty, _, ok := d.icmp()
				return ok && ty == typ && (d.src == cli) == (typ == 8) && len(d.payload) == size+8
			}); n != 3 {
				t.Errorf("berth ping -s %d capture: %d ICMP type %d messages of %d bytes, want 3", size, n, typ, size+8)
			}
		}
	}
}

// A kernel UDP socket connected to a port nobody holds on berth: berth
// answers with ICMP port unreachable (RFC 1122 §4.1.3.1), and the kernel
// reports it on the socket's next read as ECONNREFUSED.
func TestKernelUDPToClosedBerthPort(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	c := inNS(t, ns, func() (net.Conn, error) {
		return net.Dial("udp4", net.JoinHostPort(berthAddr.String(), "9999"))
	})
	if _, err := c.Write([]byte("anyone there?")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 100))
	errIs(t, "kernel read after port unreachable", err, syscall.ECONNREFUSED)
	st := h.Stack().Stats()
	if st.Udp.NoPorts != 1 || st.Icmp.OutDestUnreachs != 1 {
		t.Errorf("berth counters: Udp.NoPorts %d, Icmp.OutDestUnreachs %d, want 1 each", st.Udp.NoPorts, st.Icmp.OutDestUnreachs)
	}
	ds := checkCapture(t, h, capture)
	if n := count(ds, func(d datagram) bool {
		ty, code, ok := d.icmp()
		// The quoted original: IPv4 header (20) then the UDP header,
		// whose destination port is 9999.
		return ok && ty == 3 && code == 3 && d.src == berthAddr && d.dst == kernelAddr &&
			len(d.payload) >= 8+20+8 && d.payload[8+20+2] == 9999>>8 && d.payload[8+20+3] == 9999&0xff
	}); n != 1 {
		t.Errorf("capture: %d port unreachable messages quoting port 9999, want 1", n)
	}
}
