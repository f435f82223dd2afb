package stack

import (
	"container/heap"
	"time"
)

// A stack keeps every deadline of its protocols in one heap and arms one
// clock timer, at the earliest. When it fires, every due entry runs under
// one acquisition of the lock. A timer per connection would start a
// goroutine per firing: thousands at once when many connections leave
// TIME-WAIT together, each queueing on the lock.

// timed is something with a deadline: fire runs it, mu held.
type timed interface{ fire(now time.Time) }

// timerEntry places a timed item in the heap; embed one per item.
type timerEntry struct {
	when  time.Time
	index int // position in the heap, -1 when not scheduled
	item  timed
}

type timerHeap []*timerEntry

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	e := x.(*timerEntry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// schedule sets e's deadline; the zero time unschedules it. mu held.
func (s *Stack) schedule(e *timerEntry, when time.Time) {
	switch {
	case when.IsZero():
		if e.index >= 0 {
			heap.Remove(&s.timers, e.index)
		}
	case e.index >= 0:
		if !e.when.Equal(when) {
			e.when = when
			heap.Fix(&s.timers, e.index)
		}
	default:
		e.when = when
		heap.Push(&s.timers, e)
	}
}

// armTimer keeps the stack's one clock timer on the earliest deadline. mu held.
func (s *Stack) armTimer() {
	if s.closed || len(s.timers) == 0 {
		return // a timer armed earlier fires and finds nothing due
	}
	next := s.timers[0].when
	if !s.timerAt.IsZero() && !next.Before(s.timerAt) {
		return // the armed timer fires first and re-arms
	}
	s.timerAt = next
	wait := next.Sub(s.clk.Now())
	if s.timer == nil {
		s.timer = s.clk.AfterFunc(wait, s.runTimers)
	} else {
		s.timer.Reset(wait)
	}
}

// runTimers fires every due entry.
func (s *Stack) runTimers() {
	s.mu.Lock()
	s.timerAt = time.Time{}
	if !s.closed {
		now := s.clk.Now()
		for len(s.timers) > 0 && !s.timers[0].when.After(now) {
			e := heap.Pop(&s.timers).(*timerEntry)
			e.item.fire(now)
		}
	}
	s.unlock()
}

// ipTimer runs the IP layer's deadline (reassembly) from the heap.
type ipTimer struct{ s *Stack }

func (t ipTimer) fire(now time.Time) { t.s.ip.Tick(now) }
