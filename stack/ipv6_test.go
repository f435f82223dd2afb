package stack

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"berth/wire"
)

// IPv6 addresses from 2001:2::/48 (RFC 5180's benchmarking range), used in
// this process only.
var (
	addr6A = netip.MustParsePrefix("2001:2::1/64")
	addr6B = netip.MustParsePrefix("2001:2::2/64")
)

// dualPair is pair with an IPv6 address on each side too.
func dualPair(t testing.TB, mtu int) (a, b *Stack) {
	t.Helper()
	a, b = pair(t, mtu)
	if err := a.AddAddress("mem0", addr6A); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAddress("mem0", addr6B); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// Two dual-stack hosts ping each other over IPv6, small and fragmented
// (3000 bytes over a 1500-byte link), and over IPv4 alongside.
func TestPing6BothWaysBesideIPv4(t *testing.T) {
	a, b := dualPair(t, 1500)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, dir := range []struct {
		from *Stack
		to   netip.Addr
	}{{a, addr6B.Addr()}, {b, addr6A.Addr()}, {a, addrB.Addr()}, {b, addrA.Addr()}} {
		for i, size := range []int{56, 3000} {
			r, err := dir.from.Ping(ctx, dir.to, 6, uint16(i), size)
			if err != nil {
				t.Fatalf("%s ping %v size %d: %v", dir.from.Name(), dir.to, size, err)
			}
			if r.From != dir.to || r.Size != size || r.ID != 6 || r.Seq != uint16(i) || r.TTL != 64 || r.RTT < 0 {
				t.Fatalf("%s ping %v: reply %+v", dir.from.Name(), dir.to, r)
			}
		}
	}
	for _, s := range []*Stack{a, b} {
		st := s.Stats()
		// Each host sent 2 requests and 2 replies over IPv6, one of each
		// fragmented into 3, and reassembled 2 packets.
		if st.Icmp6.OutEchos != 2 || st.Icmp6.InEchoReplies != 2 || st.Icmp6.InEchos != 2 || st.Icmp6.OutEchoReplies != 2 {
			t.Fatalf("%s icmp6 %+v", s.Name(), st.Icmp6)
		}
		if st.Ip6.FragOKs != 2 || st.Ip6.FragCreates != 6 || st.Ip6.ReasmOKs != 2 || st.Ip6.ReasmReqds != 6 {
			t.Fatalf("%s ip6 %+v", s.Name(), st.Ip6)
		}
		if st.Icmp.InEchos != 2 || st.Icmp.InEchoReps != 2 || st.Ip.ReasmOKs != 2 {
			t.Fatalf("%s IPv4 beside: icmp %+v ip %+v", s.Name(), st.Icmp, st.Ip)
		}
	}
	if got := a.Addrs(); len(got) != 2 || got[0] != addrA || got[1] != addr6A {
		t.Fatalf("Addrs %v", got)
	}
}

func TestPing6SelfAndLoopback(t *testing.T) {
	a, _ := dualPair(t, 1500)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, dst := range []netip.Addr{addr6A.Addr(), netip.IPv6Loopback()} {
		r, err := a.Ping(ctx, dst, 1, 1, 100)
		if err != nil || r.From != dst || r.Size != 100 {
			t.Fatalf("ping %v: %+v %v", dst, r, err)
		}
	}
	if st := a.Stats().Ip6; st.InLoopback != 4 {
		t.Fatalf("looped back %d packets, want 4", st.InLoopback)
	}
}

func TestPing6NoRouteAndTimeout(t *testing.T) {
	a, _ := dualPair(t, 1500)
	if _, err := a.Ping(context.Background(), netip.MustParseAddr("2001:2:ff::1"), 1, 1, 8); err == nil {
		t.Fatal("ping without a route succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Ping(ctx, netip.MustParseAddr("2001:2::99"), 1, 1, 8); err != context.DeadlineExceeded {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	a.mu.Lock()
	n := len(a.pingers6)
	a.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d pings still waiting", n)
	}
}

// A link below IPv6's minimum MTU takes no IPv6 address (RFC 8200 §5).
func TestAddAddress6NeedsMinimumMTU(t *testing.T) {
	a, _ := pair(t, 1000)
	if err := a.AddAddress("mem0", addr6A); err == nil {
		t.Fatal("an IPv6 address on a 1000-byte link")
	}
	if err := a.AddAddress("nope", addr6A); err == nil {
		t.Fatal("an address on a link that does not exist")
	}
}

func mkPacket6(next uint8, payload []byte) []byte {
	r := wire.IPv6Repr{NextHeader: next, HopLimit: 64, Src: addr6A.Addr(), Dst: addr6B.Addr(), PayloadLen: len(payload)}
	b := make([]byte, 40+len(payload))
	r.Emit(b)
	copy(b[40:], payload)
	return b
}

func echo6Msg(id, seq uint16, data []byte) []byte {
	m := wire.ICMPv6Repr{Type: wire.ICMPv6EchoRequest, ID: id, Seq: seq, Data: data}
	b := make([]byte, m.Len())
	m.Emit(b, addr6A.Addr(), addr6B.Addr())
	return b
}
