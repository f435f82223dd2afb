package stack

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"

	"berth/buf"
	"berth/ip"
	"berth/port"
	"berth/udp"
	"berth/wire"
)

// UDPSocket is a datagram socket (SOCK_DGRAM): connectionless, each
// datagram addressed on its own, may be lost, duplicated or reordered.
// Every method returns at once; SetNotify says when to call again.
type UDPSocket struct {
	s     *Stack
	id    uint64
	owner string
	opts  port.Options

	// guarded by s.mu
	ep     *udp.Endpoint
	b      *port.Binding // nil until bound (explicitly or on first send)
	closed bool
	v6     bool // bound to an IPv6 address: AF_INET6, IPv4 peers shown IPv4-mapped
	cb     callbacks
	ipIDs  uint16 // datagrams sent to the connected peer (IPv4 identification)
}

// UDPOptions configures a datagram socket.
type UDPOptions struct {
	Owner      string // application label for the socket table
	ReuseAddr  bool   // SO_REUSEADDR
	ReusePort  bool   // SO_REUSEPORT: datagrams spread over the group by flow hash
	Privileged bool   // may bind below the privileged bound when the stack requires it
	RecvBuffer int    // receive queue bytes; default 208 KiB (Linux rmem_default)
	// DualStack turns IPV6_V6ONLY off (RFC 3493 §5.3): a socket bound to
	// the IPv6 wildcard then receives IPv4 datagrams too, their sources
	// IPv4-mapped (RFC 4291 §2.5.5.2), can send to IPv4 addresses, and
	// holds its port against IPv4 sockets. Off, an IPv6 socket is
	// IPv6-only, as Go's "udp6" asks.
	DualStack bool
}

// OpenUDP opens an unbound datagram socket.
func (s *Stack) OpenUDP(opts UDPOptions) (*UDPSocket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	rcv := opts.RecvBuffer
	if rcv == 0 {
		rcv = 212992
	}
	// An IPv6 binding is IPV6_V6ONLY (RFC 3493 §5.3) unless DualStack: it
	// neither receives IPv4 nor conflicts with an IPv4 binding of the
	// port. The port manager ignores the flag for IPv4 bindings.
	u := &UDPSocket{s: s, id: s.newID(), owner: opts.Owner, ep: udp.NewEndpoint(rcv),
		opts: port.Options{ReuseAddr: opts.ReuseAddr, ReusePort: opts.ReusePort, Privileged: opts.Privileged, V6Only: !opts.DualStack}}
	s.udp.open[u] = struct{}{}
	return u, nil
}

// udpTable is the stack's UDP state.
type udpTable struct {
	stats udp.Stats
	open  map[*UDPSocket]struct{}
}

func (u *UDPSocket) request(local, remote netip.AddrPort) port.Request {
	return port.Request{Proto: port.UDP, Local: local, Remote: remote, Opts: u.opts, Owner: u.owner, Endpoint: u}
}

// Bind binds the socket to local; port 0 picks an ephemeral port.
func (u *UDPSocket) Bind(local netip.AddrPort) error {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.closed {
		return syscall.EBADF
	}
	if u.b != nil {
		return syscall.EINVAL
	}
	a := local.Addr()
	if a.IsValid() && !a.IsUnspecified() && !s.ip.IsLocal(a) {
		return syscall.EADDRNOTAVAIL
	}
	b, err := s.ports.Bind(u.request(local, netip.AddrPort{}))
	if err != nil {
		return err
	}
	u.setBinding(b)
	return nil
}

// setBinding records the socket's first binding, which fixes its family.
func (u *UDPSocket) setBinding(b *port.Binding) {
	if u.b == nil {
		u.v6 = b.Local().Addr().Is6()
	}
	u.b = b
}

// dual reports whether the socket is an IPv6 one that talks to IPv4
// peers too (DualStack, bound to the wildcard). mu held.
func (u *UDPSocket) dual() bool {
	return u.v6 && !u.opts.V6Only && u.b.Local().Addr().IsUnspecified()
}

// show is how the socket names an address: an AF_INET6 socket names IPv4
// peers by their IPv4-mapped addresses (RFC 4291 §2.5.5.2).
func (u *UDPSocket) show(ap netip.AddrPort) netip.AddrPort {
	if u.v6 && ap.Addr().Is4() {
		return netip.AddrPortFrom(netip.AddrFrom16(ap.Addr().As16()), ap.Port())
	}
	return ap
}

// Connect fixes the peer: sends go to it by default and only its datagrams
// are received; ICMP errors about it are reported on the next call.
// An unbound socket gets an ephemeral port (RFC 6056 algorithm 4).
func (u *UDPSocket) Connect(remote netip.AddrPort) error {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.closed {
		return syscall.EBADF
	}
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	if !remote.Addr().IsValid() || remote.Port() == 0 {
		return syscall.EINVAL
	}
	if !u.family(remote.Addr()) {
		return syscall.EAFNOSUPPORT
	}
	_, src, err := s.ip.Route(remote.Addr())
	if err != nil {
		return err
	}
	if u.b != nil && !u.b.Local().Addr().IsUnspecified() {
		src = u.b.Local().Addr()
	}
	b, err := s.ports.Connect(u.b, u.request(netip.AddrPortFrom(src, 0), remote))
	if err != nil {
		return err
	}
	u.setBinding(b)
	return nil
}

// family reports whether the socket may talk to a: an unbound socket
// takes the family of its first peer; a bound one keeps its address's,
// and a dual-stack one takes both. mu held.
func (u *UDPSocket) family(a netip.Addr) bool {
	return u.b == nil || u.dual() || u.b.Local().Addr().Is4() == a.Is4()
}

// wildcard is the unspecified address of a's family.
func wildcard(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// maxPayload is the largest UDP payload toward a: 65,535 less the IPv4 and
// UDP headers over IPv4; over IPv6, whose Payload Length excludes its own
// header, 65,535 less the UDP header (no jumbograms, RFC 2675).
func maxPayload(a netip.Addr) int {
	if a.Is4() {
		return udp.MaxPayload
	}
	return 0xffff - wire.UDPHeaderLen
}

// LocalAddr is the bound address and port (invalid before binding).
func (u *UDPSocket) LocalAddr() netip.AddrPort {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	if u.b == nil {
		return netip.AddrPort{}
	}
	return u.show(u.b.Local())
}

// RemoteAddr is the connected peer (invalid when unconnected).
func (u *UDPSocket) RemoteAddr() netip.AddrPort {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	if u.b == nil || !u.b.Remote().IsValid() {
		return netip.AddrPort{}
	}
	return u.show(u.b.Remote())
}

// SetNotify installs the callback told when the socket becomes readable
// (a datagram or an error waits) or closes. It runs outside the stack's
// lock; nil removes it.
//
// Readable is an edge: it fires when the queue goes from empty to not, so
// read until EWOULDBLOCK before waiting for the next one.
func (u *UDPSocket) SetNotify(fn func(Event)) {
	u.s.mu.Lock()
	var initial Event
	if n, _ := u.ep.Queued(); n > 0 || u.ep.HasError() {
		initial = Readable
	}
	u.s.mu.Unlock()
	u.cb.set(u.s, fn, initial)
}

func (u *UDPSocket) notify(ev Event) { u.cb.run(u.s, ev) }

// TryRecv copies the oldest datagram into p without blocking and returns
// its length (truncated to len(p), the rest lost, as recvfrom does) and
// sender. A pending ICMP error is returned first, once. EWOULDBLOCK means
// the queue is empty.
func (u *UDPSocket) TryRecv(p []byte) (n int, from netip.AddrPort, err error) {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	if u.closed {
		return 0, netip.AddrPort{}, syscall.EBADF
	}
	if e := u.ep.TakeError(); e != 0 {
		return 0, netip.AddrPort{}, e
	}
	n, _, from, ok := u.ep.Dequeue(p)
	if !ok {
		return 0, netip.AddrPort{}, syscall.EWOULDBLOCK
	}
	return n, u.show(from), nil
}

// SendTo sends one datagram to dst (the connected peer when dst is
// invalid). An unbound socket is bound to an ephemeral port first. It
// returns EMSGSIZE beyond 65,507 bytes over IPv4 and 65,527 over IPv6, a
// pending ICMP error once, EAFNOSUPPORT for a destination of the other
// family than the socket's, and the routing error when dst is unreachable.
func (u *UDPSocket) SendTo(p []byte, dst netip.AddrPort) error {
	s := u.s
	s.mu.Lock()
	defer s.unlock()
	if u.closed {
		return syscall.EBADF
	}
	if e := u.ep.TakeError(); e != 0 {
		return e
	}
	if !dst.IsValid() {
		if u.b == nil || !u.b.Remote().IsValid() {
			return syscall.EDESTADDRREQ
		}
		dst = u.b.Remote()
	}
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	if !dst.Addr().IsValid() || dst.Port() == 0 {
		return syscall.EINVAL
	}
	if !u.family(dst.Addr()) {
		return syscall.EAFNOSUPPORT
	}
	if len(p) > maxPayload(dst.Addr()) {
		return syscall.EMSGSIZE
	}
	_, src, err := s.ip.Route(dst.Addr())
	if err != nil {
		return err
	}
	if u.b == nil {
		b, err := s.ports.Bind(u.request(netip.AddrPortFrom(wildcard(dst.Addr()), 0), netip.AddrPort{}))
		if err != nil {
			return err
		}
		u.setBinding(b)
	}
	local := u.b.Local()
	if !local.Addr().IsUnspecified() {
		src = local.Addr()
	}
	b := buf.From(buf.Headroom, p)
	defer b.Release()
	udp.Encode(b, netip.AddrPortFrom(src, local.Port()), dst)
	hdr := ip.Header{Src: src, Dst: dst.Addr(), Protocol: uint8(port.UDP)}
	if dst == u.b.Remote() && dst.Addr().Is4() {
		// A connected socket numbers its own datagrams (RFC 6864 §4.1,
		// Linux's inet_id): its IDs do not depend on other sockets.
		hdr.HasID, hdr.ID = true, s.ip.FlowID(netip.AddrPortFrom(src, local.Port()), dst, hdr.Protocol)+u.ipIDs
		u.ipIDs++
	}
	if err := s.ip.Send(s.clk.Now(), b, hdr); err != nil {
		s.udp.stats.SndbufErrors++
		return err
	}
	u.ep.TxDatagrams++
	s.udp.stats.OutDatagrams++
	return nil
}

// Close releases the port and drops what was queued.
func (u *UDPSocket) Close() error {
	s := u.s
	s.mu.Lock()
	if u.closed {
		s.mu.Unlock()
		return syscall.EBADF
	}
	u.close(s)
	s.unlock()
	return nil
}

// close detaches u; mu must be held.
func (u *UDPSocket) close(s *Stack) {
	u.closed = true
	if u.b != nil {
		u.b.Release()
	}
	u.ep.Clear()
	delete(s.udp.open, u)
	if u.cb.fn != nil {
		s.post(u, Closed)
	}
}

// udpHandler is the IP layer's handler for protocol 17, over IPv4 and IPv6.
type udpHandler struct{ s *Stack }

// packetAddrs are the source and destination of p, of either family.
func packetAddrs(p *ip.Packet) (src, dst netip.Addr) {
	if p.Header6 != nil {
		return p.Header6.Src(), p.Header6.Dst()
	}
	return p.Header.Src(), p.Header.Dst()
}

// quotedAddrs are the source and destination of the datagram an ICMP or
// ICMPv6 error quotes.
func quotedAddrs(e *ip.ICMPError) (src, dst netip.Addr) {
	if e.Is6() {
		return e.Original6.Src(), e.Original6.Dst()
	}
	return e.Original.Src(), e.Original.Dst()
}

func (h udpHandler) HandlePacket(p *ip.Packet) {
	s := h.s
	src, dst := packetAddrs(p)
	// Over IPv6 a zero checksum fails here: it is mandatory (RFC 8200
	// §8.1), and the datagram is counted in InCsumErrors.
	d, err := udp.Parse(src, dst, p.Payload)
	if err != nil {
		s.udp.stats.InErrors++
		if errors.Is(err, udp.ErrChecksum) {
			s.udp.stats.InCsumErrors++
		}
		return
	}
	local := netip.AddrPortFrom(dst, d.DstPort())
	remote := netip.AddrPortFrom(src, d.SrcPort())
	ep, _ := s.ports.Lookup(port.UDP, local, remote).(*UDPSocket)
	if ep == nil {
		// RFC 1122 §4.1.3.1: port unreachable for a port nobody holds
		// (SendError keeps quiet about broadcasts and rate-limits).
		// RFC 4443 §3.1: code 4 over IPv6; SendError6 keeps quiet about
		// multicast (§2.4(e.3)).
		s.udp.stats.NoPorts++
		if p.Header6 != nil {
			s.ip.SendError6(p.Now, p.Header6, wire.ICMPv6DestUnreachable, wire.ICMPv6PortUnreachable, 0)
		} else {
			s.ip.SendError(p.Now, p.Header, wire.ICMPv4DestUnreachable, wire.ICMPv4PortUnreachable, 0)
		}
		return
	}
	wasEmpty, _ := ep.ep.Queued()
	if !ep.ep.Enqueue(remote, d.Payload()) {
		s.udp.stats.RcvbufErrors++
		s.udp.stats.InErrors++
		return
	}
	s.udp.stats.InDatagrams++
	if wasEmpty == 0 && ep.cb.fn != nil { // Readable is an edge: read until EWOULDBLOCK
		s.post(ep, Readable)
	}
}

// HandleError reports an ICMP error to the connected socket that sent the
// quoted datagram; unconnected sockets do not hear of it, as on Linux
// without IP_RECVERR.
func (h udpHandler) HandleError(e *ip.ICMPError) {
	s := h.s
	if len(e.OrigPayload) < 4 {
		return
	}
	src, dst := quotedAddrs(e)
	local := netip.AddrPortFrom(src, binary.BigEndian.Uint16(e.OrigPayload[0:]))
	remote := netip.AddrPortFrom(dst, binary.BigEndian.Uint16(e.OrigPayload[2:]))
	b := s.ports.LookupBinding(port.UDP, local, remote)
	if b == nil || b.Remote() != remote {
		return
	}
	u, _ := b.Endpoint().(*UDPSocket)
	if u == nil {
		return
	}
	if e.Is6() && e.Type == wire.ICMPv6PacketTooBig {
		// RFC 8201 §4: the path MTU follows Packet Too Big (never below
		// 1280, LearnPathMTU sees to it); the quote named a connected
		// socket's 4-tuple, which vouches for the message.
		s.ip.LearnPathMTU(e.Now, remote.Addr(), int(e.MTU))
	}
	u.ep.SetError(e.Errno())
	if u.cb.fn != nil {
		s.post(u, Readable)
	}
}
