// Package buf holds packet buffers: a packet is built back to front, each
// layer prepending its header into headroom reserved up front, so no layer
// copies the bytes of the layers above it. Buffers come from size-classed
// pools and go back with Release.
package buf

import "sync"

// Headroom is enough for every header berth prepends: IPv4 with options
// (60 bytes) and TCP with options (60 bytes), rounded up.
const Headroom = 128

// Buffer is a packet under construction or a queued payload: the bytes
// data[off:end]. Space before off is headroom for headers to come.
type Buffer struct {
	data  []byte
	off   int
	end   int
	class int8 // pool index, -1 when not pooled
}

// size classes of the pools (whole backing array, headroom included)
var classes = [...]int{256, 2048, 16384, 65536 + Headroom}

var pools [len(classes)]sync.Pool

func classFor(n int) int {
	for i, c := range classes {
		if n <= c {
			return i
		}
	}
	return -1
}

// New returns a buffer with at least headroom bytes free in front and an
// empty packet of room bytes after them. The payload is zero length: use
// Append or Extend to fill it.
func New(headroom, room int) *Buffer {
	total := headroom + room
	c := classFor(total)
	var b *Buffer
	if c >= 0 {
		if v := pools[c].Get(); v != nil {
			b = v.(*Buffer)
		} else {
			b = &Buffer{data: make([]byte, classes[c]), class: int8(c)}
		}
	} else {
		b = &Buffer{data: make([]byte, total), class: -1}
	}
	b.off, b.end = headroom, headroom
	return b
}

// From returns a pooled buffer holding a copy of p with the given headroom.
func From(headroom int, p []byte) *Buffer {
	b := New(headroom, len(p))
	b.Append(p)
	return b
}

// Bytes returns the packet: every byte prepended or appended so far.
func (b *Buffer) Bytes() []byte { return b.data[b.off:b.end] }

// Len is len(b.Bytes()).
func (b *Buffer) Len() int { return b.end - b.off }

// Headroom reports how many bytes can still be prepended.
func (b *Buffer) Headroom() int { return b.off }

// Prepend grows the packet by n bytes at the front and returns them for the
// caller to fill. It panics if the headroom is short: that is a programming
// error in the stack (it sizes headroom for its own headers), never a
// consequence of input.
func (b *Buffer) Prepend(n int) []byte {
	if n > b.off {
		panic("buf: headroom exhausted")
	}
	b.off -= n
	return b.data[b.off : b.off+n]
}

// Extend grows the packet by n bytes at the back and returns them.
func (b *Buffer) Extend(n int) []byte {
	if b.end+n > len(b.data) {
		b.grow(n)
	}
	b.end += n
	return b.data[b.end-n : b.end]
}

// Append copies p to the back of the packet.
func (b *Buffer) Append(p []byte) { copy(b.Extend(len(p)), p) }

// TrimFront drops n bytes from the front (a consumed header or payload).
func (b *Buffer) TrimFront(n int) {
	if n > b.Len() {
		n = b.Len()
	}
	b.off += n
}

// Truncate keeps only the first n bytes of the packet.
func (b *Buffer) Truncate(n int) {
	if n < b.Len() {
		b.end = b.off + n
	}
}

func (b *Buffer) grow(n int) {
	need := b.end + n
	c := classFor(need)
	var nd []byte
	if c >= 0 {
		nd = make([]byte, classes[c])
	} else {
		nd = make([]byte, need)
	}
	copy(nd[b.off:], b.data[b.off:b.end])
	b.data = nd
	b.class = int8(c)
}

// Release returns the buffer to its pool. The buffer and every slice taken
// from it must not be used afterwards.
func (b *Buffer) Release() {
	if b == nil || b.class < 0 || len(b.data) != classes[b.class] {
		return
	}
	b.off, b.end = 0, 0
	pools[b.class].Put(b)
}
