package port

import (
	"errors"
	"net/netip"
	"slices"
	"syscall"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func mustBind(t *testing.T, m *Manager, proto Protocol, addr string, opts Options, ep any) *Binding {
	t.Helper()
	b, err := m.Bind(Request{Proto: proto, Local: ap(addr), Opts: opts, Endpoint: ep})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDemux_MostSpecificWins: exact 4-tuple, then the bound address, then
// the family's wildcard, then a dual-stack IPv6 wildcard.
func TestDemux_MostSpecificWins(t *testing.T) {
	m := NewManager(Config{})
	dual := mustBind(t, m, UDP, "[::]:53", reuseAddr, "dual")
	wild := mustBind(t, m, UDP, "0.0.0.0:53", reuseAddr, "wild4")
	mustBind(t, m, UDP, "198.18.0.1:53", reuseAddr, "spec")
	conn := mustBind(t, m, UDP, "198.18.0.1:53", reuseAddr, "conn")
	if _, err := m.Connect(conn, Request{Remote: ap("198.18.0.2:5000")}); err != nil {
		t.Fatal(err)
	}
	check := func(local, remote, want string) {
		t.Helper()
		got := m.Lookup(UDP, ap(local), ap(remote))
		if want == "" {
			if got != nil {
				t.Errorf("%s from %s: got %v, want nothing", local, remote, got)
			}
			return
		}
		if got != want {
			t.Errorf("%s from %s: got %v, want %s", local, remote, got, want)
		}
	}
	check("198.18.0.1:53", "198.18.0.2:5000", "conn")
	check("198.18.0.1:53", "198.18.0.2:5001", "spec")
	check("198.18.0.9:53", "198.18.0.2:5000", "wild4")
	check("[::ffff:198.18.0.1]:53", "[::ffff:198.18.0.2]:5000", "conn") // v4-mapped is IPv4
	check("[2001:db8::1]:53", "[2001:db8::2]:5000", "dual")
	check("198.18.0.1:54", "198.18.0.2:5000", "")
	if m.Lookup(TCP, ap("198.18.0.1:53"), ap("198.18.0.2:5000")) != nil {
		t.Error("TCP found a UDP binding")
	}
	wild.Release()
	check("198.18.0.9:53", "198.18.0.2:5000", "dual")
	dual.Release()
	check("198.18.0.9:53", "198.18.0.2:5000", "")
	check("[2001:db8::1]:53", "[2001:db8::2]:5000", "")
	conn.Release()
	check("198.18.0.1:53", "198.18.0.2:5000", "spec")
}

// TestDemux_TCP: only listeners receive new connections; accepted and
// TIME-WAIT connections match their 4-tuple only.
func TestDemux_TCP(t *testing.T) {
	m := NewManager(Config{})
	l := mustBind(t, m, TCP, "0.0.0.0:80", reuseAddr, "listener")
	mustBind(t, m, TCP, "198.18.0.1:80", reuseAddr, "bound")
	syn := func(remote string) any { return m.Lookup(TCP, ap("198.18.0.1:80"), ap(remote)) }
	if got := syn("198.18.0.2:1000"); got != nil {
		t.Fatalf("nothing listens yet, got %v", got)
	}
	if err := l.SetState(Listening); err != nil {
		t.Fatal(err)
	}
	if got := syn("198.18.0.2:1000"); got != "listener" {
		t.Fatalf("SYN went to %v", got)
	}
	c, err := m.Accept(l, Request{Local: ap("198.18.0.1:0"), Remote: ap("198.18.0.2:1000"), Endpoint: "conn"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Local() != ap("198.18.0.1:80") || c.State() != Connected || c.Options() != reuseAddr {
		t.Fatalf("accepted %v %+v", c, c.Options())
	}
	if _, err := m.Accept(l, Request{Local: ap("198.18.0.1:80"), Remote: ap("198.18.0.2:1000")}); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Fatalf("duplicate accept: %v", err)
	}
	if got := syn("198.18.0.2:1000"); got != "conn" {
		t.Fatalf("segment of the connection went to %v", got)
	}
	if err := c.SetState(TimeWait); err != nil {
		t.Fatal(err)
	}
	if got := syn("198.18.0.2:1000"); got != "conn" {
		t.Fatalf("TIME-WAIT must keep its 4-tuple, got %v", got)
	}
	// The listener stops: new SYNs find nothing; the connection stays.
	if err := l.SetState(Bound); err != nil {
		t.Fatal(err)
	}
	if got := syn("198.18.0.2:1001"); got != nil {
		t.Fatalf("SYN after unlisten went to %v", got)
	}
	l.Release()
	if _, err := m.Accept(l, Request{Local: ap("198.18.0.1:80"), Remote: ap("198.18.0.2:1002")}); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("accept on a released listener: %v", err)
	}
	if got := syn("198.18.0.2:1000"); got != "conn" {
		t.Fatalf("connection lost with its listener: %v", got)
	}
	// A server restart: binding the port again needs SO_REUSEADDR because
	// the accepted connection (which inherited it) still holds the port.
	if _, err := m.Bind(Request{Proto: TCP, Local: ap("0.0.0.0:80")}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("rebind without SO_REUSEADDR: %v", err)
	}
	if _, err := m.Bind(Request{Proto: TCP, Local: ap("0.0.0.0:80"), Opts: reuseAddr}); err != nil {
		t.Fatalf("rebind with SO_REUSEADDR: %v", err)
	}
}

// TestDemux_ReusePortSpread: an SO_REUSEPORT group spreads flows over its
// members by a hash of the 4-tuple; one flow always lands on one member.
func TestDemux_ReusePortSpread(t *testing.T) {
	m := NewManager(Config{Key: [16]byte{1}})
	const members, flows = 4, 20000
	var bs []*Binding
	for i := range members {
		bs = append(bs, mustBind(t, m, UDP, "0.0.0.0:443", reusePort, i))
	}
	local := ap("198.18.0.1:443")
	remote := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), uint16(1024+i%50000))
	}
	counts := make([]int, members)
	first := make([]any, flows)
	for i := range flows {
		ep := m.Lookup(UDP, local, remote(i))
		first[i] = ep
		counts[ep.(int)]++
	}
	// Chi-squared, 3 degrees of freedom, p = 0.001: 16.27.
	if x := chiSquared(counts); x > 16.27 {
		t.Fatalf("flows per member %v: chi-squared %.1f", counts, x)
	}
	for i := range flows {
		if ep := m.Lookup(UDP, local, remote(i)); ep != first[i] {
			t.Fatalf("flow %d moved from %v to %v", i, first[i], ep)
		}
	}
	// A group member leaves: its flows go to the others, nobody gets it.
	bs[2].Release()
	for i := range 2000 {
		if ep := m.Lookup(UDP, local, remote(i)); ep == 2 || ep == nil {
			t.Fatalf("flow %d went to %v after release", i, ep)
		}
	}
	// A non-member cannot join.
	if _, err := m.Bind(Request{Proto: UDP, Local: ap("0.0.0.0:443")}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind without SO_REUSEPORT: %v", err)
	}
}

// TestDemux_V6Only: an IPV6_V6ONLY wildcard receives IPv6 only.
func TestDemux_V6Only(t *testing.T) {
	m := NewManager(Config{})
	mustBind(t, m, UDP, "[::]:53", v6only, "v6")
	if got := m.Lookup(UDP, ap("198.18.0.1:53"), ap("198.18.0.2:9")); got != nil {
		t.Fatalf("IPv4 datagram went to a v6only socket: %v", got)
	}
	if got := m.Lookup(UDP, ap("[2001:db8::1]:53"), ap("[2001:db8::2]:9")); got != "v6" {
		t.Fatalf("IPv6 datagram went to %v", got)
	}
	mustBind(t, m, UDP, "0.0.0.0:53", Options{}, "v4")
	if got := m.Lookup(UDP, ap("198.18.0.1:53"), ap("198.18.0.2:9")); got != "v4" {
		t.Fatalf("IPv4 datagram went to %v", got)
	}
}

// TestDemux_LookupAll: a broadcast reaches every socket bound to a
// wildcard, not those bound to a unicast address or connected elsewhere.
func TestDemux_LookupAll(t *testing.T) {
	m := NewManager(Config{})
	mustBind(t, m, UDP, "0.0.0.0:67", reuseAddr, "a")
	mustBind(t, m, UDP, "198.18.0.1:67", reuseAddr, "b")
	mustBind(t, m, UDP, "[::]:67", reuseAddr, "c")
	d := mustBind(t, m, UDP, "198.18.0.1:67", reuseAddr, "d")
	if _, err := m.Connect(d, Request{Remote: ap("198.18.0.2:68")}); err != nil {
		t.Fatal(err)
	}
	all := func(local, remote string) []string {
		var got []string
		m.LookupAll(UDP, ap(local), ap(remote), func(ep any) bool { got = append(got, ep.(string)); return true })
		slices.Sort(got)
		return got
	}
	if got := all("198.18.0.255:67", "198.18.0.2:68"); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("broadcast reached %v", got)
	}
	if got := all("198.18.0.1:67", "198.18.0.2:68"); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("unicast-all reached %v", got)
	}
	if got := all("198.18.0.1:67", "198.18.0.3:68"); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("from another peer reached %v", got)
	}
	n := 0
	m.LookupAll(UDP, ap("198.18.0.1:67"), ap("198.18.0.2:68"), func(any) bool { n++; return false })
	if n != 1 {
		t.Errorf("LookupAll did not stop: %d calls", n)
	}
}

// TestBindings_Order: the socket table comes out sorted and complete, and
// Release inside the callback is safe.
func TestBindings_Order(t *testing.T) {
	m := NewManager(Config{Rand: seeded(8)})
	mustBind(t, m, UDP, "198.18.0.1:53", Options{}, nil)
	mustBind(t, m, TCP, "0.0.0.0:80", Options{}, nil)
	mustBind(t, m, TCP, "0.0.0.0:22", Options{}, nil)
	mustBind(t, m, TCP, "198.18.0.2:81", Options{}, nil)
	connectUDP(t, m, dstA)
	var got []string
	m.Bindings(func(b *Binding) bool { got = append(got, b.String()); return true })
	if len(got) != 5 || got[0] != "tcp 0.0.0.0:22 BOUND" || got[1] != "tcp 0.0.0.0:80 BOUND" || got[2] != "tcp 198.18.0.2:81 BOUND" || got[3] != "udp 198.18.0.1:53 BOUND" {
		t.Fatalf("order %q", got)
	}
	m.Bindings(func(b *Binding) bool { b.Release(); return true })
	if m.Len() != 0 {
		t.Fatalf("%d left after releasing all", m.Len())
	}
	m.Bindings(func(b *Binding) bool { t.Fatalf("released %v listed", b); return true })
}
