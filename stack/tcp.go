package stack

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"

	"berth/buf"
	"berth/ip"
	"berth/port"
	"berth/seq"
	"berth/tcp"
	"berth/wire"
)

// The stack's half of TCP: demultiplexing segments to connections and
// listeners (through port.Manager), one timer per connection armed at the
// core's reported deadline, the core's events turned into callbacks, and the
// segments the core emits turned into IPv4 or IPv6 datagrams.

// tcpTable is the stack's TCP state.
type tcpTable struct {
	cfg       *tcp.Config
	stats     tcp.Stats
	byCore    map[*tcp.Conn]*TCPConn // every connection the stack still holds
	listeners map[*TCPListener]struct{}
	now       time.Time // the time of the operation in progress, for Output
}

func (s *Stack) initTCP(cfg *tcp.Config) {
	if cfg == nil {
		cfg = tcp.DefaultConfig()
	}
	if cfg.ISNKey == ([16]byte{}) {
		for i := range cfg.ISNKey {
			cfg.ISNKey[i] = byte(s.rng.Uint32())
		}
	}
	cfg.Stats = &s.tcp.stats
	s.tcp.cfg = cfg
	s.tcp.byCore = make(map[*tcp.Conn]*TCPConn)
	s.tcp.listeners = make(map[*TCPListener]struct{})
	s.ip.SetHandler(wire.ProtoTCP, tcpHandler{s})
	s.ip.SetHandler6(wire.ProtoTCP, tcpHandler{s})
}

// TCPOptions configures a stream socket.
type TCPOptions struct {
	Owner      string         // application label for the socket table
	Local      netip.AddrPort // for Dial: bind here first (port 0: ephemeral)
	ReuseAddr  bool           // SO_REUSEADDR
	ReusePort  bool           // SO_REUSEPORT: a listener group sharing connections by flow hash
	Privileged bool           // may bind below the privileged bound when the stack requires it
	NoDelay    bool           // TCP_NODELAY
	Backlog    int            // listen backlog; default 128 (Linux SOMAXCONN is 4096; Go asks for it)
	// DualStack turns IPV6_V6ONLY off (RFC 3493 §5.3): a listener on the
	// IPv6 wildcard takes IPv4 connections too, and holds its port
	// against IPv4 sockets. Its connections from IPv4 peers are IPv4
	// connections; its MSS is an IPv6 route's, 20 bytes short of what
	// IPv4 allows. Off, an IPv6 socket is IPv6-only, as Go's "tcp6" asks.
	DualStack bool
}

// portOptions are the socket's port options. An IPv6 binding is
// IPV6_V6ONLY (RFC 3493 §5.3) unless DualStack, as a UDP one is: it takes
// no IPv4 connections and does not hold the port against IPv4 sockets;
// the port manager ignores the flag for IPv4 bindings.
func (o TCPOptions) portOptions() port.Options {
	return port.Options{ReuseAddr: o.ReuseAddr, ReusePort: o.ReusePort, Privileged: o.Privileged, V6Only: !o.DualStack}
}

// TCPConn is a stream socket (SOCK_STREAM): connection-oriented, reliable,
// ordered, without duplicates. Every method returns at once; SetNotify
// says when to call again.
type TCPConn struct {
	s     *Stack
	id    uint64
	owner string

	// guarded by s.mu
	c      *tcp.Conn
	b      *port.Binding // nil once released
	ln     *TCPListener  // the listener it came from, until accepted
	queued bool          // in ln's accept queue
	te     timerEntry
	cb     callbacks
	closed bool // the owner let go (Close or Abort)
	gone   bool // CLOSED: out of every table
}

// TCPListener is a listening stream socket.
type TCPListener struct {
	s     *Stack
	id    uint64
	owner string

	// guarded by s.mu
	l       *tcp.Listener
	b       *port.Binding
	backlog int
	cb      callbacks
	closed  bool
}

// mssFor is the MSS to advertise toward dst (RFC 6691: the route's MTU less
// the fixed IP and TCP headers).
func (s *Stack) mssFor(dst netip.Addr) int {
	return s.ip.PathMTU(s.clk.Now(), dst) - headersLen(dst)
}

// headersLen is the fixed IP and TCP headers of a segment to or from a:
// 40 bytes over IPv4, 60 over IPv6 (RFC 8200 §5 and RFC 6691: the MSS of
// an IPv6 route is its MTU less 60).
func headersLen(a netip.Addr) int {
	if a.Is4() {
		return wire.IPv4MinHeaderLen + wire.TCPMinHeaderLen
	}
	return wire.IPv6HeaderLen + wire.TCPMinHeaderLen
}

// DialTCP starts connecting to remote and returns at once, in SYN-SENT.
// The notify callback hears Writable when the connection is established,
// or Closed when it failed (Err says why: ECONNREFUSED, ETIMEDOUT...).
func (s *Stack) DialTCP(remote netip.AddrPort, opts TCPOptions) (*TCPConn, error) {
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return nil, ErrClosed
	}
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	if !remote.Addr().IsValid() || remote.Port() == 0 || remote.Addr().IsUnspecified() {
		return nil, syscall.EINVAL
	}
	if a := opts.Local.Addr().Unmap(); opts.Local.IsValid() && a.Is4() != remote.Addr().Is4() {
		return nil, syscall.EAFNOSUPPORT
	}
	_, src, err := s.ip.Route(remote.Addr())
	if err != nil {
		return nil, err
	}
	tc := &TCPConn{s: s, id: s.newID(), owner: opts.Owner}
	tc.te = timerEntry{index: -1, item: tc}
	req := port.Request{Proto: port.TCP, Local: netip.AddrPortFrom(src, 0), Remote: remote, Opts: opts.portOptions(), Owner: opts.Owner, Endpoint: tc}
	var b *port.Binding
	if opts.Local.IsValid() {
		if a := opts.Local.Addr(); !a.IsUnspecified() {
			if !s.ip.IsLocal(a) {
				return nil, syscall.EADDRNOTAVAIL
			}
			req.Local = netip.AddrPortFrom(a, 0)
		}
		if b, err = s.ports.Bind(port.Request{Proto: port.TCP, Local: opts.Local, Opts: req.Opts, Owner: opts.Owner, Endpoint: tc}); err != nil {
			return nil, err
		}
	}
	nb, err := s.ports.Connect(b, req)
	if err != nil {
		if b != nil {
			b.Release()
		}
		return nil, err
	}
	tc.b = nb
	now := s.clk.Now()
	s.tcp.now = now
	tc.c = tcp.Connect(now, s.tcp.cfg, nb.Local(), remote, s.mssFor(remote.Addr()), tcpOutput{s})
	if opts.NoDelay {
		tc.c.SetNoDelay(now, true)
	}
	s.tcp.byCore[tc.c] = tc
	s.tcpAfter(tc)
	return tc, nil
}

// ListenTCP binds local and listens on it.
func (s *Stack) ListenTCP(local netip.AddrPort, opts TCPOptions) (*TCPListener, error) {
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if a := local.Addr(); a.IsValid() && !a.IsUnspecified() && !s.ip.IsLocal(a) {
		return nil, syscall.EADDRNOTAVAIL
	}
	l := &TCPListener{s: s, id: s.newID(), owner: opts.Owner, backlog: opts.Backlog}
	if l.backlog <= 0 {
		l.backlog = 128
	}
	b, err := s.ports.Bind(port.Request{Proto: port.TCP, Local: local, Opts: opts.portOptions(), Owner: opts.Owner, Endpoint: l})
	if err != nil {
		return nil, err
	}
	if err := b.SetState(port.Listening); err != nil {
		b.Release()
		return nil, err
	}
	l.b = b
	mss := 0
	a := b.Local().Addr()
	if !a.IsUnspecified() {
		mss = s.ip.LocalMTU(a) - headersLen(a)
	} else {
		for _, ifc := range s.ip.Interfaces() {
			mss = max(mss, ifc.MTU()-headersLen(a))
		}
		if mss == 0 {
			mss = 65535 - headersLen(a)
		}
	}
	l.l = tcp.NewListener(s.tcp.cfg, b.Local(), l.backlog, mss, tcpOutput{s})
	s.tcp.listeners[l] = struct{}{}
	return l, nil
}

// tcpOutput emits the core's segments as IPv4 or IPv6 datagrams, by the
// family of the connection's addresses.
type tcpOutput struct{ s *Stack }

func (o tcpOutput) SendSegment(local, remote netip.AddrPort, seg *tcp.Segment) {
	s := o.s
	b := buf.New(buf.Headroom, len(seg.Payload))
	b.Append(seg.Payload)
	r := wire.TCPRepr{SrcPort: local.Port(), DstPort: remote.Port(), Seq: uint32(seg.Seq), Ack: uint32(seg.Ack),
		Flags: seg.Flags, Window: seg.Window, Options: seg.Options}
	b.Prepend(r.HeaderLen())
	r.Emit(b.Bytes(), len(seg.Payload), local.Addr(), remote.Addr())
	// Path MTU discovery (RFC 1191) needs DF; segments fit the MSS
	// chosen from the route, so they never need fragmenting.
	// IPv6 has no identification outside the Fragment header, and TCP
	// never fragments: seg.IPID is IPv4's alone.
	hdr := ip.Header{Src: local.Addr(), Dst: remote.Addr(), Protocol: wire.ProtoTCP, DontFragment: true}
	if remote.Addr().Is4() {
		hdr.HasID, hdr.ID = true, seg.IPID
	}
	s.ip.Send(s.tcp.now, b, hdr)
	b.Release()
}

// tcpHandler is the IP layer's handler for protocol 6, over IPv4 and IPv6.
type tcpHandler struct{ s *Stack }

func (h tcpHandler) HandlePacket(p *ip.Packet) {
	s := h.s
	st := &s.tcp.stats
	src, dst := packetAddrs(p)
	v, err := wire.NewTCP(p.Payload)
	if err != nil || !v.ChecksumValid(src, dst) {
		st.InErrs++
		return
	}
	if dst.IsMulticast() || !s.ip.IsLocal(dst) {
		return // RFC 9293 §3.9.2.1: TCP is unicast only
	}
	r, err := wire.ParseTCP(v)
	if err != nil {
		st.InErrs++
		return
	}
	seg := tcp.Segment{Seq: seq.Value(r.Seq), Ack: seq.Value(r.Ack), Flags: r.Flags, Window: r.Window,
		Options: r.Options, Payload: v.Payload()}
	local := netip.AddrPortFrom(dst, r.DstPort)
	remote := netip.AddrPortFrom(src, r.SrcPort)
	s.tcp.now = p.Now
	ep := s.ports.Lookup(port.TCP, local, remote)
	if tc, ok := ep.(*TCPConn); ok {
		if !tc.c.AcceptsNewSYN(&seg) {
			tc.c.Input(p.Now, &seg)
			s.tcpAfter(tc)
			return
		}
		// A new incarnation of a TIME-WAIT connection (RFC 6191): drop
		// the old one and let the listener have the SYN.
		tc.c.Abort(p.Now)
		s.tcpAfter(tc)
		ep = s.ports.Lookup(port.TCP, local, remote)
	}
	if l, ok := ep.(*TCPListener); ok {
		s.listenerInput(l, p.Now, local, remote, &seg)
		return
	}
	// RFC 9293 §3.10.7.1: a segment for no connection is answered by a reset.
	st.InSegs++
	if rst, ok := tcp.RSTFor(&seg, len(seg.Payload)); ok {
		st.OutRsts++
		st.OutSegs++
		tcpOutput{s}.SendSegment(local, remote, &rst)
	}
}

// HandleError passes an ICMP error to the connection that sent the quoted
// segment (RFC 1122 §4.2.3.9); the core checks the quoted sequence number
// and decides (tcp.Conn.HandleICMP). Errors for no connection are dropped.
func (h tcpHandler) HandleError(e *ip.ICMPError) {
	s := h.s
	if len(e.OrigPayload) < 8 { // ports and sequence number (RFC 792's 64 bits)
		return
	}
	src, dst := quotedAddrs(e)
	local := netip.AddrPortFrom(src, binary.BigEndian.Uint16(e.OrigPayload[0:]))
	remote := netip.AddrPortFrom(dst, binary.BigEndian.Uint16(e.OrigPayload[2:]))
	tc, ok := s.ports.Lookup(port.TCP, local, remote).(*TCPConn)
	if !ok || tc.b.Remote() != remote {
		return
	}
	s.tcp.now = e.Now
	te := tcp.ICMPError{
		Seq:   seq.Value(binary.BigEndian.Uint32(e.OrigPayload[4:])),
		Errno: e.Errno(),
	}
	if e.Is6() {
		te.IPv6 = true
		te.FragNeeded = e.Type == wire.ICMPv6PacketTooBig
		te.PathMTU = int(e.MTU)
		te.DatagramLen = wire.IPv6HeaderLen + e.Original6.PayloadLen()
		te.Hard = fatal6(e.Type, e.Code)
	} else {
		unreach := e.Type == wire.ICMPv4DestUnreachable
		te.FragNeeded = unreach && e.Code == wire.ICMPv4FragNeeded
		te.PathMTU = int(e.MTU)
		te.DatagramLen = e.Original.TotalLen()
		te.Hard = e.Type == wire.ICMPv4TimeExceeded || e.Type == wire.ICMPv4ParamProblem ||
			unreach && (e.Code == wire.ICMPv4NetUnreachable || e.Code == wire.ICMPv4HostUnreachable)
	}
	if tc.c.HandleICMP(e.Now, te) {
		if te.FragNeeded {
			// A connection in flight vouched for the message: later
			// connections to the host start at the path's MTU.
			s.ip.LearnPathMTU(e.Now, remote.Addr(), te.NextHopMTU())
		}
		s.tcpAfter(tc)
	}
}

// fatal6 reports whether an ICMPv6 error ends a half-open passive
// connection, as Linux's icmpv6_err_convert marks it fatal: Destination
// Unreachable but for no route, beyond scope and address unreachable
// (RFC 4443 §3.1 calls those possibly transient), and Parameter Problem.
func fatal6(typ, code uint8) bool {
	switch typ {
	case wire.ICMPv6DestUnreachable:
		return code != wire.ICMPv6NoRoute && code != wire.ICMPv6BeyondScope && code != wire.ICMPv6AddrUnreachable
	case wire.ICMPv6ParamProblem:
		return true
	}
	return false
}

func (s *Stack) listenerInput(l *TCPListener, now time.Time, local, remote netip.AddrPort, seg *tcp.Segment) {
	nc := l.l.Input(now, remote, local, seg)
	if nc != nil {
		tc := &TCPConn{s: s, id: s.newID(), owner: l.owner, c: nc, ln: l}
		tc.te = timerEntry{index: -1, item: tc}
		b, err := s.ports.Accept(l.b, port.Request{Proto: port.TCP, Local: local, Remote: remote, Owner: l.owner, Endpoint: tc})
		if err != nil {
			nc.Abort(now)
			nc.TakeEvents()
		} else {
			tc.b = b
			s.tcp.byCore[nc] = tc
			s.tcpAfter(tc)
		}
	}
	s.listenerEvents(l)
}

func (s *Stack) listenerEvents(l *TCPListener) {
	if l.l.TakeEvents()&tcp.EventAcceptable != 0 && l.cb.fn != nil {
		s.post(l, Readable)
	}
}

// tcpAfter turns a connection's events into callbacks, keeps its binding's
// state, removes it once CLOSED and otherwise re-arms its timer. mu held.
func (s *Stack) tcpAfter(tc *TCPConn) {
	ev := tc.c.TakeEvents()
	if tc.ln != nil {
		if ev&tcp.EventEstablished != 0 {
			tc.queued = true // the core moved it to the accept queue
		}
		s.listenerEvents(tc.ln)
	}
	var post Event
	if ev&(tcp.EventEstablished|tcp.EventWritable) != 0 {
		post |= Writable
	}
	if ev&(tcp.EventReadable|tcp.EventReadClosed) != 0 {
		post |= Readable
	}
	if tc.b != nil && tc.c.State() == tcp.StateTimeWait && tc.b.State() != port.TimeWait {
		tc.b.SetState(port.TimeWait)
	}
	if ev&tcp.EventClosed != 0 || tc.c.State() == tcp.StateClosed {
		s.tcpRemove(tc)
		post |= Closed | Readable | Writable
	} else {
		s.tcpArm(tc)
	}
	if post != 0 && tc.cb.fn != nil {
		s.post(tc, post)
	}
}

func (s *Stack) tcpRemove(tc *TCPConn) {
	if tc.gone {
		return
	}
	tc.gone = true
	if tc.b != nil {
		tc.b.Release()
		tc.b = nil
	}
	s.schedule(&tc.te, time.Time{})
	// A connection still in a listener's accept queue stays findable by
	// TryAccept: Linux hands out connections reset while they waited.
	if tc.ln == nil || !tc.queued {
		delete(s.tcp.byCore, tc.c)
	}
}

func (s *Stack) tcpArm(tc *TCPConn) { s.schedule(&tc.te, tc.c.Deadline()) }

// fire runs the connection's due timers. mu held.
func (tc *TCPConn) fire(now time.Time) {
	if tc.gone {
		return
	}
	tc.s.tcp.now = now
	tc.c.Tick(now)
	tc.s.tcpAfter(tc)
}

func (tc *TCPConn) notify(ev Event) { tc.cb.run(tc.s, ev) }

func (l *TCPListener) notify(ev Event) { l.cb.run(l.s, ev) }

// op runs f on the connection at the current time, then handles events.
func (tc *TCPConn) op(f func(now time.Time) error) error {
	s := tc.s
	s.mu.Lock()
	defer s.unlock()
	if tc.closed {
		return syscall.EBADF
	}
	if s.closed {
		return syscall.ECONNABORTED // the host went away under the connection
	}
	now := s.clk.Now()
	s.tcp.now = now
	err := f(now)
	if !tc.gone {
		s.tcpAfter(tc)
	}
	return err
}

// SetNotify installs the callback told when the connection becomes
// readable (data, end of stream or an error), writable (established, or
// send space freed) or closed. It runs outside the stack's lock.
func (tc *TCPConn) SetNotify(fn func(Event)) {
	tc.cb.set(tc.s, fn, Readable|Writable) // let the owner look at once
}

// TryRead reads without blocking: EWOULDBLOCK when nothing is buffered,
// io.EOF after the peer's FIN, the reset's errno after a reset.
func (tc *TCPConn) TryRead(p []byte) (n int, err error) {
	err = tc.op(func(now time.Time) error {
		var e error
		n, e = tc.c.Read(now, p)
		return e
	})
	return n, err
}

// TryWrite copies what fits of p into the send buffer without blocking:
// EWOULDBLOCK when it is full (Writable follows), EPIPE after CloseWrite.
func (tc *TCPConn) TryWrite(p []byte) (n int, err error) {
	err = tc.op(func(now time.Time) error {
		var e error
		n, e = tc.c.Write(now, p)
		return e
	})
	return n, err
}

// CloseWrite sends a FIN after the buffered data (shutdown(SHUT_WR)).
func (tc *TCPConn) CloseWrite() error { return tc.op(tc.c.CloseWrite) }

// CloseRead stops reading (shutdown(SHUT_RD)).
func (tc *TCPConn) CloseRead() error {
	return tc.op(func(time.Time) error { tc.c.CloseRead(); return nil })
}

// Close lets go of the connection: it finishes on its own (FIN, TIME-WAIT)
// or resets if unread data remains or linger is zero.
func (tc *TCPConn) Close() error {
	err := tc.op(func(now time.Time) error { tc.c.Close(now); return nil })
	tc.markClosed()
	return err
}

// Abort resets the connection at once.
func (tc *TCPConn) Abort() error {
	err := tc.op(func(now time.Time) error { tc.c.Abort(now); return nil })
	tc.markClosed()
	return err
}

func (tc *TCPConn) markClosed() {
	tc.s.mu.Lock()
	tc.closed = true
	tc.cb.fn = nil
	tc.s.mu.Unlock()
}

// SetNoDelay turns Nagle's algorithm off (TCP_NODELAY).
func (tc *TCPConn) SetNoDelay(on bool) error {
	return tc.op(func(now time.Time) error { tc.c.SetNoDelay(now, on); return nil })
}

// SetKeepAlive turns keep-alive probes on or off, with idle time and
// interval (zero keeps the defaults: 2 h, 75 s, 9 probes).
func (tc *TCPConn) SetKeepAlive(on bool, idle, intvl time.Duration) error {
	return tc.op(func(now time.Time) error {
		tc.c.SetKeepAliveParams(idle, intvl, 0)
		tc.c.SetKeepAlive(now, on)
		return nil
	})
}

// SetLinger sets SO_LINGER; on with d == 0 makes Close abort with a RST.
func (tc *TCPConn) SetLinger(on bool, d time.Duration) error {
	return tc.op(func(time.Time) error { tc.c.SetLinger(on, d); return nil })
}

// SetSendBuffer sets SO_SNDBUF: the bytes the connection buffers to send.
func (tc *TCPConn) SetSendBuffer(n int) error {
	return tc.op(func(time.Time) error { tc.c.SetSendBuffer(n); return nil })
}

// SetReceiveBuffer sets SO_RCVBUF: the bytes it buffers received, which is
// the window it offers.
func (tc *TCPConn) SetReceiveBuffer(n int) error {
	return tc.op(func(time.Time) error { tc.c.SetReceiveBuffer(n); return nil })
}

// SetFinWait2Timeout sets TCP_LINGER2: how long a closed connection waits
// in FIN-WAIT-2 for the peer's FIN.
func (tc *TCPConn) SetFinWait2Timeout(d time.Duration) error {
	return tc.op(func(time.Time) error { tc.c.SetFinWait2Timeout(d); return nil })
}

// SetUserTimeout sets TCP_USER_TIMEOUT (RFC 5482).
func (tc *TCPConn) SetUserTimeout(d time.Duration) error {
	return tc.op(func(time.Time) error { tc.c.SetUserTimeout(d); return nil })
}

// State is the connection's RFC 9293 state.
func (tc *TCPConn) State() tcp.State {
	tc.s.mu.Lock()
	defer tc.s.mu.Unlock()
	if tc.s.closed {
		return tcp.StateClosed
	}
	return tc.c.State()
}

// Err is why the connection closed (ECONNREFUSED, ECONNRESET, ETIMEDOUT),
// nil while open or after a clean close.
func (tc *TCPConn) Err() error {
	tc.s.mu.Lock()
	defer tc.s.mu.Unlock()
	if err := tc.c.Err(); err != nil || !tc.s.closed {
		return err
	}
	return syscall.ECONNABORTED
}

// Info is a snapshot for diagnostics.
func (tc *TCPConn) Info() tcp.Info {
	tc.s.mu.Lock()
	defer tc.s.mu.Unlock()
	return tc.c.Info()
}

// LocalAddr and RemoteAddr are the connection's endpoints.
func (tc *TCPConn) LocalAddr() netip.AddrPort  { return tc.c.Local() }
func (tc *TCPConn) RemoteAddr() netip.AddrPort { return tc.c.Remote() }

// SetNotify installs the callback told when a connection waits to be
// accepted (Readable) or the listener closes.
func (l *TCPListener) SetNotify(fn func(Event)) {
	l.s.mu.Lock()
	var initial Event
	if l.l.Pending() > 0 {
		initial = Readable
	}
	l.s.mu.Unlock()
	l.cb.set(l.s, fn, initial)
}

// TryAccept takes an established connection without blocking;
// EWOULDBLOCK when none waits.
func (l *TCPListener) TryAccept() (*TCPConn, error) {
	s := l.s
	s.mu.Lock()
	defer s.unlock()
	if l.closed {
		return nil, syscall.EBADF
	}
	nc := l.l.Accept()
	if nc == nil {
		return nil, syscall.EWOULDBLOCK
	}
	tc := s.tcp.byCore[nc]
	if tc == nil { // cannot happen: every queued conn was registered
		return nil, syscall.ECONNABORTED
	}
	tc.ln, tc.queued = nil, false
	if tc.gone {
		delete(s.tcp.byCore, nc) // reset while it waited: hand it out all the same
	}
	return tc, nil
}

// Addr is the listening address.
func (l *TCPListener) Addr() netip.AddrPort { return l.b.Local() }

// Close stops listening; connections not yet accepted are reset.
func (l *TCPListener) Close() error {
	s := l.s
	s.mu.Lock()
	defer s.unlock()
	if l.closed {
		return syscall.EBADF
	}
	l.close(s)
	return nil
}

func (l *TCPListener) close(s *Stack) {
	l.closed = true
	now := s.clk.Now()
	s.tcp.now = now
	for _, c := range l.l.Close(now) {
		if tc := s.tcp.byCore[c]; tc != nil {
			tc.ln, tc.queued = nil, false
			s.tcpAfter(tc)
			s.tcpRemove(tc)
		}
	}
	l.b.Release()
	delete(s.tcp.listeners, l)
	if l.cb.fn != nil {
		s.post(l, Closed)
	}
}

// closeAllTCP drops every connection and listener without a word on the
// wire, as a crashed host would. mu held.
func (s *Stack) closeAllTCP() {
	for l := range s.tcp.listeners {
		l.closed = true
		l.b.Release()
		if l.cb.fn != nil {
			s.post(l, Closed)
		}
	}
	s.tcp.listeners = map[*TCPListener]struct{}{}
	for _, tc := range s.tcp.byCore {
		s.tcpRemove(tc)
		if tc.cb.fn != nil {
			s.post(tc, Closed|Readable|Writable)
		}
	}
	s.tcp.byCore = map[*tcp.Conn]*TCPConn{}
}

// tcpSockets adds the TCP rows of the socket table.
func (s *Stack) tcpSockets(out *[]SocketInfo, pid int) {
	for l := range s.tcp.listeners {
		*out = append(*out, SocketInfo{ID: l.id, Proto: "tcp", Protocol: 6, Local: l.b.Local(), State: "LISTEN",
			Owner: l.owner, PID: pid, RecvQ: l.l.Pending(), SendQ: l.backlog})
	}
	for _, tc := range s.tcp.byCore {
		if tc.gone {
			continue
		}
		in := tc.c.Info()
		*out = append(*out, SocketInfo{ID: tc.id, Proto: "tcp", Protocol: 6, Local: tc.c.Local(), Remote: tc.c.Remote(),
			State: in.State.String(), Owner: tc.owner, PID: pid, RecvQ: in.RecvQueue, SendQ: in.SendQueue,
			RTT: in.RTT, RTO: in.RTO, MSS: in.SndMSS, Cwnd: in.Cwnd, Ssthresh: in.Ssthresh, Retransmits: uint64(in.Retransmits),
			RxPackets: uint64(in.SegsIn), TxPackets: uint64(in.SegsOut), RxBytes: in.BytesReceived, TxBytes: in.BytesAcked})
	}
}
