// Package mem connects two links in memory: what one end writes, the other
// end's receiver gets. It is the link of tests, demos and benchmarks.
//
// Each direction is a bounded FIFO queue drained by one goroutine, so a
// receiver sees one packet at a time, in order. Write copies each packet into
// a recycled buffer and never blocks: when the queue is full the packet is
// dropped and counted, as a real interface does. A pair created inside a
// testing/synctest bubble runs entirely on the bubble's durable blocking
// (channels only), so tests of whole stacks over mem run on virtual time.
package mem

import (
	"sync"
	"sync/atomic"

	"berth/link"
)

// Link is one end of an in-memory pair.
type Link struct {
	p    *pair
	mtu  int
	out  chan *packet // packets written here, delivered at the peer
	free freeList     // buffers of out, recycled after delivery
	peer *Link

	recv atomic.Pointer[receiver]

	txPackets, txBytes, txDropped atomic.Uint64
	rxPackets, rxBytes, rxDropped atomic.Uint64
}

var _ link.Link = (*Link)(nil)

// receiver boxes an interface so that Attach can swap it atomically.
type receiver struct{ r link.Receiver }

// pair is what both ends share: closing either end closes both.
type pair struct {
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once
	wg     sync.WaitGroup
}

// Pair returns two connected links. Close either to stop both.
func Pair(opts ...Option) (a, b *Link) {
	c := config{mtu: DefaultMTU, queueLen: DefaultQueueLen}
	for _, o := range opts {
		o(&c)
	}
	p := &pair{done: make(chan struct{})}
	a = newEnd(p, c)
	b = newEnd(p, c)
	a.peer, b.peer = b, a
	p.wg.Add(2)
	go a.run()
	go b.run()
	return a, b
}

func newEnd(p *pair, c config) *Link {
	return &Link{
		p:    p,
		mtu:  c.mtu,
		out:  make(chan *packet, c.queueLen),
		free: make(freeList, c.queueLen),
	}
}

// MTU reports the largest packet the link carries.
func (l *Link) MTU() int { return l.mtu }

// Write queues a copy of each packet for the peer. A packet that finds the
// queue full is dropped and counted in TxDropped; that is not an error, and
// Write counts the packet as taken, as a wire that loses it would. Write
// stops at the first packet larger than the MTU and returns ErrTooBig with
// the number taken before it.
func (l *Link) Write(pkts [][]byte) (int, error) {
	if l.p.closed.Load() {
		return 0, link.ErrClosed
	}
	for i, p := range pkts {
		if len(p) > l.mtu {
			return i, link.ErrTooBig
		}
		pk := l.free.get(p)
		select {
		case l.out <- pk:
			l.txPackets.Add(1)
			l.txBytes.Add(uint64(len(p)))
		default:
			l.free.put(pk)
			l.txDropped.Add(1)
		}
	}
	return len(pkts), nil
}

// Attach sets the receiver of packets the peer writes; nil detaches.
// A delivery already under way may still reach the previous receiver.
func (l *Link) Attach(r link.Receiver) {
	if r == nil {
		l.recv.Store(nil)
		return
	}
	l.recv.Store(&receiver{r})
}

// Close stops both ends of the pair and waits for their goroutines. Packets
// still queued are discarded. Close is idempotent. Because it waits for the
// delivering goroutines, a Receiver must not call Close from Deliver.
func (l *Link) Close() error {
	l.p.once.Do(func() {
		l.p.closed.Store(true)
		close(l.p.done)
	})
	l.p.wg.Wait()
	return nil
}

// Stats returns the link's counters: Tx for packets written here, Rx for
// packets delivered here. RxDropped counts packets that arrived while no
// receiver was attached.
func (l *Link) Stats() link.Stats {
	return link.Stats{
		TxPackets: l.txPackets.Load(), TxBytes: l.txBytes.Load(), TxDropped: l.txDropped.Load(),
		RxPackets: l.rxPackets.Load(), RxBytes: l.rxBytes.Load(), RxDropped: l.rxDropped.Load(),
	}
}

// run delivers l's outbound queue to the peer's receiver until the pair closes.
func (l *Link) run() {
	defer l.p.wg.Done()
	dst := l.peer
	for {
		select {
		case <-l.p.done:
			return
		case pk := <-l.out:
			// A packet dequeued as the pair closes is still delivered:
			// Close waits for this goroutine, so it cannot outlive Close.
			if r := dst.recv.Load(); r != nil {
				dst.rxPackets.Add(1)
				dst.rxBytes.Add(uint64(len(pk.b)))
				r.r.Deliver(pk.b)
			} else {
				dst.rxDropped.Add(1)
			}
			l.free.put(pk)
		}
	}
}
