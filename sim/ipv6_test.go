package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"berth/wire"
)

// Every host gets an IPv6 address from Prefix6 in creation order, beside
// its IPv4 one, unless it is IPv4-only; names resolve to it for the
// networks ending in 6.
func TestIPv6_Addresses(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		c := n.Host("c", IPv4Only())
		d := n.Host("d", InterfaceMTU(576)) // too small a link for IPv6
		e := n.Host("e", Addr6(netip.MustParseAddr("2001:2::5:1")))
		f := n.Host("f")
		for _, tc := range []struct {
			h    *Host
			want string
		}{{a, "2001:2::1"}, {b, "2001:2::2"}, {c, "invalid IP"}, {d, "invalid IP"}, {e, "2001:2::5:1"}, {f, "2001:2::3"}} {
			if got := tc.h.Addr6().String(); got != tc.want {
				t.Errorf("%s: Addr6 %s, want %s", tc.h, got, tc.want)
			}
		}
		if a.Addr().String() != "198.18.0.1" || f.Addr().String() != "198.18.0.6" {
			t.Errorf("IPv4 numbering changed: a %v, f %v", a.Addr(), f.Addr())
		}
		if got, err := n.Resolve6("b"); err != nil || got != b.Addr6() {
			t.Errorf("Resolve6(b) = %v, %v", got, err)
		}
		if got, err := n.Resolve("b"); err != nil || got != b.Addr() {
			t.Errorf("Resolve(b) = %v, %v", got, err)
		}
		var dnsErr *net.DNSError
		if _, err := n.Resolve6("c"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("Resolve6 of an IPv4-only host: %v, want not found", err)
		}
		if _, err := a.Dial("tcp6", "c:80"); !errors.As(err, &dnsErr) {
			t.Errorf("tcp6 dial of an IPv4-only host: %v, want a DNS error", err)
		}
		for name, opt := range map[string]HostOption{
			"taken":   Addr6(a.Addr6()),
			"outside": Addr6(netip.MustParseAddr("2001:db8::1")),
			"router":  Addr6(RouterAddr6),
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("Host with Addr6 %s did not panic", name)
					}
				}()
				n.Host("bad-"+name, opt)
			}()
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Error("Addr6 with InterfaceMTU(1000) did not panic")
				}
			}()
			n.Host("bad-mtu", Addr6(netip.MustParseAddr("2001:2::9:9")), InterfaceMTU(1000))
		}()
		// The mistakes handed out no address.
		if g := n.Host("g"); g.Addr().String() != "198.18.0.7" || g.Addr6().String() != "2001:2::4" {
			t.Errorf("after the panics the next host got %v and %v", g.Addr(), g.Addr6())
		}
	})
}

// TCP over IPv6 through loss, duplication and jittered delay (which
// reorders) delivers the stream byte-exact; every packet of it is IPv6, and
// the faults hit IPv6 packets as they do IPv4 ones.
func TestIPv6_TCPTransferThroughFaults(t *testing.T) {
	var trace bytes.Buffer
	Run(t, func(t *testing.T, n *Network) {
		a, _, atA, atB, _, l := faultRunNet(t, n, "tcp6", 256<<10,
			Loss(0.03), Duplicate(0.03), Delay(5*time.Millisecond, 4*time.Millisecond))
		st := l.Stats()
		if st.Lost == 0 || st.Duplicated == 0 {
			t.Fatalf("faults did not touch the IPv6 flow: %+v", st)
		}
		for _, p := range append(atA, atB...) {
			if !p.v6 || p.protocol != wire.ProtoTCP || !p.tcpOK {
				t.Fatalf("packet not an intact TCP/IPv6 segment: v6 %v proto %d csum ok %v", p.v6, p.protocol, p.tcpOK)
			}
		}
		// a's packets arrive at b but for those lost, and twice when doubled.
		sent, arrived := len(from(atA, a)), len(from(atB, a))
		if pa := l.Path(a).Stats(); uint64(sent)-pa.Lost+pa.Duplicated != uint64(arrived) {
			t.Fatalf("a sent %d, b got %d; path %+v", sent, arrived, pa)
		}
		if r := retransmitted(dataSegments(from(atA, a))); r == 0 {
			t.Fatal("no retransmission in a's capture")
		}
	}, Trace(&trace))
	for _, want := range []string{"send              a>b TCP6 a:", "drop:loss         ", "send+dup          "} {
		if !bytes.Contains(trace.Bytes(), []byte(want)) {
			t.Errorf("trace has no %q line", want)
		}
	}
	if bytes.Contains(trace.Bytes(), []byte(" TCP ")) {
		t.Error("an IPv6 transfer put an IPv4 TCP segment in the trace")
	}
}

// UDP over IPv6: a datagram to a name on "udp6" arrives from the sender's
// IPv6 address, and the reply comes back.
func TestIPv6_UDP(t *testing.T) {
	var trace bytes.Buffer
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		pc, err := b.ListenPacket("udp6", ":53")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		u, err := a.Dial("udp6", "b:53")
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		if _, err := u.Write([]byte("query")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		k, from, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:k]) != "query" {
			t.Fatalf("server read %q, %v", buf[:k], err)
		}
		if from.(*net.UDPAddr).AddrPort().Addr() != a.Addr6() {
			t.Fatalf("datagram from %v, want a's IPv6 address %v", from, a.Addr6())
		}
		if _, err := pc.WriteTo([]byte("answer"), from); err != nil {
			t.Fatal(err)
		}
		k, err = u.Read(buf)
		if err != nil || string(buf[:k]) != "answer" {
			t.Fatalf("client read %q, %v", buf[:k], err)
		}
		// A literal works as well as a name.
		u2, err := a.Dial("udp", fmt.Sprintf("[%v]:53", b.Addr6()))
		if err != nil {
			t.Fatal(err)
		}
		defer u2.Close()
		u2.Write([]byte("literal"))
		if k, _, err := pc.ReadFrom(buf); err != nil || string(buf[:k]) != "literal" {
			t.Fatalf("server read %q, %v", buf[:k], err)
		}
	}, Trace(&trace))
	for _, want := range []string{
		"send              a>b UDP6 a:",
		" > b:53 len=5 hlim=64",
		"send              b>a UDP6 b:53 > a:",
	} {
		if !bytes.Contains(trace.Bytes(), []byte(want)) {
			t.Errorf("trace has no %q:\n%s", want, trace.Bytes())
		}
	}
}

// RouterMTU over IPv6: the router drops every too-big packet (IPv6 has no
// DF to clear) and answers each with an ICMPv6 Packet Too Big (RFC 4443
// §3.2) that lowers the sender's MSS (RFC 8201); the transfer completes,
// and every later segment fits.
func TestIPv6_RouterMTUPacketTooBig(t *testing.T) {
	var trace bytes.Buffer
	Run(t, func(t *testing.T, n *Network) {
		a, _, atA, _, _, l := faultRunNet(t, n, "tcp6", 256<<10, RouterMTU(1400))
		st := l.Path(a).Stats()
		if st.MTUDrops == 0 || st.MTUDrops > 20 {
			t.Fatalf("MTU drops %d: want some, then none once the MSS fits", st.MTUDrops)
		}
		var ptbs, big, after int
		for _, p := range atA {
			if p.v6 && p.src == RouterAddr6.String() {
				checkPacketTooBig(t, p, a, 1400)
				ptbs++
				continue
			}
			if ptbs > 0 && p.src == a.Addr6().String() && p.protocol == wire.ProtoTCP {
				after++
				if len(p.data) > 1400 {
					big++
				}
			}
		}
		if ptbs != int(st.MTUDrops) {
			t.Fatalf("%d Packet Too Big messages reached a for %d drops", ptbs, st.MTUDrops)
		}
		if after < 100 || big > 10 {
			t.Fatalf("after the first message a sent %d segments, %d over 1400 bytes", after, big)
		}
		t.Logf("%d drops answered by %d messages; %d segments after the first, %d over 1400 bytes", st.MTUDrops, ptbs, after, big)
	}, Trace(&trace))
	if !bytes.Contains(trace.Bytes(), []byte("icmp:too-big      router>a ICMP6 2001:2:0:ffff::fffe > a packet too big mtu=1400 len=1232")) {
		t.Errorf("trace has no Packet Too Big line")
	}
}

// checkPacketTooBig checks a Packet Too Big that reached h: from the
// router, to h, type 2 code 0 with mtu, checksum valid over the IPv6
// pseudo-header, the whole message within 1280 bytes, quoting h's own
// packet as far as it fits (RFC 4443 §2.4(c), §3.2).
func checkPacketTooBig(t *testing.T, p captured, h *Host, mtu uint32) {
	t.Helper()
	ip, _ := wire.NewIPv6(p.data)
	if p.protocol != wire.ProtoICMPv6 || ip.Dst() != h.Addr6() || len(p.data) > wire.IPv6MinMTU {
		t.Fatalf("router's message: proto %d to %v, %d bytes", p.protocol, ip.Dst(), len(p.data))
	}
	m, err := wire.NewICMPv6(p.upper)
	if err != nil {
		t.Fatal(err)
	}
	r, err := wire.ParseICMPv6(m)
	if err != nil || r.Type != wire.ICMPv6PacketTooBig || r.Code != 0 || r.MTU != mtu || !m.ChecksumValid(ip.Src(), ip.Dst()) {
		t.Fatalf("router's message: %v, %v; checksum ok %v", r, err, m.ChecksumValid(ip.Src(), ip.Dst()))
	}
	q, err := wire.NewQuotedIPv6(r.Data)
	if err != nil || q.Src() != h.Addr6() || len(p.data) != wire.IPv6MinMTU {
		t.Fatalf("quote: %v from %v, message %d bytes; want a full 1280-byte message quoting h's packet", err, q.Src(), len(p.data))
	}
}

// A RouterMTU under 1280 acts as 1280 for IPv6 (RFC 8200 §5; RFC 8201 §4
// has hosts ignore less), while IPv4 packets still meet the smaller MTU.
func TestIPv6_RouterMTUUnder1280(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, _, atA, atB, _, l := faultRunNet(t, n, "tcp6", 64<<10, RouterMTU(576))
		if l.Path(a).Stats().MTUDrops == 0 {
			t.Fatal("no drops: the 1500-byte segments passed a 1280 limit")
		}
		biggest := 0
		for _, p := range from(atB, a) {
			biggest = max(biggest, len(p.data))
		}
		if biggest != wire.IPv6MinMTU {
			t.Fatalf("largest IPv6 packet through the router %d bytes, want %d", biggest, wire.IPv6MinMTU)
		}
		ptbs := 0
		for _, p := range atA {
			if p.src == RouterAddr6.String() {
				checkPacketTooBig(t, p, a, wire.IPv6MinMTU)
				ptbs++
			}
		}
		if ptbs == 0 {
			t.Fatal("no Packet Too Big")
		}
		// IPv4 on the same path: the 576 limit holds.
		if _, err := transfer(a, n.Lookup("b"), 10, 16<<10); err != nil {
			t.Fatal(err)
		}
		if st := l.Path(a).Stats(); st.MTUDrops <= uint64(ptbs) {
			t.Fatalf("IPv4 segments over 576 bytes were not dropped: %+v", st)
		}
	})
}

// The router never sends an ICMPv6 error about an ICMPv6 error (RFC 4443
// §2.4(e.1)), but does about an informational message, and about any
// too-big IPv6 packet, DF or not.
func TestIPv6_TooBigNeverAboutICMPv6Error(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		p := n.Path(a, b)
		p.Set(RouterMTU(1300))
		packet := func(typ uint8) []byte {
			m := wire.ICMPv6Repr{Type: typ, Data: make([]byte, 1400)}
			if wire.IsICMPv6Error(typ) {
				q := wire.IPv6Repr{NextHeader: wire.ProtoUDP, HopLimit: 64, Src: b.Addr6(), Dst: a.Addr6(), PayloadLen: 1360}
				q.Emit(m.Data)
			}
			ip := wire.IPv6Repr{NextHeader: wire.ProtoICMPv6, HopLimit: 64, Src: a.Addr6(), Dst: b.Addr6(), PayloadLen: m.Len()}
			pkt := make([]byte, 40+m.Len())
			ip.Emit(pkt)
			m.Emit(pkt[40:], ip.Src, ip.Dst)
			return pkt
		}
		for _, tc := range []struct {
			typ    uint8
			answer bool
		}{
			{wire.ICMPv6DestUnreachable, false},
			{wire.ICMPv6PacketTooBig, false},
			{wire.ICMPv6EchoRequest, true},
		} {
			n.mu.Lock()
			before := len(n.q)
			p.tooBig6(n.now(), &event{host: a.idx, cls: 1, pkt: getPacket(packet(tc.typ))}, 1300)
			got := len(n.q) - before
			var reply []byte
			for _, e := range n.q {
				if e.kind == evArrive && e.sub == 2 && e.path.to == a {
					reply = e.pkt.b
					n.q.remove(e)
					break
				}
			}
			n.mu.Unlock()
			if (got == 1) != tc.answer || got > 1 {
				t.Fatalf("type %d: %d answers, want one: %v", tc.typ, got, tc.answer)
			}
			if reply != nil {
				ip, err := wire.NewIPv6(reply)
				if err != nil || ip.Src() != RouterAddr6 || ip.Dst() != a.Addr6() || len(reply) != wire.IPv6MinMTU {
					t.Fatalf("answer: %v, %v > %v, %d bytes", err, ip.Src(), ip.Dst(), len(reply))
				}
				m, _ := wire.NewICMPv6(ip.Payload())
				if m.Type() != wire.ICMPv6PacketTooBig || m.MTU() != 1300 || !m.ChecksumValid(ip.Src(), ip.Dst()) {
					t.Fatalf("answer: type %d mtu %d", m.Type(), m.MTU())
				}
			}
		}
	})
}

// A dual-stack server (Listen("tcp", "[::]:80")) takes one client over
// IPv4 and one over IPv6, and sees each at its own address.
func TestIPv6_DualStackServer(t *testing.T) {
	var trace bytes.Buffer
	Run(t, func(t *testing.T, n *Network) {
		s, c4, c6 := n.Host("server"), n.Host("c4"), n.Host("c6")
		ln, err := s.Listen("tcp", "[::]:80")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		peers := make(chan netip.Addr, 2)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				peers <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
				go func() {
					io.Copy(c, c)
					c.Close()
				}()
			}
		}()
		echo := func(h *Host, network string) {
			c, err := h.Dial(network, "server:80")
			if err != nil {
				t.Fatalf("%s %s: %v", h, network, err)
			}
			defer c.Close()
			msg := pattern(10000, byte(len(network)))
			go c.Write(msg)
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%s: echo %v", h, err)
			}
		}
		echo(c4, "tcp")
		if p := <-peers; p != c4.Addr() {
			t.Fatalf("IPv4 client seen as %v, want %v", p, c4.Addr())
		}
		echo(c6, "tcp6")
		if p := <-peers; p != c6.Addr6() {
			t.Fatalf("IPv6 client seen as %v, want %v", p, c6.Addr6())
		}
	}, Trace(&trace))
	for _, want := range []string{"c4>server TCP c4:", "c6>server TCP6 c6:", "server>c4 TCP server:80", "server>c6 TCP6 server:80"} {
		if !bytes.Contains(trace.Bytes(), []byte(want)) {
			t.Errorf("trace has no %q", want)
		}
	}
}

// The same seed gives the same IPv6 run: byte-identical traces and
// captures, with GOMAXPROCS 1 and 2.
func TestIPv6_SameSeedSameRun(t *testing.T) {
	runs := 6
	if testing.Short() {
		runs = 2
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first runResult
	for i := range runs {
		runtime.GOMAXPROCS(1 + i%2)
		r := runWorkloadNet(t, 42, "6")
		if i == 0 {
			first = r
			if !bytes.Contains(r.trace, []byte(" TCP6 ")) || !bytes.Contains(r.trace, []byte(" UDP6 ")) || len(r.pcap) < 1000 {
				t.Fatalf("not an IPv6 run: %d trace bytes, %d pcap bytes", len(r.trace), len(r.pcap))
			}
			continue
		}
		if r.hash != first.hash || !bytes.Equal(r.trace, first.trace) {
			t.Fatalf("run %d (GOMAXPROCS=%d): trace differs from run 0 at line %d:\n%s", i, 1+i%2,
				firstDiffLine(first.trace, r.trace), diffContext(first.trace, r.trace))
		}
		if !bytes.Equal(r.pcap, first.pcap) || r.hostPcapHash != first.hostPcapHash {
			t.Fatalf("run %d: pcap differs", i)
		}
	}
}

// Hosts have IPv6 addresses, yet an IPv4 workload sends no IPv6 packet:
// the stacks announce nothing by themselves (no NDP on these links), so
// IPv4 runs replay as they did before IPv6.
func TestIPv6_SilentInIPv4Runs(t *testing.T) {
	r := runWorkload(t, 7)
	for _, line := range strings.Split(string(r.trace), "\n") {
		for _, tag := range []string{" TCP6 ", " UDP6 ", " ICMP6 ", " IP6 ", "malformed6"} {
			if strings.Contains(line, tag) {
				t.Fatalf("IPv6 packet in an IPv4 run: %s", line)
			}
		}
	}
}

// The other faults and controls act on IPv6 packets as on IPv4 ones:
// corruption (caught by the checksums over the IPv6 pseudo-header), a rate
// limit with its queue, one-way partitions, Hold and Release.
func TestIPv6_FaultsAndControls(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		l := n.Link(a, b, Corrupt(0.03), Rate(20_000_000, 32<<10))
		took, err := transferNet(a, b, "tcp6", 9, 512<<10)
		if err != nil {
			t.Fatal(err)
		}
		st := l.Stats()
		// 512 KiB at 20 Mbit/s takes at least 0.2 s of serialisation.
		if st.Corrupted == 0 || st.QueueDrops == 0 || took < 200*time.Millisecond {
			t.Fatalf("in %v: %+v; want corrupted packets and queue drops", took, st)
		}
		l.Set(None())
		time.Sleep(2 * time.Minute) // the connection's last packets and TIME-WAIT
		before := n.Path(a, b).Stats()

		pc, err := b.ListenPacket("udp6", ":53")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		u, err := a.Dial("udp6", "b:53")
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		buf := make([]byte, 100)
		read := func() string {
			pc.SetReadDeadline(time.Now().Add(time.Second))
			k, _, err := pc.ReadFrom(buf)
			if err != nil {
				return err.Error()
			}
			return string(buf[:k])
		}
		n.Path(a, b).Partition()
		u.Write([]byte("cut"))
		if got := read(); !strings.Contains(got, "timeout") {
			t.Fatalf("through a partition: %q", got)
		}
		if st := n.Path(a, b).Stats(); st.Partitioned-before.Partitioned != 1 {
			t.Fatalf("partitioned %d, want 1", st.Partitioned-before.Partitioned)
		}
		n.Path(a, b).Heal()
		n.Path(a, b).Hold()
		u.Write([]byte("one"))
		u.Write([]byte("two"))
		if got := read(); !strings.Contains(got, "timeout") {
			t.Fatalf("while held: %q", got)
		}
		n.Path(a, b).Release()
		if got1, got2 := read(), read(); got1 != "one" || got2 != "two" {
			t.Fatalf("released: %q, %q", got1, got2)
		}
		if st := n.Path(a, b).Stats(); st.Held-before.Held != 2 {
			t.Fatalf("held %d, want 2", st.Held-before.Held)
		}
	})
}

// A restarted host has its IPv6 address again, and a crashed one drops
// IPv6 packets like IPv4 ones.
func TestIPv6_CrashAndRestart(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		b.Crash()
		pc, _ := a.ListenPacket("udp6", ":1")
		defer pc.Close()
		pc.WriteTo([]byte("x"), &net.UDPAddr{IP: b.Addr6().AsSlice(), Port: 9})
		time.Sleep(time.Second)
		if st := n.Path(a, b).Stats(); st.HostDown != 1 {
			t.Fatalf("arrivals at the crashed host: %+v", st)
		}
		b.Restart()
		if _, err := transferNet(a, b, "tcp6", 9, 64<<10); err != nil {
			t.Fatalf("after restart: %v", err)
		}
	})
}
