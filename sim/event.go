package sim

import "container/heap"

// The simulation is a discrete-event system: every packet departure, packet
// arrival and stack timer is an event in one heap, and one goroutine (the
// scheduler) runs them in key order. The key never depends on which
// goroutine got somewhere first: a packet is keyed by its time, its sender,
// its flow and its place in that flow; a timer by its deadline, its host
// and the order in which the host made its timers. Two goroutines of one
// host that send on different connections at the same instant therefore
// give the same schedule whichever of them ran first.

type evKind uint8

const (
	evDepart evKind = iota // a packet leaves its sender and meets the path's faults
	evArrive               // a packet reaches its receiver
	evTimer                // a stack timer fires
)

// event is one entry of the schedule.
type event struct {
	at   int64  // virtual nanoseconds since the network started
	host int32  // index of the host whose action made the event
	cls  uint8  // 0 timer, 1 packet
	id   uint64 // timer: its number on the host; packet: its flow's hash
	ctr  uint64 // packet: its number in the flow
	sub  uint8  // the copy, when one send makes several arrivals (duplicates)
	kind evKind
	idx  int // position in the heap; -1 when not queued

	pkt  *packet // evDepart, evArrive
	path *Path   // evArrive: the path it travelled
	tm   *timer  // evTimer
}

func (a *event) before(b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.host != b.host {
		return a.host < b.host
	}
	if a.cls != b.cls {
		return a.cls < b.cls
	}
	if a.id != b.id {
		return a.id < b.id
	}
	if a.ctr != b.ctr {
		return a.ctr < b.ctr
	}
	return a.sub < b.sub
}

// eventHeap is a min-heap of events by key.
type eventHeap []*event

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].before(h[j]) }
func (h eventHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}
func (h *eventHeap) Push(x any) {
	e := x.(*event)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}

func (h *eventHeap) push(e *event) { heap.Push(h, e) }
func (h *eventHeap) pop() *event   { return heap.Pop(h).(*event) }
func (h *eventHeap) remove(e *event) {
	if e.idx >= 0 {
		heap.Remove(h, e.idx)
	}
}
func (h eventHeap) peek() *event {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}
