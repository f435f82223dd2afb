package conform

import (
	"sync"
	"time"

	"berth/clock"
	"berth/link"
)

// Link is the host's only link in a script run: a link.Link that keeps
// every packet the stack writes, stamped with the clock's time, and hands
// injected packets to the stack at once, in the caller's goroutine.
type Link struct {
	clk clock.Clock

	mu     sync.Mutex
	mtu    int
	r      link.Receiver
	sent   []Sent
	closed bool
}

// Sent is a packet the host wrote and when.
type Sent struct {
	At  time.Time
	Pkt []byte
}

// NewLink returns a capture link with the given MTU whose packets are
// stamped by clk.
func NewLink(clk clock.Clock, mtu int) *Link { return &Link{clk: clk, mtu: mtu} }

// MTU is the largest IP packet the link carries.
func (l *Link) MTU() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mtu
}

// SetMTU changes the MTU; the stack reads it for every route lookup.
func (l *Link) SetMTU(mtu int) {
	l.mu.Lock()
	l.mtu = mtu
	l.mu.Unlock()
}

// Write copies the packets into the capture queue.
func (l *Link) Write(pkts [][]byte) (int, error) {
	now := l.clk.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, link.ErrClosed
	}
	for i, p := range pkts {
		if len(p) > l.mtu {
			return i, link.ErrTooBig
		}
		l.sent = append(l.sent, Sent{At: now, Pkt: append([]byte(nil), p...)})
	}
	return len(pkts), nil
}

// Attach sets the receiver Inject delivers to.
func (l *Link) Attach(r link.Receiver) {
	l.mu.Lock()
	l.r = r
	l.mu.Unlock()
}

// Close stops the link.
func (l *Link) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return nil
}

// Inject delivers pkt to the attached receiver and returns when it has been
// processed. It reports false when no receiver is attached.
func (l *Link) Inject(pkt []byte) bool {
	l.mu.Lock()
	r, closed := l.r, l.closed
	l.mu.Unlock()
	if r == nil || closed {
		return false
	}
	r.Deliver(pkt)
	return true
}

// Take removes and returns the oldest packet written and not yet taken.
func (l *Link) Take() (Sent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sent) == 0 {
		return Sent{}, false
	}
	s := l.sent[0]
	l.sent[0] = Sent{}
	l.sent = l.sent[1:]
	return s, true
}

// Queued is how many written packets wait to be taken.
func (l *Link) Queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sent)
}
