package stack

import (
	"net/netip"
	"syscall"

	"berth/buf"
	"berth/ip"
	"berth/wire"
)

// RawSocket is a raw socket of one protocol (SOCK_RAW), IPv4 (OpenRaw) or
// IPv6 (OpenRaw6) for its whole life: it receives a copy of every inbound
// datagram of that protocol and family, also those the stack answers
// itself (echo requests), and sends datagrams whose header the stack
// builds or, on IPv4 with header inclusion, the caller built.
type RawSocket struct {
	s     *Stack
	id    uint64
	owner string
	proto uint8
	v6    bool

	// guarded by s.mu
	local, remote netip.Addr // filters once bound or connected
	hdrIncl       bool
	q             buf.Queue
	from6         []netip.Addr // IPv6: the source of each queued payload, in q's order
	drops         uint64
	rxPackets     uint64
	txPackets     uint64
	closed        bool
	cb            callbacks
}

// RawOptions configures a raw socket.
type RawOptions struct {
	Owner string // application label for the socket table
	// HeaderIncluded: Send takes whole datagrams (IP_HDRINCL).
	HeaderIncluded bool
	// RecvBuffer bounds the receive queue in bytes; default 208 KiB (Linux rmem_default).
	RecvBuffer int
}

type rawTable struct {
	byProto  map[uint8][]*RawSocket // IPv4 sockets
	byProto6 map[uint8][]*RawSocket // IPv6 sockets
	stats    RawStats
}

// sockets is the table of the family v6 says.
func (t *rawTable) sockets(v6 bool) *map[uint8][]*RawSocket {
	if v6 {
		return &t.byProto6
	}
	return &t.byProto
}

// OpenRaw opens a raw IPv4 socket for IP protocol proto.
func (s *Stack) OpenRaw(proto uint8, opts RawOptions) (*RawSocket, error) {
	return s.openRaw(proto, false, opts)
}

func (s *Stack) openRaw(proto uint8, v6 bool, opts RawOptions) (*RawSocket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	rcv := opts.RecvBuffer
	if rcv == 0 {
		rcv = 212992
	}
	r := &RawSocket{s: s, id: s.newID(), owner: opts.Owner, proto: proto, v6: v6, hdrIncl: opts.HeaderIncluded}
	r.q.MaxBytes = rcv
	m := s.raw.sockets(v6)
	if *m == nil {
		*m = make(map[uint8][]*RawSocket)
	}
	(*m)[proto] = append((*m)[proto], r)
	return r, nil
}

// rawInput is the IP layer's tap: a copy to each matching raw socket of
// the packet's family.
func (s *Stack) rawInput(p *ip.Packet) bool {
	if p.Header6 != nil {
		return s.rawInput6(p)
	}
	h := p.Header
	return s.rawDeliver(s.raw.byProto[p.Protocol], h.Src(), h.Dst(), h, false)
}

// rawDeliver queues data, a packet from src to dst, to each socket of
// socks that its bind and connect filters let through, and reports
// whether any matched. IPv6 sockets keep the source beside the queue,
// since their data has no header to carry it.
func (s *Stack) rawDeliver(socks []*RawSocket, src, dst netip.Addr, data []byte, v6 bool) bool {
	taken := false
	for _, r := range socks {
		if (r.local.IsValid() && r.local != dst) || (r.remote.IsValid() && r.remote != src) {
			continue
		}
		taken = true
		b := buf.From(0, data)
		wasEmpty := r.q.Len() == 0
		if !r.q.Push(b) {
			b.Release()
			r.drops++
			s.raw.stats.RcvbufErrors++
			continue
		}
		if v6 {
			r.from6 = append(r.from6, src)
		}
		r.rxPackets++
		s.raw.stats.InDelivers++
		if wasEmpty && r.cb.fn != nil { // Readable is an edge: read until EWOULDBLOCK
			s.post(r, Readable)
		}
	}
	return taken
}

func (r *RawSocket) notify(ev Event) { r.cb.run(r.s, ev) }

// SetNotify installs the callback told when the socket becomes readable or
// is closed. It runs outside the stack's lock; nil removes it.
func (r *RawSocket) SetNotify(fn func(Event)) {
	r.s.mu.Lock()
	var initial Event
	if r.q.Len() > 0 {
		initial = Readable
	}
	r.s.mu.Unlock()
	r.cb.set(r.s, fn, initial)
}

// Bind receives only datagrams addressed to a and sends from it. An IPv6
// socket takes IPv6 addresses only (EAFNOSUPPORT).
func (r *RawSocket) Bind(a netip.Addr) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.closed {
		return syscall.EBADF
	}
	if r.v6 && a.IsValid() && !is6(a) {
		return syscall.EAFNOSUPPORT
	}
	if a.IsValid() && !a.IsUnspecified() && !r.s.ip.IsLocal(a) {
		return syscall.EADDRNOTAVAIL
	}
	if a.IsUnspecified() {
		a = netip.Addr{}
	}
	r.local = a
	return nil
}

// Connect receives only datagrams from a and sends to it by default. An
// IPv6 socket takes IPv6 addresses only (EAFNOSUPPORT).
func (r *RawSocket) Connect(a netip.Addr) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.closed {
		return syscall.EBADF
	}
	if r.v6 && a.IsValid() && !is6(a) {
		return syscall.EAFNOSUPPORT
	}
	r.remote = a
	return nil
}

// LocalAddr and RemoteAddr return the bound and connected addresses.
func (r *RawSocket) LocalAddr() netip.Addr  { r.s.mu.Lock(); defer r.s.mu.Unlock(); return r.local }
func (r *RawSocket) RemoteAddr() netip.Addr { r.s.mu.Lock(); defer r.s.mu.Unlock(); return r.remote }

// Protocol is the socket's IP protocol number.
func (r *RawSocket) Protocol() uint8 { return r.proto }

// Is6 reports whether the socket is an IPv6 one (OpenRaw6).
func (r *RawSocket) Is6() bool { return r.v6 }

// TryRead copies the oldest datagram into p without blocking: on IPv4 the
// whole datagram, IP header included, as Linux delivers it on IPv4 raw
// sockets; on IPv6 the upper-layer payload alone, with neither the IPv6
// header nor extension headers (RFC 3542 §3). It returns the sender,
// EWOULDBLOCK (EAGAIN) when the queue is empty, and truncates like recvfrom.
func (r *RawSocket) TryRead(p []byte) (n int, from netip.Addr, err error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.closed {
		return 0, netip.Addr{}, syscall.EBADF
	}
	b := r.q.Pop()
	if b == nil {
		return 0, netip.Addr{}, syscall.EWOULDBLOCK
	}
	d := b.Bytes()
	n = copy(p, d)
	if r.v6 {
		from = r.from6[0]
		r.from6 = r.from6[1:]
	} else {
		from = netip.AddrFrom4([4]byte(d[12:16])) // a queued datagram passed NewIPv4
	}
	b.Release()
	return n, from, nil
}

// Send sends p to dst (or the connected address when dst is invalid). The
// stack builds the IP header unless the socket includes headers, in which
// case p is a whole datagram, validated before it goes anywhere.
func (r *RawSocket) Send(p []byte, dst netip.Addr) error {
	s := r.s
	s.mu.Lock()
	defer s.unlock()
	if r.closed {
		return syscall.EBADF
	}
	now := s.clk.Now()
	s.raw.stats.OutRequests++
	if r.v6 {
		return r.send6(now, p, dst)
	}
	if r.hdrIncl {
		if err := s.ip.SendRaw(now, p); err != nil {
			return err
		}
		r.txPackets++
		return nil
	}
	if !dst.IsValid() {
		dst = r.remote
	}
	if !dst.IsValid() {
		return syscall.EDESTADDRREQ
	}
	if dst = dst.Unmap(); !dst.Is4() {
		return syscall.EAFNOSUPPORT // an ip4: socket; raw IPv6 sockets are not built yet
	}
	if len(p) > 65535-wire.IPv4MinHeaderLen {
		return syscall.EMSGSIZE
	}
	b := buf.From(buf.Headroom, p)
	defer b.Release()
	if err := s.ip.Send(now, b, ip.Header{Src: r.local, Dst: dst, Protocol: r.proto}); err != nil {
		return err
	}
	r.txPackets++
	return nil
}

// Close removes the socket and drops what it had queued.
func (r *RawSocket) Close() error {
	s := r.s
	s.mu.Lock()
	if r.closed {
		s.mu.Unlock()
		return syscall.EBADF
	}
	r.close(s)
	s.unlock()
	return nil
}

// close detaches r; mu must be held.
func (r *RawSocket) close(s *Stack) {
	r.closed = true
	r.q.Clear()
	r.from6 = nil
	m := s.raw.sockets(r.v6)
	list := (*m)[r.proto]
	for i, x := range list {
		if x == r {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(*m, r.proto)
	} else {
		(*m)[r.proto] = list
	}
	if r.cb.fn != nil {
		s.post(r, Closed)
	}
}

func (t *rawTable) closeAll(s *Stack) {
	for _, m := range []map[uint8][]*RawSocket{t.byProto, t.byProto6} {
		for _, list := range m {
			for _, r := range list {
				r.closed = true
				r.q.Clear()
				r.from6 = nil
				if r.cb.fn != nil {
					s.post(r, Closed)
				}
			}
		}
	}
	t.byProto, t.byProto6 = nil, nil
}

// row is the socket's line in the socket table; mu must be held. The
// family shows in the addresses: an unbound IPv6 socket is on [::], as
// ss prints it.
func (r *RawSocket) row(pid int) SocketInfo {
	unspec := netip.IPv4Unspecified()
	if r.v6 {
		unspec = netip.IPv6Unspecified()
	}
	si := SocketInfo{ID: r.id, Proto: "raw", Protocol: r.proto, Owner: r.owner, PID: pid,
		Local: netip.AddrPortFrom(unspec, 0), State: "UNCONN",
		RecvQ: r.q.Bytes(), RxPackets: r.rxPackets, TxPackets: r.txPackets, Drops: r.drops}
	if r.local.IsValid() {
		si.Local = netip.AddrPortFrom(r.local, 0)
	}
	if r.remote.IsValid() {
		si.Remote = netip.AddrPortFrom(r.remote, 0)
		si.State = "ESTAB"
	}
	return si
}
