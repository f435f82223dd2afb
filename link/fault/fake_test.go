package fault

import (
	"bytes"
	"encoding/binary"
	"sync"

	"berth/link"
)

// recLink is a link that records what is written to it, synchronously, and
// lets a test inject inbound packets.
type recLink struct {
	mu     sync.Mutex
	mtu    int
	sent   [][]byte
	recv   link.Receiver
	closed bool
}

func newRec() *recLink { return &recLink{mtu: 1500} }

func (r *recLink) MTU() int { return r.mtu }

func (r *recLink) Write(pkts [][]byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, link.ErrClosed
	}
	for _, p := range pkts {
		r.sent = append(r.sent, bytes.Clone(p))
	}
	return len(pkts), nil
}

func (r *recLink) Attach(rc link.Receiver) {
	r.mu.Lock()
	r.recv = rc
	r.mu.Unlock()
}

func (r *recLink) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// inject delivers p as if it had arrived on the wire.
func (r *recLink) inject(p []byte) {
	r.mu.Lock()
	rc := r.recv
	r.mu.Unlock()
	rc.Deliver(p)
}

func (r *recLink) packets() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.sent...)
}

// seqs returns the numbers of the packets sent so far.
func (r *recLink) seqs() []uint32 {
	var s []uint32
	for _, p := range r.packets() {
		s = append(s, seqOf(p))
	}
	return s
}

// pkt returns a packet of size bytes that starts with its number i.
func pkt(i uint32, size int) []byte {
	p := make([]byte, size)
	binary.BigEndian.PutUint32(p, i)
	for j := 4; j < size; j++ {
		p[j] = byte(int(i)*7 + j)
	}
	return p
}

func seqOf(p []byte) uint32 { return binary.BigEndian.Uint32(p) }

// collector is a receiver that keeps copies.
type collector struct {
	mu   sync.Mutex
	pkts [][]byte
}

func (c *collector) Deliver(p []byte) {
	c.mu.Lock()
	c.pkts = append(c.pkts, bytes.Clone(p))
	c.mu.Unlock()
}

func (c *collector) seqs() []uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []uint32
	for _, p := range c.pkts {
		s = append(s, seqOf(p))
	}
	return s
}
