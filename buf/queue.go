package buf

// Queue is a bounded FIFO of buffers: a socket's receive queue. It holds at
// most a number of bytes (counting each buffer's whole length) and a number
// of buffers, so a flood cannot grow it without bound.
type Queue struct {
	items      []*Buffer
	head       int
	bytes      int
	MaxBytes   int
	MaxPackets int
}

// Push appends b and reports whether it fit; a buffer that does not fit is
// left to the caller (to release and count as a drop).
func (q *Queue) Push(b *Buffer) bool {
	if (q.MaxBytes > 0 && q.bytes+b.Len() > q.MaxBytes && q.Len() > 0) ||
		(q.MaxPackets > 0 && q.Len() >= q.MaxPackets) {
		return false
	}
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.items = append(q.items, b)
	q.bytes += b.Len()
	return true
}

// Pop removes and returns the oldest buffer, or nil when empty.
func (q *Queue) Pop() *Buffer {
	if q.head == len(q.items) {
		return nil
	}
	b := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	q.bytes -= b.Len()
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return b
}

// Peek returns the oldest buffer without removing it, or nil.
func (q *Queue) Peek() *Buffer {
	if q.head == len(q.items) {
		return nil
	}
	return q.items[q.head]
}

// Len is the number of buffers queued.
func (q *Queue) Len() int { return len(q.items) - q.head }

// Bytes is the number of bytes queued.
func (q *Queue) Bytes() int { return q.bytes }

// Clear releases every queued buffer.
func (q *Queue) Clear() {
	for b := q.Pop(); b != nil; b = q.Pop() {
		b.Release()
	}
	q.items = nil
}
