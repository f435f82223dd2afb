package stack

import (
	"net/netip"
	"syscall"

	"berth/buf"
	"berth/ip"
	"berth/wire"
)

// RawSocket is a raw IPv4 socket of one protocol (SOCK_RAW): it receives a
// copy of every inbound datagram of that protocol, also those the stack
// answers itself (ICMP echo), and sends datagrams whose header the stack
// builds or, with header inclusion, the caller built.
type RawSocket struct {
	s     *Stack
	id    uint64
	owner string
	proto uint8

	// guarded by s.mu
	local, remote netip.Addr // filters once bound or connected
	hdrIncl       bool
	q             buf.Queue
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
	byProto map[uint8][]*RawSocket
	stats   RawStats
}

// OpenRaw opens a raw socket for IP protocol proto.
func (s *Stack) OpenRaw(proto uint8, opts RawOptions) (*RawSocket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	rcv := opts.RecvBuffer
	if rcv == 0 {
		rcv = 212992
	}
	r := &RawSocket{s: s, id: s.newID(), owner: opts.Owner, proto: proto, hdrIncl: opts.HeaderIncluded}
	r.q.MaxBytes = rcv
	if s.raw.byProto == nil {
		s.raw.byProto = make(map[uint8][]*RawSocket)
	}
	s.raw.byProto[proto] = append(s.raw.byProto[proto], r)
	return r, nil
}

// rawInput is the IP layer's tap: a copy to each matching raw socket.
func (s *Stack) rawInput(p *ip.Packet) bool {
	socks := s.raw.byProto[p.Header.Protocol()]
	taken := false
	for _, r := range socks {
		if (r.local.IsValid() && r.local != p.Header.Dst()) || (r.remote.IsValid() && r.remote != p.Header.Src()) {
			continue
		}
		taken = true
		b := buf.From(0, p.Header)
		wasEmpty := r.q.Len() == 0
		if !r.q.Push(b) {
			b.Release()
			r.drops++
			s.raw.stats.RcvbufErrors++
			continue
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

// Bind receives only datagrams addressed to a and sends from it.
func (r *RawSocket) Bind(a netip.Addr) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.closed {
		return syscall.EBADF
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

// Connect receives only datagrams from a and sends to it by default.
func (r *RawSocket) Connect(a netip.Addr) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.closed {
		return syscall.EBADF
	}
	r.remote = a
	return nil
}

// LocalAddr and RemoteAddr return the bound and connected addresses.
func (r *RawSocket) LocalAddr() netip.Addr  { r.s.mu.Lock(); defer r.s.mu.Unlock(); return r.local }
func (r *RawSocket) RemoteAddr() netip.Addr { r.s.mu.Lock(); defer r.s.mu.Unlock(); return r.remote }

// Protocol is the socket's IP protocol number.
func (r *RawSocket) Protocol() uint8 { return r.proto }

// TryRead copies the oldest datagram, IP header included as Linux delivers
// it on IPv4 raw sockets, into p without blocking. It returns the sender,
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
	from = netip.AddrFrom4([4]byte(d[12:16])) // a queued datagram passed NewIPv4
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
	list := s.raw.byProto[r.proto]
	for i, x := range list {
		if x == r {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.raw.byProto, r.proto)
	} else {
		s.raw.byProto[r.proto] = list
	}
	if r.cb.fn != nil {
		s.post(r, Closed)
	}
}

func (t *rawTable) closeAll(s *Stack) {
	for _, list := range t.byProto {
		for _, r := range list {
			r.closed = true
			r.q.Clear()
			if r.cb.fn != nil {
				s.post(r, Closed)
			}
		}
	}
	t.byProto = nil
}
