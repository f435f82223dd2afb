package socket

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"berth/stack"
	"berth/wire"
)

// dgram is what a datagram-style stack socket offers the adapter.
type dgram interface {
	tryRecv(p []byte) (int, netip.AddrPort, error)
	send(p []byte, to netip.AddrPort) error
	setNotify(func(stack.Event))
	local() netip.AddrPort
	remote() netip.AddrPort
	close() error
}

// PacketConn is a blocking datagram or raw socket. It is a net.PacketConn
// and, once connected, a net.Conn.
type PacketConn struct {
	sock    dgram
	network string // "udp", "udp4", "udp6", "ip4:icmp", ...
	// raw: a raw socket, whose addresses are *net.IPAddr. On IPv4 read
	// strips the IP header, as Go's net does on Linux; an IPv6 raw socket
	// receives the payload alone already (RFC 3542 §3).
	raw bool

	ready     chan struct{}
	closeOnce sync.Once
	done      chan struct{}
	rd, wd    *deadline
}

func newPacketConn(s dgram, network string, raw bool) *PacketConn {
	c := &PacketConn{sock: s, network: network, raw: raw,
		ready: make(chan struct{}, 1), done: make(chan struct{}), rd: newDeadline(), wd: newDeadline()}
	s.setNotify(func(ev stack.Event) {
		select {
		case c.ready <- struct{}{}:
		default:
		}
	})
	return c
}

// NewUDP wraps a stack datagram socket; network is "udp", "udp4" or "udp6".
func NewUDP(u *stack.UDPSocket, network string) *PacketConn {
	return newPacketConn(udpSock{u}, network, false)
}

// NewRaw wraps a stack raw socket; network is like "ip4:icmp", "ip4:253"
// or "ip6:ipv6-icmp".
func NewRaw(r *stack.RawSocket, network string) *PacketConn {
	return newPacketConn(rawSock{r}, network, true)
}

func (c *PacketConn) addr(ap netip.AddrPort) net.Addr {
	if !ap.IsValid() {
		return nil
	}
	if c.raw {
		return &net.IPAddr{IP: net.IP(ap.Addr().AsSlice())}
	}
	return net.UDPAddrFromAddrPort(ap)
}

// opError builds the error Go's net returns for op.
func (c *PacketConn) opError(op, syscallName string, remote net.Addr, err error) error {
	if errno, ok := err.(syscall.Errno); ok {
		if errno == syscall.EBADF {
			err = net.ErrClosed
		} else {
			err = os.NewSyscallError(syscallName, errno)
		}
	}
	return &net.OpError{Op: op, Net: c.network, Source: c.addr(c.sock.local()), Addr: remote, Err: err}
}

// ReadFrom reads one datagram, blocking until one arrives, the read
// deadline passes or the conn closes.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.read(p)
	if err != nil {
		return n, nil, c.opError("read", "recvfrom", nil, err)
	}
	return n, c.addr(from), nil
}

// ReadFromUDPAddrPort is ReadFrom with a netip source, allocation free.
func (c *PacketConn) ReadFromUDPAddrPort(p []byte) (int, netip.AddrPort, error) {
	n, from, err := c.read(p)
	if err != nil {
		return n, from, c.opError("read", "recvfrom", nil, err)
	}
	return n, from, nil
}

func (c *PacketConn) read(p []byte) (int, netip.AddrPort, error) {
	for {
		if isClosed(c.done) {
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		if isClosed(c.rd.wait()) {
			return 0, netip.AddrPort{}, os.ErrDeadlineExceeded
		}
		n, from, err := c.sock.tryRecv(p)
		if err == nil {
			if c.raw && !from.Addr().Is6() {
				n = stripIPv4(p, n)
			}
			return n, from, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return 0, netip.AddrPort{}, err
		}
		select {
		case <-c.ready:
		case <-c.rd.wait():
		case <-c.done:
		}
	}
}

// stripIPv4 removes the IPv4 header from the datagram in p[:n].
func stripIPv4(p []byte, n int) int {
	if n < wire.IPv4MinHeaderLen {
		return n
	}
	hl := int(p[0]&0x0f) * 4
	if hl > n {
		return n
	}
	return copy(p, p[hl:n])
}

// WriteTo sends one datagram to addr.
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	to, err := c.parseAddr(addr)
	if err != nil {
		return 0, c.opError("write", "sendto", addr, err)
	}
	return c.write(p, to, addr)
}

// WriteToUDPAddrPort is WriteTo with a netip destination.
func (c *PacketConn) WriteToUDPAddrPort(p []byte, to netip.AddrPort) (int, error) {
	return c.write(p, to, nil)
}

func (c *PacketConn) write(p []byte, to netip.AddrPort, addr net.Addr) (int, error) {
	if isClosed(c.done) {
		return 0, c.opError("write", "sendto", addr, net.ErrClosed)
	}
	if isClosed(c.wd.wait()) {
		return 0, c.opError("write", "sendto", addr, os.ErrDeadlineExceeded)
	}
	if err := c.sock.send(p, to); err != nil {
		if addr == nil {
			addr = c.addr(to)
		}
		return 0, c.opError("write", "sendto", addr, err)
	}
	return len(p), nil
}

func (c *PacketConn) parseAddr(addr net.Addr) (netip.AddrPort, error) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		if c.raw {
			return netip.AddrPort{}, syscall.EINVAL
		}
		return a.AddrPort(), nil
	case *net.IPAddr:
		if !c.raw {
			return netip.AddrPort{}, syscall.EINVAL
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return netip.AddrPort{}, syscall.EINVAL
		}
		return netip.AddrPortFrom(ip.Unmap(), 0), nil
	case nil:
		return netip.AddrPort{}, syscall.EDESTADDRREQ
	}
	return netip.AddrPort{}, syscall.EINVAL
}

// Read reads from the connected peer (net.Conn).
func (c *PacketConn) Read(p []byte) (int, error) {
	n, _, err := c.read(p)
	if err != nil {
		return n, c.opError("read", "read", c.RemoteAddr(), err)
	}
	return n, nil
}

// Write sends to the connected peer (net.Conn).
func (c *PacketConn) Write(p []byte) (int, error) {
	n, err := c.write(p, netip.AddrPort{}, c.RemoteAddr())
	if err != nil {
		if oe, ok := err.(*net.OpError); ok {
			if se, ok := oe.Err.(*os.SyscallError); ok {
				se.Syscall = "write"
			}
		}
	}
	return n, err
}

// Close closes the socket; blocked calls return net.ErrClosed.
func (c *PacketConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		close(c.done)
		err = nil
		c.sock.close()
	})
	if err != nil {
		return &net.OpError{Op: "close", Net: c.network, Source: c.LocalAddr(), Err: err}
	}
	return nil
}

// LocalAddr is the bound address.
func (c *PacketConn) LocalAddr() net.Addr { return c.addr(c.sock.local()) }

// RemoteAddr is the connected peer, nil when unconnected.
func (c *PacketConn) RemoteAddr() net.Addr { return c.addr(c.sock.remote()) }

// SetDeadline sets both deadlines.
func (c *PacketConn) SetDeadline(t time.Time) error {
	if isClosed(c.done) {
		return c.opError("set", "", nil, net.ErrClosed)
	}
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	if isClosed(c.done) {
		return c.opError("set", "", nil, net.ErrClosed)
	}
	c.rd.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline. Datagram writes never block,
// so it only matters once passed.
func (c *PacketConn) SetWriteDeadline(t time.Time) error {
	if isClosed(c.done) {
		return c.opError("set", "", nil, net.ErrClosed)
	}
	c.wd.set(t)
	return nil
}

type udpSock struct{ u *stack.UDPSocket }

func (s udpSock) tryRecv(p []byte) (int, netip.AddrPort, error) { return s.u.TryRecv(p) }
func (s udpSock) send(p []byte, to netip.AddrPort) error        { return s.u.SendTo(p, to) }
func (s udpSock) setNotify(f func(stack.Event))                 { s.u.SetNotify(f) }
func (s udpSock) local() netip.AddrPort                         { return s.u.LocalAddr() }
func (s udpSock) remote() netip.AddrPort                        { return s.u.RemoteAddr() }
func (s udpSock) close() error                                  { return s.u.Close() }

type rawSock struct{ r *stack.RawSocket }

func (s rawSock) tryRecv(p []byte) (int, netip.AddrPort, error) {
	n, from, err := s.r.TryRead(p)
	return n, netip.AddrPortFrom(from, 0), err
}
func (s rawSock) send(p []byte, to netip.AddrPort) error { return s.r.Send(p, to.Addr()) }
func (s rawSock) setNotify(f func(stack.Event))          { s.r.SetNotify(f) }
func (s rawSock) local() netip.AddrPort {
	if a := s.r.LocalAddr(); a.IsValid() {
		return netip.AddrPortFrom(a, 0)
	}
	if s.r.Is6() {
		return netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
}
func (s rawSock) remote() netip.AddrPort {
	if a := s.r.RemoteAddr(); a.IsValid() {
		return netip.AddrPortFrom(a, 0)
	}
	return netip.AddrPort{}
}
func (s rawSock) close() error { return s.r.Close() }
