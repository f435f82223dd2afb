package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Manual is a clock that moves only when told to. Timers fire inside Advance
// and Set, in deadline order (ties in the order they were armed), in the
// goroutine that advances the clock. It is safe for concurrent use.
type Manual struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers timerHeap
}

// NewManual returns a manual clock that reads start.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// AfterFunc arms a timer that fires when the clock has advanced by d.
func (m *Manual) AfterFunc(d time.Duration, f func()) Timer {
	t := &manualTimer{m: m, f: f, index: -1}
	m.mu.Lock()
	m.arm(t, d)
	m.mu.Unlock()
	return t
}

// Advance moves the clock forward by d, firing every timer that falls due.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	target := m.now.Add(d)
	m.mu.Unlock()
	m.Set(target)
}

// Set moves the clock to t (never backwards), firing due timers in order.
// A timer armed by a firing callback fires in the same call if it falls due.
func (m *Manual) Set(t time.Time) {
	for {
		m.mu.Lock()
		if len(m.timers) == 0 || m.timers[0].when.After(t) {
			if t.After(m.now) {
				m.now = t
			}
			m.mu.Unlock()
			return
		}
		next := heap.Pop(&m.timers).(*manualTimer)
		if next.when.After(m.now) {
			m.now = next.when
		}
		f := next.f
		m.mu.Unlock()
		f()
	}
}

// Next reports the deadline of the earliest pending timer.
func (m *Manual) Next() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.timers) == 0 {
		return time.Time{}, false
	}
	return m.timers[0].when, true
}

// Pending reports how many timers are armed.
func (m *Manual) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

// arm schedules t; m.mu must be held.
func (m *Manual) arm(t *manualTimer, d time.Duration) {
	if d < 0 {
		d = 0
	}
	t.when = m.now.Add(d)
	m.seq++
	t.seq = m.seq
	heap.Push(&m.timers, t)
}

type manualTimer struct {
	m     *Manual
	f     func()
	when  time.Time
	seq   uint64
	index int // position in the heap, -1 when not pending
}

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.m.timers, t.index)
	return true
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	pending := t.index >= 0
	if pending {
		heap.Remove(&t.m.timers, t.index)
	}
	t.m.arm(t, d)
	return pending
}

type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
