// Package socket adapts berth's callback sockets to Go's blocking net
// interfaces: net.PacketConn and net.Conn for datagram and raw sockets (and
// stream sockets with the TCP work), with deadlines and the errors Go's net
// returns against the kernel: *net.OpError wrapping *os.SyscallError with a
// syscall.Errno, os.ErrDeadlineExceeded, net.ErrClosed.
//
// Blocking waits on channels signalled by the stack's callbacks, never on
// OS I/O, so a whole simulation runs inside a testing/synctest bubble.
package socket

import (
	"sync"
	"time"
)

// deadline is a deadline as a channel that closes when it passes, in the
// manner of net/pipe.go: setting a new deadline re-arms it.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{}
}

func newDeadline() *deadline { return &deadline{cancel: make(chan struct{})} }

// set arms the deadline at t; the zero time clears it, a past time expires it.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired and closed it: wait, then renew
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		c := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(c) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

// wait returns a channel closed once the deadline has passed.
func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
