package port

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
)

// sock describes a socket for the bind-rule table: bound to addr, then
// brought to state (listen, or connect to remote and maybe TIME-WAIT).
type sock struct {
	proto  Protocol
	addr   string
	opts   Options
	state  State
	remote string
	owner  string
}

var (
	reuseAddr = Options{ReuseAddr: true}
	reusePort = Options{ReusePort: true}
	v6only    = Options{V6Only: true}
)

// open makes s real in m and returns the first error.
func open(m *Manager, s sock) (*Binding, error) {
	b, err := m.Bind(Request{Proto: s.proto, Local: netip.MustParseAddrPort(s.addr), Opts: s.opts, Owner: s.owner})
	if err != nil {
		return nil, err
	}
	switch s.state {
	case Listening:
		err = b.SetState(Listening)
	case Connected, TimeWait:
		src := b.Local().Addr()
		if src.IsUnspecified() {
			src = netip.MustParseAddr("198.18.0.1")
			if b.Local().Addr().Is6() {
				src = netip.MustParseAddr("2001:db8::1")
			}
		}
		_, err = m.Connect(b, Request{Local: netip.AddrPortFrom(src, 0), Remote: netip.MustParseAddrPort(s.remote)})
		if err == nil && s.state == TimeWait {
			err = b.SetState(TimeWait)
		}
	}
	return b, err
}

// TestBindRules is the table of Linux's bind rules (DESIGN.md "Ports"):
// every existing socket is opened, then the last one must succeed or fail
// with the given errno and hint.
func TestBindRules(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		existing []sock
		next     sock
		want     syscall.Errno // 0: allowed
		hint     string
	}{
		// The seed: TCP and UDP port numbers are independent.
		{name: "TCP 255 then UDP 255", existing: []sock{{proto: TCP, addr: "0.0.0.0:255", state: Listening}},
			next: sock{proto: UDP, addr: "0.0.0.0:255"}},
		{name: "UDP 255 then TCP 255", existing: []sock{{proto: UDP, addr: "0.0.0.0:255"}},
			next: sock{proto: TCP, addr: "0.0.0.0:255", state: Listening}},
		{name: "TCP 255 twice", existing: []sock{{proto: TCP, addr: "0.0.0.0:255"}},
			next: sock{proto: TCP, addr: "0.0.0.0:255"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "UDP 255 twice", existing: []sock{{proto: UDP, addr: "0.0.0.0:255"}},
			next: sock{proto: UDP, addr: "0.0.0.0:255"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},

		// Wildcard and specific addresses overlap, in either order.
		{name: "wildcard then specific", existing: []sock{{proto: TCP, addr: "0.0.0.0:80"}},
			next: sock{proto: TCP, addr: "198.18.0.1:80"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "specific then wildcard", existing: []sock{{proto: TCP, addr: "198.18.0.1:80"}},
			next: sock{proto: TCP, addr: "0.0.0.0:80"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "UDP specific then wildcard", existing: []sock{{proto: UDP, addr: "198.18.0.1:53"}},
			next: sock{proto: UDP, addr: "0.0.0.0:53"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "two specific addresses", existing: []sock{{proto: TCP, addr: "198.18.0.1:80", state: Listening}},
			next: sock{proto: TCP, addr: "198.18.0.2:80", state: Listening}},
		{name: "same specific address", existing: []sock{{proto: TCP, addr: "198.18.0.1:80"}},
			next: sock{proto: TCP, addr: "198.18.0.1:80"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "different ports", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", state: Listening}},
			next: sock{proto: TCP, addr: "0.0.0.0:81", state: Listening}},

		// SO_REUSEADDR: both, and the existing one not listening (TCP).
		{name: "reuseaddr both, bound", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr}},
		{name: "reuseaddr both, wildcard over specific", existing: []sock{{proto: TCP, addr: "198.18.0.1:80", opts: reuseAddr}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr}},
		{name: "reuseaddr new only", existing: []sock{{proto: TCP, addr: "0.0.0.0:80"}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "reuseaddr existing only", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr}},
			next: sock{proto: TCP, addr: "0.0.0.0:80"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "reuseaddr both, existing listening", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr, state: Listening}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr}, want: syscall.EADDRINUSE, hint: hintReusePort},
		{name: "reuseaddr both, specific over listening wildcard", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr, state: Listening}},
			next: sock{proto: TCP, addr: "198.18.0.1:80", opts: reuseAddr}, want: syscall.EADDRINUSE, hint: hintReusePort},
		{name: "reuseaddr both, second listen", existing: []sock{
			{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr}, // bound, listens after the next one binds
		}, next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr, state: Listening}},
		{name: "reuseaddr both, existing connected", existing: []sock{{proto: TCP, addr: "198.18.0.1:80", opts: reuseAddr, state: Connected, remote: "198.18.0.2:5000"}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr, state: Listening}},
		{name: "UDP reuseaddr both", existing: []sock{{proto: UDP, addr: "0.0.0.0:53", opts: reuseAddr}},
			next: sock{proto: UDP, addr: "0.0.0.0:53", opts: reuseAddr}},
		{name: "UDP reuseaddr one", existing: []sock{{proto: UDP, addr: "0.0.0.0:53", opts: reuseAddr}},
			next: sock{proto: UDP, addr: "0.0.0.0:53"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},

		// SO_REUSEPORT: both form a group, listening or not.
		{name: "reuseport both, listening", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", opts: reusePort, state: Listening}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reusePort, state: Listening}},
		{name: "reuseport new only", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", state: Listening}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reusePort}, want: syscall.EADDRINUSE, hint: hintReusePort},
		{name: "reuseport existing only", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", opts: reusePort, state: Listening}},
			next: sock{proto: TCP, addr: "0.0.0.0:80"}, want: syscall.EADDRINUSE, hint: hintReusePort},
		{name: "UDP reuseport both", existing: []sock{{proto: UDP, addr: "0.0.0.0:53", opts: reusePort}},
			next: sock{proto: UDP, addr: "0.0.0.0:53", opts: reusePort}},
		{name: "UDP reuseport one", existing: []sock{{proto: UDP, addr: "0.0.0.0:53", opts: reusePort}},
			next: sock{proto: UDP, addr: "0.0.0.0:53"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},

		// TIME-WAIT holders block a bind unless both set SO_REUSEADDR.
		{name: "time-wait, reuseaddr both", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr, state: TimeWait, remote: "198.18.0.2:5000"}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr, state: Listening}},
		{name: "time-wait, no reuseaddr", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", state: TimeWait, remote: "198.18.0.2:5000"}},
			next: sock{proto: TCP, addr: "0.0.0.0:80"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "time-wait, reuseaddr new only", existing: []sock{{proto: TCP, addr: "0.0.0.0:80", state: TimeWait, remote: "198.18.0.2:5000"}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "time-wait, other address", existing: []sock{{proto: TCP, addr: "198.18.0.1:80", state: TimeWait, remote: "198.18.0.2:5000"}},
			next: sock{proto: TCP, addr: "198.18.0.3:80"}},

		// Privileged ports (CAP_NET_BIND_SERVICE).
		{name: "privileged required, missing", cfg: Config{RequirePrivilege: true},
			next: sock{proto: TCP, addr: "0.0.0.0:80"}, want: syscall.EACCES},
		{name: "privileged required, UDP missing", cfg: Config{RequirePrivilege: true},
			next: sock{proto: UDP, addr: "0.0.0.0:53"}, want: syscall.EACCES},
		{name: "privileged required, present", cfg: Config{RequirePrivilege: true},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: Options{Privileged: true}}},
		{name: "privileged required, port 1024", cfg: Config{RequirePrivilege: true},
			next: sock{proto: TCP, addr: "0.0.0.0:1024"}},
		{name: "privileged custom bound", cfg: Config{RequirePrivilege: true, PrivilegedBelow: 2000},
			next: sock{proto: TCP, addr: "0.0.0.0:1999"}, want: syscall.EACCES},
		{name: "privileged not required", next: sock{proto: TCP, addr: "0.0.0.0:80"}},
		{name: "privileged required, port 0", cfg: Config{RequirePrivilege: true},
			next: sock{proto: TCP, addr: "0.0.0.0:0"}},

		// IPv6: a dual-stack wildcard covers IPv4 unless IPV6_V6ONLY.
		{name: "v6 dual wildcard then v4 wildcard", existing: []sock{{proto: TCP, addr: "[::]:80"}},
			next: sock{proto: TCP, addr: "0.0.0.0:80"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "v4 specific then v6 dual wildcard", existing: []sock{{proto: TCP, addr: "198.18.0.1:80"}},
			next: sock{proto: TCP, addr: "[::]:80"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "v6only wildcard and v4 wildcard", existing: []sock{{proto: TCP, addr: "[::]:80", opts: v6only, state: Listening}},
			next: sock{proto: TCP, addr: "0.0.0.0:80", state: Listening}},
		{name: "v6 specific and v4 wildcard", existing: []sock{{proto: UDP, addr: "[2001:db8::1]:53"}},
			next: sock{proto: UDP, addr: "0.0.0.0:53"}},
		{name: "v6 wildcard then v6 specific", existing: []sock{{proto: UDP, addr: "[::]:53", opts: v6only}},
			next: sock{proto: UDP, addr: "[2001:db8::1]:53"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
		{name: "v4-mapped is IPv4", existing: []sock{{proto: UDP, addr: "198.18.0.1:53"}},
			next: sock{proto: UDP, addr: "[::ffff:198.18.0.1]:53"}, want: syscall.EADDRINUSE, hint: hintReuseAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewManager(tt.cfg)
			for _, s := range tt.existing {
				if _, err := open(m, s); err != nil {
					t.Fatalf("existing %+v: %v", s, err)
				}
			}
			_, err := open(m, tt.next)
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("want %v, got %v", tt.want, err)
			}
			var be *BindError
			if !errors.As(err, &be) {
				t.Fatalf("%T is not a *BindError", err)
			}
			if be.Hint != tt.hint {
				t.Errorf("hint %q, want %q (error: %v)", be.Hint, tt.hint, err)
			}
			if tt.want == syscall.EADDRINUSE && be.Holder == nil {
				t.Errorf("EADDRINUSE without a holder: %v", err)
			}
		})
	}
}

// TestSecondListenRefused: two TCP sockets share a port by SO_REUSEADDR, but
// only one may listen on it (Linux re-checks the bind rules in listen()).
func TestSecondListenRefused(t *testing.T) {
	m := NewManager(Config{})
	a, _ := open(m, sock{proto: TCP, addr: "0.0.0.0:8080", opts: reuseAddr, owner: "a"})
	b, err := open(m, sock{proto: TCP, addr: "0.0.0.0:8080", opts: reuseAddr, owner: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetState(Listening); err != nil {
		t.Fatalf("first listen: %v", err)
	}
	err = b.SetState(Listening)
	want := `listen tcp 0.0.0.0:8080: address already in use: held by "a" (tcp 0.0.0.0:8080, LISTEN); SO_REUSEPORT on both sockets would allow it`
	if err == nil || err.Error() != want {
		t.Fatalf("second listen:\n got %v\nwant %s", err, want)
	}
	if b.State() != Bound {
		t.Errorf("refused listen left state %v", b.State())
	}
	// Once the listener stops, the other may listen.
	a.Release()
	if err := b.SetState(Listening); err != nil {
		t.Fatalf("listen after release: %v", err)
	}
	if m.Lookup(TCP, netip.MustParseAddrPort("198.18.0.1:8080"), netip.MustParseAddrPort("198.18.0.2:1")) != nil {
		t.Error("nil endpoint expected to be returned as nil")
	}
	if got := m.LookupBinding(TCP, netip.MustParseAddrPort("198.18.0.1:8080"), netip.MustParseAddrPort("198.18.0.2:1")); got != b {
		t.Errorf("lookup after listen found %v", got)
	}
}

// TestBindErrorText pins the text of a refused bind: who holds the port,
// in which state, and which option would have allowed it.
func TestBindErrorText(t *testing.T) {
	tests := []struct {
		existing []sock
		next     sock
		want     string
	}{
		{
			existing: []sock{{proto: TCP, addr: "0.0.0.0:80", state: Listening, owner: "web"}},
			next:     sock{proto: TCP, addr: "0.0.0.0:80", owner: "web2"},
			want:     `bind tcp 0.0.0.0:80: address already in use: held by "web" (tcp 0.0.0.0:80, LISTEN); SO_REUSEPORT on both sockets would allow it`,
		},
		{
			existing: []sock{{proto: UDP, addr: "198.18.0.1:53", owner: "dns"}},
			next:     sock{proto: UDP, addr: "0.0.0.0:53"},
			want:     `bind udp 0.0.0.0:53: address already in use: held by "dns" (udp 198.18.0.1:53, BOUND); SO_REUSEADDR on both sockets would allow it`,
		},
		{
			existing: []sock{{proto: TCP, addr: "198.18.0.1:80", state: TimeWait, remote: "198.18.0.2:40000"}},
			next:     sock{proto: TCP, addr: "0.0.0.0:80"},
			want:     `bind tcp 0.0.0.0:80: address already in use: held by an unnamed socket (tcp 198.18.0.1:80->198.18.0.2:40000, TIME-WAIT); SO_REUSEADDR on both sockets would allow it`,
		},
		{
			existing: []sock{
				{proto: TCP, addr: "198.18.0.1:80", opts: reuseAddr, owner: "a"},
				{proto: TCP, addr: "198.18.0.2:80", opts: reuseAddr, state: Listening, owner: "b"},
			},
			next: sock{proto: TCP, addr: "0.0.0.0:80", opts: reuseAddr, owner: "c"},
			want: `bind tcp 0.0.0.0:80: address already in use: held by "b" (tcp 198.18.0.2:80, LISTEN); SO_REUSEPORT on both sockets would allow it`,
		},
		{
			existing: []sock{
				{proto: TCP, addr: "198.18.0.1:80", owner: "a"},
				{proto: TCP, addr: "198.18.0.2:80", owner: "b"},
			},
			next: sock{proto: TCP, addr: "0.0.0.0:80"},
			want: `bind tcp 0.0.0.0:80: address already in use: held by "a" (tcp 198.18.0.1:80, BOUND) and 1 more; SO_REUSEADDR on both sockets would allow it`,
		},
	}
	for _, tt := range tests {
		m := NewManager(Config{})
		for _, s := range tt.existing {
			if _, err := open(m, s); err != nil {
				t.Fatal(err)
			}
		}
		_, err := open(m, tt.next)
		if err == nil || err.Error() != tt.want {
			t.Errorf("\n got %v\nwant %s", err, tt.want)
		}
	}

	m := NewManager(Config{RequirePrivilege: true})
	_, err := m.Bind(Request{Proto: TCP, Local: netip.MustParseAddrPort("0.0.0.0:25")})
	want := "bind tcp 0.0.0.0:25: permission denied: port 25 is below 1024 and the socket is not privileged"
	if err == nil || err.Error() != want {
		t.Errorf("\n got %v\nwant %s", err, want)
	}
}

// TestConnectedPortNotBindable: a port in use by connect's allocator is
// still held; an explicit wildcard bind of it conflicts with the connection.
func TestConnectedPortNotBindable(t *testing.T) {
	m := NewManager(Config{})
	c, err := m.Connect(nil, Request{Proto: TCP, Local: netip.MustParseAddrPort("198.18.0.1:0"), Remote: netip.MustParseAddrPort("198.18.0.2:80"), Owner: "curl"})
	if err != nil {
		t.Fatal(err)
	}
	p := c.Local().Port()
	if p < DefaultEphemeralMin || p > DefaultEphemeralMax {
		t.Fatalf("ephemeral port %d outside the default range", p)
	}
	_, err = m.Bind(Request{Proto: TCP, Local: netip.AddrPortFrom(netip.IPv4Unspecified(), p)})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind over a connection's port: %v", err)
	}
	// Another address does not overlap the connection's specific one.
	if _, err := m.Bind(Request{Proto: TCP, Local: netip.AddrPortFrom(netip.MustParseAddr("198.18.0.9"), p)}); err != nil {
		t.Fatalf("bind of another address: %v", err)
	}
}

func TestConnectErrors(t *testing.T) {
	m := NewManager(Config{})
	src := netip.MustParseAddrPort("198.18.0.1:0")
	dst := netip.MustParseAddrPort("198.18.0.2:80")
	tests := []struct {
		name string
		req  Request
		want syscall.Errno
	}{
		{"no remote", Request{Proto: TCP, Local: src}, syscall.EINVAL},
		{"no source", Request{Proto: TCP, Remote: dst}, syscall.EINVAL},
		{"wildcard source", Request{Proto: TCP, Local: netip.MustParseAddrPort("0.0.0.0:0"), Remote: dst}, syscall.EINVAL},
		{"families differ", Request{Proto: TCP, Local: src, Remote: netip.MustParseAddrPort("[2001:db8::2]:80")}, syscall.EINVAL},
	}
	for _, tt := range tests {
		if _, err := m.Connect(nil, tt.req); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}

	// An explicit 4-tuple in use: EADDRNOTAVAIL, as Linux's connect().
	fixed := Request{Proto: TCP, Local: netip.MustParseAddrPort("198.18.0.1:4000"), Remote: dst, Opts: reuseAddr}
	if _, err := m.Connect(nil, fixed); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Connect(nil, fixed); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("duplicate 4-tuple: %v", err)
	}
	// A connected TCP binding cannot connect again.
	b, _ := m.Bind(Request{Proto: TCP, Local: netip.MustParseAddrPort("198.18.0.1:4001")})
	if _, err := m.Connect(b, Request{Remote: dst}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Connect(b, Request{Remote: netip.MustParseAddrPort("198.18.0.3:80")}); !errors.Is(err, syscall.EISCONN) {
		t.Errorf("second TCP connect: %v", err)
	}
	// A bound address may not change on connect.
	c, _ := m.Bind(Request{Proto: UDP, Local: netip.MustParseAddrPort("198.18.0.1:4002")})
	if _, err := m.Connect(c, Request{Local: netip.MustParseAddrPort("198.18.0.5:0"), Remote: dst}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("connect from another address: %v", err)
	}
	// Released bindings are dead.
	c.Release()
	c.Release()
	if _, err := m.Connect(c, Request{Remote: dst}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("connect after release: %v", err)
	}
	if err := c.SetState(Listening); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("listen after release: %v", err)
	}
	u, _ := m.Bind(Request{Proto: UDP, Local: netip.MustParseAddrPort("198.18.0.1:4003")})
	if err := u.SetState(Listening); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("UDP listen: %v", err)
	}
	if err := u.SetState(TimeWait); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("bound → TIME-WAIT: %v", err)
	}
}

// TestUDPReconnect: a connected UDP socket may connect to another peer and
// keeps its port; a bound wildcard narrows to the source address.
func TestUDPReconnect(t *testing.T) {
	m := NewManager(Config{})
	b, _ := m.Bind(Request{Proto: UDP, Local: netip.MustParseAddrPort("0.0.0.0:5353"), Endpoint: "u"})
	src := netip.MustParseAddrPort("198.18.0.1:0")
	a1 := netip.MustParseAddrPort("198.18.0.2:53")
	a2 := netip.MustParseAddrPort("198.18.0.3:53")
	if _, err := m.Connect(b, Request{Local: src, Remote: a1}); err != nil {
		t.Fatal(err)
	}
	if got := b.Local(); got != netip.MustParseAddrPort("198.18.0.1:5353") {
		t.Fatalf("local after connect %v", got)
	}
	here := netip.MustParseAddrPort("198.18.0.1:5353")
	if m.Lookup(UDP, here, a1) != "u" || m.Lookup(UDP, here, a2) != nil {
		t.Fatal("connected socket must receive from its peer only")
	}
	if _, err := m.Connect(b, Request{Remote: a2}); err != nil {
		t.Fatal(err)
	}
	if m.Lookup(UDP, here, a1) != nil || m.Lookup(UDP, here, a2) != "u" {
		t.Fatal("re-connected socket must receive from its new peer only")
	}
	if b.Local().Port() != 5353 || b.Remote() != a2 {
		t.Fatalf("after reconnect %v", b)
	}
}
