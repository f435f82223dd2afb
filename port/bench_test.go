package port

import (
	"net/netip"
	"testing"
)

// world100k builds 100,000 bindings: a TCP listener on port 80 with 69,999
// accepted connections, and 30,000 UDP sockets bound to specific addresses.
func world100k(tb testing.TB) *Manager {
	m := NewManager(Config{Rand: seeded(11)})
	l, err := m.Bind(Request{Proto: TCP, Local: ap("0.0.0.0:80"), Endpoint: "listener"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.SetState(Listening); err != nil {
		tb.Fatal(err)
	}
	for i := range 69999 {
		if _, err := m.Accept(l, Request{Local: ap("198.18.0.1:80"), Remote: peer(i), Endpoint: i}); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range 30000 {
		a := netip.AddrFrom4([4]byte{198, 18, 0, byte(1 + i%2)})
		if _, err := m.Bind(Request{Proto: UDP, Local: netip.AddrPortFrom(a, uint16(10000+i/2)), Endpoint: i}); err != nil {
			tb.Fatal(err)
		}
	}
	if m.Len() != 100000 {
		tb.Fatalf("Len %d", m.Len())
	}
	return m
}

func peer(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), uint16(1024+i%1000))
}

// lookupCases are the demultiplexing paths: an established connection, a
// new connection to the wildcard listener, a specific UDP bind, a miss.
var lookupCases = []struct {
	name          string
	proto         Protocol
	local, remote netip.AddrPort
}{
	{"tcp-established", TCP, ap("198.18.0.1:80"), peer(4242)},
	{"tcp-listener", TCP, ap("198.18.0.1:80"), ap("198.18.255.1:9")},
	{"udp-bound", UDP, ap("198.18.0.2:12345"), ap("198.18.255.1:9")},
	{"udp-miss", UDP, ap("198.18.0.3:12345"), ap("198.18.255.1:9")},
}

// TestLookup100kNoAlloc: demultiplexing among 100,000 bindings finds the
// right endpoint without allocating.
func TestLookup100kNoAlloc(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000 bindings")
	}
	m := world100k(t)
	want := []any{4242, "listener", 2*(12345-10000) + 1, nil}
	for i, c := range lookupCases {
		if got := m.Lookup(c.proto, c.local, c.remote); got != want[i] {
			t.Fatalf("%s: got %v, want %v", c.name, got, want[i])
		}
		if n := testing.AllocsPerRun(100, func() { m.Lookup(c.proto, c.local, c.remote) }); n != 0 {
			t.Errorf("%s: %.1f allocations per Lookup", c.name, n)
		}
	}
}

func BenchmarkLookup100k(b *testing.B) {
	m := world100k(b)
	for _, c := range lookupCases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Lookup(c.proto, c.local, c.remote)
			}
		})
	}
	b.Run("reuseport-group", func(b *testing.B) {
		for i := range 8 {
			if _, err := m.Bind(Request{Proto: UDP, Local: ap("0.0.0.0:443"), Opts: Options{ReusePort: true}, Endpoint: i}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			m.Lookup(UDP, ap("198.18.0.1:443"), ap("198.18.255.1:9"))
		}
	})
}

// BenchmarkConnect: RFC 6056 algorithm 4 allocation with 10,000 connections
// open to 100 destinations; each iteration connects and releases one.
func BenchmarkConnect(b *testing.B) {
	m := NewManager(Config{Rand: seeded(12)})
	dst := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, 0, byte(i % 100)}), 443)
	}
	for i := range 10000 {
		if _, err := m.Connect(nil, Request{Proto: TCP, Local: netip.AddrPortFrom(src, 0), Remote: dst(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c, err := m.Connect(nil, Request{Proto: TCP, Local: netip.AddrPortFrom(src, 0), Remote: dst(i)})
		if err != nil {
			b.Fatal(err)
		}
		c.Release()
		i++
	}
}

// BenchmarkBindEphemeral: algorithm 1 (bind to port 0) with 10,000 ports
// held; each iteration binds and releases one.
func BenchmarkBindEphemeral(b *testing.B) {
	m := NewManager(Config{Rand: seeded(13)})
	for range 10000 {
		if _, err := m.Bind(Request{Proto: UDP}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := m.Bind(Request{Proto: UDP})
		if err != nil {
			b.Fatal(err)
		}
		c.Release()
	}
}
