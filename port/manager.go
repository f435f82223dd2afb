package port

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"syscall"
)

// Manager holds the port spaces of one host. Not safe for concurrent use.
type Manager struct {
	cfg      Config
	rng      *rand.Rand
	k0, k1   uint64   // SipHash key (Config.Key)
	perturb  []uint32 // RFC 6056 §3.3.4 table of counters
	reserved []uint64 // bitset of Config.Reserved; nil when empty
	spaces   [256]*space
	nextID   uint64
	n        int
}

// space is the port space of one protocol.
type space struct {
	ports   portTable                 // every holder of a port, any state
	conns   map[tuple]*Binding        // connected and TIME-WAIT bindings
	listens map[netip.AddrPort]*group // bindings that accept new flows
}

// tuple is a connection's key, local and remote unmapped.
type tuple struct{ local, remote netip.AddrPort }

// bucket lists the holders of one port, like Linux's inet_bind_bucket.
type bucket struct {
	members  []*Binding
	explicit int // members whose port came from bind() or a listener
}

// NewManager returns an empty Manager. It panics if cfg.Validate fails.
func NewManager(cfg Config) *Manager {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	cfg.Reserved = slices.Clone(cfg.Reserved)
	m := &Manager{cfg: cfg, rng: newRand(cfg.Rand)}
	m.k0, m.k1 = keyWords(cfg.Key, m.rng)
	// RFC 6056 §3.3.4: "table[i] = random() % 65536" at boot.
	m.perturb = make([]uint32, perturbSize)
	for i := range m.perturb {
		m.perturb[i] = m.rng.Uint32()
	}
	if len(cfg.Reserved) > 0 {
		m.reserved = make([]uint64, 65536/64)
		for _, p := range cfg.Reserved {
			m.reserved[p/64] |= 1 << (p % 64)
		}
	}
	return m
}

// Config returns the configuration in force, defaults filled in.
func (m *Manager) Config() Config {
	c := m.cfg
	c.Reserved = slices.Clone(c.Reserved)
	c.Rand = nil
	return c
}

// Len is the number of live bindings.
func (m *Manager) Len() int { return m.n }

func (m *Manager) isReserved(p uint16) bool {
	return m.reserved != nil && m.reserved[p/64]&(1<<(p%64)) != 0
}

func (m *Manager) space(p Protocol) *space {
	sp := m.spaces[p]
	if sp == nil {
		sp = &space{
			conns:   make(map[tuple]*Binding),
			listens: make(map[netip.AddrPort]*group),
		}
		m.spaces[p] = sp
	}
	return sp
}

// privileged enforces the CAP_NET_BIND_SERVICE rule when configured.
func (m *Manager) privileged(op string, req Request, local netip.AddrPort) error {
	p := local.Port()
	if !m.cfg.RequirePrivilege || p == 0 || p >= m.cfg.PrivilegedBelow || req.Opts.Privileged {
		return nil
	}
	return &BindError{
		Op: op, Proto: req.Proto, Local: local, Err: syscall.EACCES,
		Detail: fmt.Sprintf("port %d is below %d and the socket is not privileged", p, m.cfg.PrivilegedBelow),
	}
}

// Bind is bind(2): it reserves req.Local for req.Proto. Port 0 picks a free
// ephemeral port (RFC 6056 algorithm 1); an invalid address means 0.0.0.0.
// For UDP a bound socket receives datagrams at once; for TCP it receives
// connections once SetState(Listening) succeeds.
func (m *Manager) Bind(req Request) (*Binding, error) {
	addr := req.Local.Addr().Unmap()
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	opts := req.Opts
	if addr.Is4() {
		opts.V6Only = false
	}
	port := req.Local.Port()
	local := netip.AddrPortFrom(addr, port)
	if port == 0 {
		p, ok := m.pickUnconnected(req.Proto)
		if !ok {
			return nil, m.exhausted("bind", req.Proto, local, netip.AddrPort{})
		}
		port = p
	} else {
		if err := m.privileged("bind", req, local); err != nil {
			return nil, err
		}
		if err := m.checkShare("bind", req.Proto, port, candidate{addr, opts}, nil); err != nil {
			return nil, err
		}
	}
	b := m.newBinding(req, netip.AddrPortFrom(addr, port), opts, true)
	b.state = Bound
	m.hold(b)
	if !req.Proto.connectionOriented() {
		m.addListen(b)
	}
	return b, nil
}

// Connect fixes a 4-tuple, as connect(2) does.
//
// With b nil it makes a new connected binding: req.Local's address must be
// the source address the route chose; port 0 asks for an ephemeral port by
// RFC 6056 algorithm 4, so one local port serves many destinations; a
// non-zero port is bound by the bind rules first. With b a Bound binding
// (or a connected UDP one, to re-connect) the binding keeps its port and
// becomes connected; req.Local's address may be left invalid when b's is
// specific, and may only narrow a wildcard.
//
// A 4-tuple already in use fails with EADDRNOTAVAIL, as Linux's
// __inet_check_established does; an exhausted range too.
func (m *Manager) Connect(b *Binding, req Request) (*Binding, error) {
	remote := netip.AddrPortFrom(req.Remote.Addr().Unmap(), req.Remote.Port())
	if b != nil {
		return m.reconnect(b, req, remote)
	}
	laddr := req.Local.Addr().Unmap()
	local := netip.AddrPortFrom(laddr, req.Local.Port())
	if err := checkPair("connect", req.Proto, local, remote); err != nil {
		return nil, err
	}
	opts := req.Opts
	if laddr.Is4() {
		opts.V6Only = false
	}
	if local.Port() == 0 {
		p, ok := m.pickConnected(req.Proto, laddr, remote)
		if !ok {
			return nil, m.exhausted("connect", req.Proto, local, remote)
		}
		nb := m.newBinding(req, netip.AddrPortFrom(laddr, p), opts, false)
		m.hold(nb)
		m.connect(nb, remote)
		return nb, nil
	}
	if err := m.privileged("connect", req, local); err != nil {
		return nil, err
	}
	if err := m.checkShare("connect", req.Proto, local.Port(), candidate{laddr, opts}, nil); err != nil {
		return nil, err
	}
	if err := m.checkTuple("connect", req.Proto, local, remote); err != nil {
		return nil, err
	}
	nb := m.newBinding(req, local, opts, true)
	m.hold(nb)
	m.connect(nb, remote)
	return nb, nil
}

func (m *Manager) reconnect(b *Binding, req Request, remote netip.AddrPort) (*Binding, error) {
	fail := func(errno syscall.Errno) error {
		return &BindError{Op: "connect", Proto: b.proto, Local: b.local, Remote: remote, Err: errno}
	}
	switch {
	case b.released:
		return nil, fail(syscall.EINVAL)
	case b.state == Connected && b.proto.connectionOriented():
		return nil, fail(syscall.EISCONN)
	case b.state != Bound && b.state != Connected:
		return nil, fail(syscall.EINVAL)
	}
	laddr := req.Local.Addr().Unmap()
	cur := b.local.Addr()
	switch {
	case !laddr.IsValid() || laddr.IsUnspecified():
		laddr = cur
	case !cur.IsUnspecified() && laddr != cur:
		return nil, fail(syscall.EINVAL)
	case cur.IsUnspecified() && cur.Is4() != laddr.Is4() && !(cur.Is6() && !b.opts.V6Only):
		return nil, fail(syscall.EINVAL)
	}
	local := netip.AddrPortFrom(laddr, b.local.Port())
	if err := checkPair("connect", b.proto, local, remote); err != nil {
		return nil, err
	}
	if b.remote == remote && b.local == local {
		return b, nil
	}
	if err := m.checkTuple("connect", b.proto, local, remote); err != nil {
		return nil, err
	}
	sp := m.spaces[b.proto]
	if b.remote.IsValid() {
		delete(sp.conns, tuple{b.local, b.remote})
	}
	m.removeListen(b)
	b.local = local
	if req.Endpoint != nil {
		b.ep = req.Endpoint
	}
	m.connect(b, remote)
	return b, nil
}

// Accept registers a connection a listener accepted (RFC 9293 §3.5: the
// SYN's 4-tuple). It shares the listener's port and options without a bind
// check, as Linux's inet_inherit_port does; only the 4-tuple must be new.
// req.Proto and req.Opts are taken from the listener; an empty req.Owner
// inherits the listener's.
func (m *Manager) Accept(l *Binding, req Request) (*Binding, error) {
	remote := netip.AddrPortFrom(req.Remote.Addr().Unmap(), req.Remote.Port())
	local := netip.AddrPortFrom(req.Local.Addr().Unmap(), l.local.Port())
	if l.released || l.state != Listening {
		return nil, &BindError{Op: "accept", Proto: l.proto, Local: local, Remote: remote, Err: syscall.EINVAL}
	}
	if err := checkPair("accept", l.proto, local, remote); err != nil {
		return nil, err
	}
	if la := l.local.Addr(); !la.IsUnspecified() && la != local.Addr() {
		return nil, &BindError{Op: "accept", Proto: l.proto, Local: local, Remote: remote, Err: syscall.EINVAL,
			Detail: "listener is bound to " + la.String()}
	}
	if err := m.checkTuple("accept", l.proto, local, remote); err != nil {
		return nil, err
	}
	req.Proto = l.proto
	req.Opts = l.opts
	if req.Owner == "" {
		req.Owner = l.owner
	}
	nb := m.newBinding(req, local, l.opts, true)
	m.hold(nb)
	m.connect(nb, remote)
	return nb, nil
}

// checkPair validates the addresses of a connection.
func checkPair(op string, proto Protocol, local, remote netip.AddrPort) error {
	la, ra := local.Addr(), remote.Addr()
	detail := ""
	switch {
	case !ra.IsValid() || ra.IsUnspecified():
		detail = "no remote address"
	case !la.IsValid() || la.IsUnspecified():
		detail = "no source address"
	case la.Is4() != ra.Is4():
		detail = "source and remote address families differ"
	default:
		return nil
	}
	return &BindError{Op: op, Proto: proto, Local: local, Remote: remote, Err: syscall.EINVAL, Detail: detail}
}

// checkTuple fails with EADDRNOTAVAIL if the 4-tuple is taken.
func (m *Manager) checkTuple(op string, proto Protocol, local, remote netip.AddrPort) error {
	sp := m.spaces[proto]
	if sp == nil {
		return nil
	}
	if h := sp.conns[tuple{local, remote}]; h != nil {
		return &BindError{Op: op, Proto: proto, Local: local, Remote: remote, Err: syscall.EADDRNOTAVAIL, Holder: h.holder(),
			Detail: "4-tuple in use"}
	}
	return nil
}

func (m *Manager) exhausted(op string, proto Protocol, local, remote netip.AddrPort) error {
	return &BindError{Op: op, Proto: proto, Local: local, Remote: remote, Err: syscall.EADDRNOTAVAIL,
		Detail: fmt.Sprintf("no free ephemeral port in %d-%d", m.cfg.EphemeralMin, m.cfg.EphemeralMax)}
}

func (m *Manager) newBinding(req Request, local netip.AddrPort, opts Options, explicit bool) *Binding {
	m.nextID++
	return &Binding{m: m, id: m.nextID, proto: req.Proto, local: local, opts: opts, owner: req.Owner, ep: req.Endpoint, explicit: explicit}
}

// hold adds b to its port's bucket.
func (m *Manager) hold(b *Binding) {
	sp := m.space(b.proto)
	bk := sp.ports.get(b.local.Port())
	if bk == nil {
		bk = &bucket{}
		sp.ports.set(b.local.Port(), bk)
	}
	b.bidx = len(bk.members)
	bk.members = append(bk.members, b)
	if b.explicit {
		bk.explicit++
	}
	m.n++
}

func (m *Manager) connect(b *Binding, remote netip.AddrPort) {
	b.remote = remote
	b.state = Connected
	m.spaces[b.proto].conns[tuple{b.local, remote}] = b
}

func (m *Manager) listen(b *Binding) error {
	c := candidate{b.local.Addr(), b.opts}
	if err := m.checkShare("listen", b.proto, b.local.Port(), c, b); err != nil {
		return err
	}
	b.state = Listening
	m.addListen(b)
	return nil
}

func (m *Manager) unlisten(b *Binding) { m.removeListen(b) }

func (m *Manager) release(b *Binding) {
	sp := m.spaces[b.proto]
	bk := sp.ports.get(b.local.Port())
	last := len(bk.members) - 1
	moved := bk.members[last]
	bk.members[b.bidx] = moved
	moved.bidx = b.bidx
	bk.members[last] = nil
	bk.members = bk.members[:last]
	if b.explicit {
		bk.explicit--
	}
	if len(bk.members) == 0 {
		sp.ports.set(b.local.Port(), nil)
	}
	if b.remote.IsValid() {
		k := tuple{b.local, b.remote}
		if sp.conns[k] == b {
			delete(sp.conns, k)
		}
	}
	m.removeListen(b)
	b.released = true
	m.n--
}

// Bindings calls fn for every live binding, ordered by protocol, local
// port, local address, remote address and port, then creation, until fn
// returns false. fn may Release bindings.
func (m *Manager) Bindings(fn func(*Binding) bool) {
	all := make([]*Binding, 0, m.n)
	for _, sp := range m.spaces {
		if sp == nil {
			continue
		}
		sp.ports.each(func(bk *bucket) { all = append(all, bk.members...) })
	}
	slices.SortFunc(all, func(a, b *Binding) int {
		return cmp.Or(
			cmp.Compare(a.proto, b.proto),
			cmp.Compare(a.local.Port(), b.local.Port()),
			a.local.Addr().Compare(b.local.Addr()),
			a.remote.Compare(b.remote),
			cmp.Compare(a.id, b.id),
		)
	})
	for _, b := range all {
		if !b.released && !fn(b) {
			return
		}
	}
}
