package stack

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"berth/link/mem"
	"berth/wire"
)

var (
	addrA = netip.MustParsePrefix("198.18.0.1/24")
	addrB = netip.MustParsePrefix("198.18.0.2/24")
)

// pair returns two stacks joined by an in-memory link.
func pair(t testing.TB, mtu int) (a, b *Stack) {
	t.Helper()
	la, lb := mem.Pair(mem.MTU(mtu))
	a, b = New(Options{Name: "a", Seed: 1}), New(Options{Name: "b", Seed: 2})
	if err := a.AddLink("mem0", la, addrA); err != nil {
		t.Fatal(err)
	}
	if err := b.AddLink("mem0", lb, addrB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestPingAcrossMemLink(t *testing.T) {
	a, b := pair(t, 1500)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, size := range []int{0, 56, 1472, 4000, 65507 - 8} {
		r, err := a.Ping(ctx, addrB.Addr(), 77, uint16(i), size)
		if err != nil {
			t.Fatalf("ping size %d: %v", size, err)
		}
		if r.From != addrB.Addr() || r.Size != size || r.Seq != uint16(i) || r.TTL != 64 {
			t.Fatalf("reply %+v", r)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if sb.Icmp.InEchos != 5 || sb.Icmp.OutEchoReps != 5 || sa.Icmp.InEchoReps != 5 {
		t.Fatalf("icmp counters a=%+v b=%+v", sa.Icmp, sb.Icmp)
	}
	// 4000 and 65499 bytes do not fit 1500: both directions fragment and reassemble.
	if sa.Ip.FragOKs != 2 || sb.Ip.FragOKs != 2 || sa.Ip.ReasmOKs != 2 || sb.Ip.ReasmOKs != 2 {
		t.Fatalf("fragmentation a=%+v b=%+v", sa.Ip, sb.Ip)
	}
}

func TestPingTimesOutWithNoPeer(t *testing.T) {
	a, _ := pair(t, 1500)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := a.Ping(ctx, netip.MustParseAddr("198.18.0.99"), 1, 1, 8)
	if err != context.DeadlineExceeded {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestPingNoRoute(t *testing.T) {
	a, _ := pair(t, 1500)
	_, err := a.Ping(context.Background(), netip.MustParseAddr("203.0.113.5"), 1, 1, 8)
	if err == nil {
		t.Fatal("ping without a route succeeded")
	}
}

func TestPingSelfIsLoopedBack(t *testing.T) {
	a, _ := pair(t, 1500)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, dst := range []string{"198.18.0.1", "127.0.0.1"} {
		if _, err := a.Ping(ctx, netip.MustParseAddr(dst), 1, 1, 100); err != nil {
			t.Fatalf("ping %s: %v", dst, err)
		}
	}
}

func TestRawSocketSeesItsProtocolOnly(t *testing.T) {
	a, b := pair(t, 1500)
	r253, err := b.OpenRaw(253, RawOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r253.Close()
	ready := make(chan struct{}, 16)
	r253.SetNotify(func(Event) { ready <- struct{}{} })
	ra, _ := a.OpenRaw(253, RawOptions{})
	defer ra.Close()
	r254, _ := a.OpenRaw(254, RawOptions{})
	defer r254.Close()
	if err := r254.Send([]byte("not for 253"), addrB.Addr()); err != nil {
		t.Fatal(err)
	}
	// An ip4: socket sends IPv4 only, even where the host has IPv6.
	if err := r254.Send([]byte("v6"), netip.MustParseAddr("2001:2::2")); err != syscall.EAFNOSUPPORT {
		t.Fatalf("raw IPv4 socket sending to an IPv6 address: %v, want EAFNOSUPPORT", err)
	}
	if err := ra.Send([]byte("experiment"), addrB.Addr()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("no datagram")
	}
	p := make([]byte, 100)
	n, from, err := r253.TryRead(p)
	if err != nil {
		t.Fatal(err)
	}
	h, err := wire.NewIPv4(p[:n])
	if err != nil || from != addrA.Addr() || h.Protocol() != 253 || string(h.Payload()) != "experiment" {
		t.Fatalf("got %q from %v (err %v)", p[:n], from, err)
	}
	if _, _, err := r253.TryRead(p); err == nil {
		t.Fatal("a second datagram (protocol 254?) was queued")
	}
	// The 254 datagram found no socket: protocol unreachable went back.
	deadline := time.Now().Add(5 * time.Second)
	for a.Stats().Icmp.InDestUnreachs == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if b.Stats().Ip.InUnknownProtos != 1 || a.Stats().Icmp.InDestUnreachs != 1 {
		t.Fatalf("b ip %+v, a icmp %+v", b.Stats().Ip, a.Stats().Icmp)
	}
}

func TestHeaderIncludedRawSendValidates(t *testing.T) {
	a, _ := pair(t, 1500)
	r, _ := a.OpenRaw(253, RawOptions{HeaderIncluded: true})
	defer r.Close()
	if err := r.Send([]byte{0x45, 0, 0}, netip.Addr{}); err == nil {
		t.Fatal("a truncated header was sent")
	}
	good := wire.IPv4Repr{TTL: 9, Protocol: 253, Src: addrA.Addr(), Dst: addrB.Addr(), PayloadLen: 4}
	pkt := make([]byte, 24)
	good.Emit(pkt)
	if err := r.Send(pkt, netip.Addr{}); err != nil {
		t.Fatalf("valid header refused: %v", err)
	}
}

// TestHostileInputIsCountedNeverPanics feeds 100,000 random and mutated
// packets, IPv4 and IPv6, into a live host. None may panic it, and the IP
// counters of the two families must account for every one of them.
func TestHostileInputIsCountedNeverPanics(t *testing.T) {
	la, lb := mem.Pair(mem.MTU(65535), mem.QueueLen(1<<16))
	defer la.Close()
	s := New(Options{Name: "target", Seed: 3})
	if err := s.AddLink("mem0", lb, addrB); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAddress("mem0", addr6B); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(42, 42))
	seeds := [][]byte{
		mkPacket(wire.ProtoICMP, []byte{8, 0, 0, 0, 0, 1, 0, 1, 'x'}),
		mkPacket(wire.ProtoUDP, []byte{0, 7, 0, 7, 0, 9, 0, 0, 'y'}),
		mkPacket(wire.ProtoTCP, make([]byte, 20)),
		mkPacket(200, []byte("unknown")),
		mkPacket6(wire.ProtoICMPv6, echo6Msg(1, 1, []byte("x"))),
		mkPacket6(wire.ProtoFragment, append([]byte{wire.ProtoICMPv6, 0, 0, 1, 0, 0, 0, 7}, echo6Msg(1, 1, []byte("fragment"))...)),
		mkPacket6(wire.ProtoDstOpts, append([]byte{200, 0, 0x9e, 4, 0, 0, 0, 0}, 'z')),
		mkPacket6(wire.ProtoUDP, []byte{0, 7, 0, 7, 0, 9, 0, 0, 'y'}),
	}
	const n = 100000
	pkt := make([]byte, 2048)
	for i := range n {
		var p []byte
		switch i % 3 {
		case 0: // random bytes, often with a plausible first byte
			p = pkt[:rng.IntN(80)]
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			if len(p) > 0 {
				switch rng.IntN(4) {
				case 0, 1:
					p[0] = 0x45
				case 2:
					p[0] = 0x60
				}
			}
		default: // a valid packet with a few bytes mutated
			src := seeds[rng.IntN(len(seeds))]
			p = pkt[:len(src)]
			copy(p, src)
			for range 1 + rng.IntN(3) {
				p[rng.IntN(len(p))] ^= byte(1 + rng.IntN(255))
			}
			if rng.IntN(4) == 0 { // keep the header checksum right so deeper layers are reached
				h := wire.IPv4(p)
				if p[0]>>4 == 4 && len(p) >= 20 && int(p[0]&15)*4 <= len(p) && p[0]&15 >= 5 {
					h.UpdateChecksum()
				}
			}
		}
		if _, err := la.Write([][]byte{p}); err != nil {
			t.Fatal(err)
		}
		if i%4096 == 4095 { // let the link drain so its queue never overflows
			waitReceived(t, s, uint64(i+1))
		}
	}
	waitReceived(t, s, n)
	all := s.Stats()
	st, st6 := all.Ip, all.Ip6
	accounted := st.InHdrErrors + st.InAddrErrors + st.InUnknownProtos + st.InDiscards + st.InDelivers + st.ReasmReqds
	accounted6 := st6.InHdrErrors + st6.InAddrErrors + st6.InUnknownProtos + st6.InDiscards + st6.InDelivers + st6.ReasmReqds
	if st.InReceives-st.InLoopback+st6.InReceives-st6.InLoopback != n || accounted != st.InReceives || accounted6 != st6.InReceives {
		t.Fatalf("received %d+%d, accounted %d+%d of %d:\n%+v\n%+v", st.InReceives, st6.InReceives, accounted, accounted6, n, st, st6)
	}
	if st6.InReceives < n/10 {
		t.Fatalf("only %d of %d packets took the IPv6 path", st6.InReceives, n)
	}
	if bytes, _ := s.ip.ReasmHeld(); bytes > 4<<20 {
		t.Fatalf("reassembly holds %d bytes", bytes)
	}
}

func mkPacket(proto uint8, payload []byte) []byte {
	r := wire.IPv4Repr{TTL: 64, Protocol: proto, Src: addrA.Addr(), Dst: addrB.Addr(), PayloadLen: len(payload)}
	b := make([]byte, 20+len(payload))
	r.Emit(b)
	copy(b[20:], payload)
	return b
}

func waitReceived(t *testing.T, s *Stack, n uint64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	received := func() uint64 {
		st := s.Stats()
		return st.Ip.InReceives - st.Ip.InLoopback + st.Ip6.InReceives - st.Ip6.InLoopback
	}
	for received() < n {
		if time.Now().After(deadline) {
			t.Fatalf("host received %d of %d", received(), n)
		}
		runtime.Gosched()
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		la, lb := mem.Pair()
		a, b := New(Options{}), New(Options{})
		a.AddLink("", la, addrA)
		b.AddLink("", lb, addrB)
		if _, err := a.Ping(context.Background(), addrB.Addr(), 1, 1, 10); err != nil {
			t.Fatal(err)
		}
		a.Close()
		b.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines before, %d after closing", before, g)
	}
}

func BenchmarkPingRoundTrip(b *testing.B) {
	x, _ := pair(b, 1500)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := x.Ping(ctx, addrB.Addr(), 1, uint16(i), 56); err != nil {
			b.Fatal(err)
		}
	}
}
