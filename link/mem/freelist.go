package mem

// packet is a queued copy of a written packet. Its buffer is reused, so a
// steady stream of writes allocates nothing.
type packet struct {
	b []byte
}

// freeList recycles packets of one direction. It is a buffered channel rather
// than a sync.Pool because a pool may drop items at any GC (and drops a
// quarter of them on purpose under the race detector), which would make the
// zero-allocation guarantee depend on luck.
type freeList chan *packet

// get returns a packet holding a copy of p.
func (f freeList) get(p []byte) *packet {
	var pk *packet
	select {
	case pk = <-f:
	default:
		pk = new(packet)
	}
	if cap(pk.b) < len(p) {
		pk.b = make([]byte, len(p), roundUp(len(p)))
	}
	pk.b = pk.b[:len(p)]
	copy(pk.b, p)
	return pk
}

// put returns pk to the list, or lets the GC have it when the list is full.
func (f freeList) put(pk *packet) {
	select {
	case f <- pk:
	default:
	}
}

// roundUp sizes a buffer to the next power of two (at least 256 bytes,
// at most maxMTU), so a buffer grown for one packet fits most later ones.
func roundUp(n int) int {
	c := 256
	for c < n {
		c <<= 1
	}
	return min(c, maxMTU)
}
