package tcp

import (
	"math/bits"
	"sync"
)

// ring is a byte ring buffer whose storage is borrowed from a pool only while
// it holds data. An idle connection holds no buffer at all, which is most of
// why an idle berth connection costs a few hundred bytes and not tens of
// kilobytes.
//
// The ring keeps n committed bytes starting at head. Bytes may also be
// written past the committed end (writeAt), where the receive side keeps
// out-of-order data until the hole before it fills; commit then takes them
// in. Capacities are powers of two so indexes wrap with a mask.
type ring struct {
	b    *block
	head uint32 // index of the first committed byte
	n    uint32 // committed bytes
}

// block is pooled storage. Pooling a pointer to a struct (not a slice)
// keeps Put from allocating.
type block struct{ buf []byte }

const (
	minBlockShift = 11 // 2 KiB: one full-sized Ethernet segment
	maxBlockShift = 30
)

var blockPools [maxBlockShift - minBlockShift + 1]sync.Pool

func getBlock(shift int) *block {
	if b, _ := blockPools[shift-minBlockShift].Get().(*block); b != nil {
		return b
	}
	return &block{buf: make([]byte, 1<<shift)}
}

func putBlock(b *block) {
	shift := bits.TrailingZeros(uint(len(b.buf)))
	blockPools[shift-minBlockShift].Put(b)
}

// shiftFor is the smallest block shift holding n bytes.
func shiftFor(n int) int {
	s := minBlockShift
	if n > 1<<s {
		s = bits.Len(uint(n - 1))
	}
	return s
}

func (r *ring) len() int { return int(r.n) }

func (r *ring) cap() int {
	if r.b == nil {
		return 0
	}
	return len(r.b.buf)
}

// reserve makes room for need bytes counted from head (committed bytes and
// any written past them). need must not exceed 1<<maxBlockShift.
func (r *ring) reserve(need int) {
	if need <= r.cap() {
		return
	}
	nb := getBlock(shiftFor(need))
	if r.b != nil {
		// Copy the whole old ring in order: past the committed end it may
		// hold out-of-order data.
		old := r.b.buf
		h := int(r.head)
		k := copy(nb.buf, old[h:])
		copy(nb.buf[k:], old[:h])
		putBlock(r.b)
	}
	r.b = nb
	r.head = 0
}

// writeAt copies p to offset off from head. The caller has reserved
// off+len(p) bytes.
func (r *ring) writeAt(off int, p []byte) {
	mask := len(r.b.buf) - 1
	i := (int(r.head) + off) & mask
	k := copy(r.b.buf[i:], p)
	copy(r.b.buf, p[k:])
}

// commit takes k more bytes after the committed end as committed.
func (r *ring) commit(k int) { r.n += uint32(k) }

// appendFrom commits p after the committed end; the caller has reserved.
func (r *ring) appendFrom(p []byte) {
	r.writeAt(int(r.n), p)
	r.n += uint32(len(p))
}

// peek returns k committed bytes starting at offset off. When they wrap
// around the end of the storage it copies them into scratch (which must
// hold k bytes) and returns that.
func (r *ring) peek(off, k int, scratch []byte) []byte {
	if k == 0 {
		return nil
	}
	mask := len(r.b.buf) - 1
	i := (int(r.head) + off) & mask
	if i+k <= len(r.b.buf) {
		return r.b.buf[i : i+k]
	}
	m := copy(scratch[:k], r.b.buf[i:])
	copy(scratch[m:k], r.b.buf)
	return scratch[:k]
}

// read copies committed bytes into p and discards them.
func (r *ring) read(p []byte) int {
	k := min(len(p), int(r.n))
	if k == 0 {
		return 0
	}
	h := int(r.head)
	m := copy(p[:k], r.b.buf[h:])
	copy(p[m:k], r.b.buf)
	r.discard(k)
	return k
}

// discard drops k committed bytes from the front.
func (r *ring) discard(k int) {
	if k == 0 {
		return
	}
	r.n -= uint32(k)
	r.head = (r.head + uint32(k)) & uint32(len(r.b.buf)-1)
}

// release returns the storage to the pool. Only call it when nothing worth
// keeping is in the ring (no committed bytes, no out-of-order data).
func (r *ring) release() {
	if r.b != nil {
		putBlock(r.b)
		r.b = nil
	}
	r.head, r.n = 0, 0
}
