package socket

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"berth/stack"
	"berth/tcp"
)

// TCPConn is a blocking stream socket: a net.Conn with the extras of
// *net.TCPConn (CloseWrite, CloseRead, SetNoDelay, SetKeepAlive,
// SetKeepAlivePeriod, SetLinger).
type TCPConn struct {
	c        *stack.TCPConn
	network  string
	readable chan struct{}
	writable chan struct{}
	done     chan struct{}
	once     sync.Once
	rd, wd   *deadline
	wmu      sync.Mutex // one writer at a time, so each Write's bytes stay together
}

// NewTCP wraps a stack stream socket.
func NewTCP(c *stack.TCPConn, network string) *TCPConn {
	t := &TCPConn{c: c, network: network, readable: make(chan struct{}, 1), writable: make(chan struct{}, 1),
		done: make(chan struct{}), rd: newDeadline(), wd: newDeadline()}
	c.SetNotify(func(ev stack.Event) {
		if ev&(stack.Readable|stack.Closed) != 0 {
			signal(t.readable)
		}
		if ev&(stack.Writable|stack.Closed) != 0 {
			signal(t.writable)
		}
	})
	return t
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (t *TCPConn) opError(op string, err error) error {
	switch e := err.(type) {
	case syscall.Errno:
		if e == syscall.EBADF {
			err = net.ErrClosed
		} else {
			err = os.NewSyscallError(op, e)
		}
	}
	return &net.OpError{Op: op, Net: t.network, Source: t.LocalAddr(), Addr: t.RemoteAddr(), Err: err}
}

// Read reads what has arrived, blocking until something has, the peer
// closed (io.EOF), the connection failed, or the deadline passed.
//
// Concurrent Reads do not queue on a lock (which a synctest bubble would not
// count as idle): each takes what it finds.
func (t *TCPConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if isClosed(t.done) {
			return 0, t.opError("read", net.ErrClosed)
		}
		if isClosed(t.rd.wait()) {
			return 0, t.opError("read", os.ErrDeadlineExceeded)
		}
		n, err := t.c.TryRead(p)
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF:
			return 0, io.EOF
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return 0, t.opError("read", err)
		}
		select {
		case <-t.readable:
		case <-t.rd.wait():
		case <-t.done:
		}
	}
}

// Write writes all of p, blocking while the send buffer is full.
func (t *TCPConn) Write(p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	written := 0
	for {
		if isClosed(t.done) {
			return written, t.opError("write", net.ErrClosed)
		}
		if isClosed(t.wd.wait()) {
			return written, t.opError("write", os.ErrDeadlineExceeded)
		}
		n, err := t.c.TryWrite(p[written:])
		written += n
		if written == len(p) && (err == nil || n > 0) {
			return written, nil
		}
		if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) {
			return written, t.opError("write", err)
		}
		if n > 0 {
			continue
		}
		select {
		case <-t.writable:
		case <-t.wd.wait():
		case <-t.done:
		}
	}
}

// Close closes the connection: a FIN after the buffered data (or a RST
// when unread data remains or linger is zero). Blocked calls return
// net.ErrClosed.
func (t *TCPConn) Close() error {
	err := net.ErrClosed
	t.once.Do(func() {
		close(t.done)
		err = nil
		t.c.Close()
	})
	if err != nil {
		return &net.OpError{Op: "close", Net: t.network, Source: t.LocalAddr(), Addr: t.RemoteAddr(), Err: err}
	}
	return nil
}

// CloseWrite shuts down the writing side (a FIN goes after the data).
func (t *TCPConn) CloseWrite() error {
	if err := t.c.CloseWrite(); err != nil {
		return t.opError("close", err)
	}
	return nil
}

// CloseRead shuts down the reading side.
func (t *TCPConn) CloseRead() error {
	if err := t.c.CloseRead(); err != nil {
		return t.opError("close", err)
	}
	return nil
}

// SetNoDelay controls Nagle's algorithm; Go's default (and berth's
// through this adapter) is no delay.
func (t *TCPConn) SetNoDelay(on bool) error { return t.wrap("set", t.c.SetNoDelay(on)) }

// SetKeepAlive turns keep-alive probes on or off.
func (t *TCPConn) SetKeepAlive(on bool) error { return t.wrap("set", t.c.SetKeepAlive(on, 0, 0)) }

// SetKeepAlivePeriod sets the idle time and interval of keep-alive probes.
func (t *TCPConn) SetKeepAlivePeriod(d time.Duration) error {
	return t.wrap("set", t.c.SetKeepAlive(true, d, d))
}

// SetLinger sets SO_LINGER as *net.TCPConn does: sec < 0 is the default
// (finish in the background), 0 discards unsent data with a RST.
func (t *TCPConn) SetLinger(sec int) error {
	return t.wrap("set", t.c.SetLinger(sec >= 0, time.Duration(max(sec, 0))*time.Second))
}

func (t *TCPConn) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return t.opError(op, err)
}

// LocalAddr and RemoteAddr are *net.TCPAddr values.
func (t *TCPConn) LocalAddr() net.Addr  { return net.TCPAddrFromAddrPort(t.c.LocalAddr()) }
func (t *TCPConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(t.c.RemoteAddr()) }

// SetDeadline, SetReadDeadline and SetWriteDeadline follow net.Conn.
func (t *TCPConn) SetDeadline(d time.Time) error {
	if isClosed(t.done) {
		return t.opError("set", net.ErrClosed)
	}
	t.rd.set(d)
	t.wd.set(d)
	return nil
}

func (t *TCPConn) SetReadDeadline(d time.Time) error {
	if isClosed(t.done) {
		return t.opError("set", net.ErrClosed)
	}
	t.rd.set(d)
	return nil
}

func (t *TCPConn) SetWriteDeadline(d time.Time) error {
	if isClosed(t.done) {
		return t.opError("set", net.ErrClosed)
	}
	t.wd.set(d)
	return nil
}

// Stack returns the callback-mode socket underneath.
func (t *TCPConn) Stack() *stack.TCPConn { return t.c }

// DialTCP connects to remote, blocking until the handshake completes,
// fails, or ctx ends (the attempt is then aborted). Errors are Go's:
// "dial tcp 198.18.0.2:80: connect: connection refused".
func DialTCP(ctx context.Context, s *stack.Stack, network string, remote netip.AddrPort, opts stack.TCPOptions) (*TCPConn, error) {
	fail := func(err error) error {
		if errno, ok := err.(syscall.Errno); ok {
			err = os.NewSyscallError("connect", errno)
		}
		return &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(remote), Err: err}
	}
	c, err := s.DialTCP(remote, opts)
	if err != nil {
		return nil, fail(err)
	}
	ready := make(chan struct{}, 1)
	c.SetNotify(func(stack.Event) { signal(ready) })
	for {
		switch st := c.State(); {
		case st == tcp.StateClosed:
			err := c.Err()
			if err == nil {
				err = syscall.ECONNRESET
			}
			c.Close()
			return nil, fail(err)
		case st != tcp.StateSynSent && st != tcp.StateSynReceived:
			c.SetNotify(nil)
			return NewTCP(c, network), nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			c.Abort()
			err := ctx.Err()
			if errors.Is(err, context.DeadlineExceeded) {
				err = os.ErrDeadlineExceeded // what net.Dialer reports for a dial timeout
			}
			return nil, fail(err)
		}
	}
}

// TCPListener is a blocking net.Listener.
type TCPListener struct {
	l       *stack.TCPListener
	network string
	ready   chan struct{}
	done    chan struct{}
	once    sync.Once
	noDelay bool
}

// NewTCPListener wraps a stack listener. Accepted conns get TCP_NODELAY, as
// Go's net sets it on every TCP conn.
func NewTCPListener(l *stack.TCPListener, network string) *TCPListener {
	t := &TCPListener{l: l, network: network, ready: make(chan struct{}, 1), done: make(chan struct{}), noDelay: true}
	l.SetNotify(func(stack.Event) { signal(t.ready) })
	return t
}

// Accept waits for and returns the next connection.
func (t *TCPListener) Accept() (net.Conn, error) { return t.AcceptTCP() }

// AcceptTCP is Accept returning the concrete type.
func (t *TCPListener) AcceptTCP() (*TCPConn, error) {
	for {
		if isClosed(t.done) {
			return nil, &net.OpError{Op: "accept", Net: t.network, Addr: t.Addr(), Err: net.ErrClosed}
		}
		c, err := t.l.TryAccept()
		if err == nil {
			if t.noDelay {
				c.SetNoDelay(true)
			}
			return NewTCP(c, t.network), nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			if err == syscall.EBADF {
				err = net.ErrClosed
			}
			return nil, &net.OpError{Op: "accept", Net: t.network, Addr: t.Addr(), Err: err}
		}
		select {
		case <-t.ready:
		case <-t.done:
		}
	}
}

// Close stops listening; a blocked Accept returns net.ErrClosed.
func (t *TCPListener) Close() error {
	err := net.ErrClosed
	t.once.Do(func() {
		close(t.done)
		err = t.l.Close()
	})
	if err != nil {
		return &net.OpError{Op: "close", Net: t.network, Addr: t.Addr(), Err: err}
	}
	return nil
}

// Addr is the listening address, a *net.TCPAddr.
func (t *TCPListener) Addr() net.Addr { return net.TCPAddrFromAddrPort(t.l.Addr()) }
