package mem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"berth/link"
)

const runFn = "berth/link/mem.(*Link).run"

// collector records copies of delivered packets and signals each one.
type collector struct {
	mu   sync.Mutex
	pkts [][]byte
	got  chan struct{}
}

func newCollector(n int) *collector { return &collector{got: make(chan struct{}, n)} }

func (c *collector) Deliver(p []byte) {
	c.mu.Lock()
	c.pkts = append(c.pkts, bytes.Clone(p))
	c.mu.Unlock()
	c.got <- struct{}{}
}

func (c *collector) wait(n int) [][]byte {
	for range n {
		<-c.got
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pkts
}

func numbered(i, size int) []byte {
	p := make([]byte, size)
	binary.BigEndian.PutUint32(p, uint32(i))
	for j := 4; j < size; j++ {
		p[j] = byte(i + j)
	}
	return p
}

func TestPairDeliversBothWaysInOrder(t *testing.T) {
	a, b := Pair()
	defer a.Close()
	ca, cb := newCollector(100), newCollector(100)
	a.Attach(ca)
	b.Attach(cb)
	for i := range 100 {
		if n, err := a.Write([][]byte{numbered(i, 64+i)}); n != 1 || err != nil {
			t.Fatalf("a.Write = %d, %v", n, err)
		}
		if n, err := b.Write([][]byte{numbered(1000+i, 100)}); n != 1 || err != nil {
			t.Fatalf("b.Write = %d, %v", n, err)
		}
	}
	for i, p := range cb.wait(100) {
		if !bytes.Equal(p, numbered(i, 64+i)) {
			t.Fatalf("b got packet %d = %x, want %x", i, p, numbered(i, 64+i))
		}
	}
	for i, p := range ca.wait(100) {
		if !bytes.Equal(p, numbered(1000+i, 100)) {
			t.Fatalf("a got packet %d = %x", i, p)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	wantTx := uint64(0)
	for i := range 100 {
		wantTx += uint64(64 + i)
	}
	if sa.TxPackets != 100 || sa.TxBytes != wantTx || sb.RxPackets != 100 || sb.RxBytes != wantTx {
		t.Fatalf("a→b stats: a %+v, b %+v", sa, sb)
	}
	if sb.TxPackets != 100 || sb.TxBytes != 100*100 || sa.RxPackets != 100 || sa.RxBytes != 100*100 {
		t.Fatalf("b→a stats: a %+v, b %+v", sa, sb)
	}
}

func TestWriteCopiesPacket(t *testing.T) {
	a, b := Pair()
	defer a.Close()
	c := newCollector(1)
	b.Attach(c)
	p := []byte{0x45, 1, 2, 3}
	a.Write([][]byte{p})
	p[1] = 0xff // the caller owns p again once Write returns
	if got := c.wait(1)[0]; !bytes.Equal(got, []byte{0x45, 1, 2, 3}) {
		t.Fatalf("delivered %x, want 45010203", got)
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	a, b := Pair(QueueLen(4))
	defer a.Close()
	entered, release := make(chan struct{}), make(chan struct{})
	c := newCollector(16)
	first := true
	b.Attach(link.ReceiverFunc(func(p []byte) {
		if first { // hold the delivering goroutine so the queue fills
			first = false
			close(entered)
			<-release
		}
		c.Deliver(p)
	}))
	a.Write([][]byte{numbered(0, 20)})
	<-entered // packet 0 left the queue and is being delivered
	batch := make([][]byte, 7)
	for i := range batch {
		batch[i] = numbered(i+1, 20)
	}
	if n, err := a.Write(batch); n != 7 || err != nil {
		t.Fatalf("Write = %d, %v; want 7, nil", n, err)
	}
	if s := a.Stats(); s.TxPackets != 5 || s.TxDropped != 3 {
		t.Fatalf("stats %+v, want 5 sent and 3 dropped", s)
	}
	close(release)
	got := c.wait(5)
	for i, p := range got {
		if !bytes.Equal(p, numbered(i, 20)) {
			t.Fatalf("packet %d = %x, want the first five in order", i, p)
		}
	}
}

func TestWriteTooBig(t *testing.T) {
	a, b := Pair(MTU(100))
	defer a.Close()
	if a.MTU() != 100 || b.MTU() != 100 {
		t.Fatalf("MTU = %d, %d", a.MTU(), b.MTU())
	}
	n, err := a.Write([][]byte{make([]byte, 100), make([]byte, 101), make([]byte, 10)})
	if n != 1 || !errors.Is(err, link.ErrTooBig) {
		t.Fatalf("Write = %d, %v; want 1, ErrTooBig", n, err)
	}
}

func TestMaxMTU(t *testing.T) {
	a, b := Pair(MTU(65535))
	defer a.Close()
	c := newCollector(1)
	b.Attach(c)
	p := numbered(7, 65535)
	if _, err := a.Write([][]byte{p}); err != nil {
		t.Fatal(err)
	}
	if got := c.wait(1)[0]; !bytes.Equal(got, p) {
		t.Fatal("65535-byte packet corrupted")
	}
}

func TestNoReceiverCountsDrop(t *testing.T) {
	// In a bubble, synctest.Wait returns once the delivering goroutine is
	// idle, so each Attach below happens between deliveries, not during one.
	synctest.Test(t, func(t *testing.T) {
		a, b := Pair()
		defer a.Close()
		var got [][]byte
		rec := link.ReceiverFunc(func(p []byte) { got = append(got, bytes.Clone(p)) })
		a.Attach(rec)
		b.Write([][]byte{{1}})
		synctest.Wait()
		a.Attach(nil)
		b.Write([][]byte{{2}, {3}})
		synctest.Wait()
		a.Attach(rec)
		b.Write([][]byte{{4}})
		synctest.Wait()
		if want := [][]byte{{1}, {4}}; !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("delivered %x, want %x", got, want)
		}
		if s := a.Stats(); s.RxPackets != 2 || s.RxDropped != 2 {
			t.Fatalf("stats %+v, want 2 received and 2 dropped", s)
		}
	})
}

func TestCloseStopsBothEnds(t *testing.T) {
	a, b := Pair()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoGoroutine(t, runFn)
	for _, l := range []*Link{a, b} {
		if n, err := l.Write([][]byte{{1}}); n != 0 || !errors.Is(err, link.ErrClosed) {
			t.Fatalf("Write after Close = %d, %v", n, err)
		}
	}
	if err := a.Close(); err != nil { // idempotent, from either end
		t.Fatal(err)
	}
}

func TestCloseWithQueuedPackets(t *testing.T) {
	a, b := Pair(QueueLen(8))
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	b.Attach(link.ReceiverFunc(func([]byte) {
		once.Do(func() { close(entered); <-release })
	}))
	a.Write([][]byte{{1}, {2}, {3}, {4}})
	<-entered
	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	close(release) // Close must wait for the delivery under way, then drop the rest
	<-closed
	checkNoGoroutine(t, runFn)
}

func TestOptionsRejectNonsense(t *testing.T) {
	for _, f := range []func(){func() { MTU(67) }, func() { MTU(65536) }, func() { QueueLen(0) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("option accepted an out-of-range value")
				}
			}()
			f()
		}()
	}
}

func TestSteadyStateWriteDeliverAllocatesNothing(t *testing.T) {
	for _, size := range []int{64, 1500} {
		a, b := Pair()
		done := make(chan struct{}, 1)
		b.Attach(link.ReceiverFunc(func([]byte) { done <- struct{}{} }))
		batch := [][]byte{make([]byte, size)}
		allocs := testing.AllocsPerRun(1000, func() {
			a.Write(batch)
			<-done
		})
		a.Close()
		if allocs != 0 {
			t.Errorf("%d-byte packet: %.2f allocations per Write+Deliver, want 0", size, allocs)
		}
	}
}
