package sim

import (
	"context"
	"io"
	"net"
	"sync"

	"berth/socket"
)

// A crash must unblock the programs using the host's sockets, as the
// kernel does when a process dies. berth's Stack.Close drops TCP state
// silently (which is what a crash looks like on the wire) but leaves the
// blocking adapters waiting; so the simulation keeps the sockets it handed
// out per incarnation and closes them after the stack is gone, when
// nothing they do can reach the network any more. Blocked calls then
// return net.ErrClosed.

// sockets are the open sockets of one incarnation.
type sockets struct {
	mu   sync.Mutex
	set  map[closerNow]struct{}
	dead bool
}

// track adds c; it reports false (and c must be closed) once the
// incarnation has crashed.
func (s *sockets) track(c closerNow) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead {
		return false
	}
	if s.set == nil {
		s.set = make(map[closerNow]struct{})
	}
	s.set[c] = struct{}{}
	return true
}

func (s *sockets) untrack(c closerNow) {
	s.mu.Lock()
	delete(s.set, c)
	s.mu.Unlock()
}

// closeAll closes every socket still open, without passing the gate; the
// order does not matter, since the stack below has already gone.
func (s *sockets) closeAll() {
	s.mu.Lock()
	s.dead = true
	set := s.set
	s.set = nil
	s.mu.Unlock()
	for c := range set {
		c.closeNow()
	}
}

// tcpConn is a stream socket of a simulated host. It embeds berth's, so
// every method of *socket.TCPConn is there (CloseWrite, SetNoDelay, ...).
type tcpConn struct {
	*socket.TCPConn
	socks *sockets
}

func (c *tcpConn) Close() error {
	c.socks.untrack(c)
	return c.TCPConn.Close()
}

func (c *tcpConn) closeNow() { c.TCPConn.Close() }

// packetConn is a datagram or raw socket of a simulated host.
type packetConn struct {
	*socket.PacketConn
	socks *sockets
}

func (c *packetConn) Close() error {
	c.socks.untrack(c)
	return c.PacketConn.Close()
}

func (c *packetConn) closeNow() { c.PacketConn.Close() }

// listener is a listening socket of a simulated host; the connections it
// accepts are wrapped too.
type listener struct {
	net.Listener
	inc *incarnation
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrapConn(l.inc, c), nil
}

func (l *listener) Close() error {
	l.inc.socks.untrack(l)
	return l.Listener.Close()
}

func (l *listener) closeNow() { l.Listener.Close() }

// closerNow closes without untracking: for a crash, which closes the
// sockets of a stack that is already gone.
type closerNow interface {
	io.Closer
	closeNow()
}

// wrapConn wraps and tracks a conn berth returned.
func wrapConn(inc *incarnation, c net.Conn) net.Conn {
	var w closerNow
	switch x := c.(type) {
	case *socket.TCPConn:
		w = &tcpConn{x, &inc.socks}
	case *socket.PacketConn:
		w = &packetConn{x, &inc.socks}
	default:
		return c
	}
	if !inc.socks.track(w) {
		w.closeNow()
	}
	return w.(net.Conn)
}

func wrapPacketConn(inc *incarnation, c net.PacketConn) net.PacketConn {
	x, ok := c.(*socket.PacketConn)
	if !ok {
		return c
	}
	w := &packetConn{x, &inc.socks}
	if !inc.socks.track(w) {
		w.closeNow()
	}
	return w
}

func wrapListener(inc *incarnation, l net.Listener) net.Listener {
	w := &listener{l, inc}
	if !inc.socks.track(w) {
		w.closeNow()
	}
	return w
}

// crashContext is ctx, also cancelled when the incarnation crashes, so a
// Dial or Ping under way on a crashing host gives up.
func crashContext(ctx context.Context, inc *incarnation) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(inc.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}
