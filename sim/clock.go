package sim

import (
	"time"

	"berth/clock"
)

// hostClock is the clock.Clock of one incarnation of a host. Now is package
// time's (virtual inside a testing/synctest bubble); AfterFunc queues the
// call in the network's schedule, so every stack timer fires from the
// scheduler in a fixed order instead of from its own goroutine.
type hostClock struct{ inc *incarnation }

var _ clock.Clock = hostClock{}

func (c hostClock) Now() time.Time { return time.Now() }

func (c hostClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	t := &timer{inc: c.inc, f: f}
	t.ev.tm = t
	t.ev.kind = evTimer
	t.ev.idx = -1
	h := c.inc.h
	n := h.n
	n.mu.Lock()
	h.timers++
	t.ev.host = h.idx
	t.ev.id = h.timers
	t.arm(d)
	n.mu.Unlock()
	n.kick()
	return t
}

// timer is a pending AfterFunc call.
type timer struct {
	inc *incarnation
	f   func()
	ev  event
}

// arm queues the timer d from now; n.mu held. Its key is its deadline,
// its host and its number among the host's timers — not when it was
// armed, which racing goroutines could change.
func (t *timer) arm(d time.Duration) {
	n := t.inc.h.n
	t.ev.at = n.now() + int64(max(d, 0))
	n.q.push(&t.ev)
}

func (t *timer) Stop() bool {
	n := t.inc.h.n
	n.mu.Lock()
	defer n.mu.Unlock()
	if t.ev.idx < 0 {
		return false
	}
	n.q.remove(&t.ev)
	return true
}

func (t *timer) Reset(d time.Duration) bool {
	n := t.inc.h.n
	n.mu.Lock()
	pending := t.ev.idx >= 0
	if pending {
		n.q.remove(&t.ev)
	}
	t.arm(d)
	n.mu.Unlock()
	n.kick()
	return pending
}
