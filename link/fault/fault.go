// Package fault wraps a link and impairs its packets: loss, duplication,
// reordering, bit corruption, delay with jitter, and a rate limit with a
// bounded queue. It is how berth's tests meet a hostile network on purpose.
//
// Every decision comes from a seeded random stream (PCG from math/rand/v2),
// one stream per direction, and each packet draws the same fixed sequence of
// numbers whatever impairments are on: loss, corrupt, bit position,
// duplicate, reorder, jitter. So the same seed and the same packets in the
// same order give the same drops, flips and delays on every run, and turning
// one impairment on or off does not change another's decisions.
//
// By default only the outbound (Write) path is impaired; On(Inbound) or
// On(Both) impairs packets the wrapped link delivers as well. Delays are
// timed on a clock.Clock: clock.Real by default, which inside a
// testing/synctest bubble runs on the bubble's virtual time, or a
// clock.Manual that a test advances by hand.
package fault

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"berth/link"
)

// Link is a link.Link whose packets are impaired. It owns the wrapped link:
// Close closes it.
type Link struct {
	inner link.Link
	cfg   atomic.Pointer[config]
	setMu sync.Mutex // serializes Set

	out, in dir

	recv      atomic.Pointer[receiver]
	deliverMu sync.Mutex // one Deliver at a time, from the wrapped link or a timer

	mu      sync.Mutex // guards pending; closed is set under it
	closed  atomic.Bool
	pending map[*delayed]struct{}
	wg      sync.WaitGroup // one per pending or firing timer
	once    sync.Once
	err     error // from closing the wrapped link

	bufs sync.Pool // *pbuf copies of packets that outlive the call they came in
}

var _ link.Link = (*Link)(nil)

type receiver struct{ r link.Receiver }

// dir is the state of one direction.
type dir struct {
	mu        sync.Mutex
	which     Direction
	rng       *rand.Rand
	held      []*pbuf   // Reorder(p, 0): waiting for the next packet
	busyUntil time.Time // Rate: when the last accepted packet has left
	stats     Stats

	// Scratch for one call, reused: packets to pass on now, and the
	// copies to recycle once they have been passed on. The outbound ones
	// are guarded by mu; the inbound ones belong to the wrapped link's
	// delivering goroutine (deliveries never overlap).
	now  [][]byte
	done []*pbuf
}

// pbuf is a pooled copy of a packet.
type pbuf struct{ b []byte }

// delayed is a group of packets waiting on a timer.
type delayed struct {
	d    *dir
	pkts []*pbuf
	t    interface{ Stop() bool }
}

// Streams of the PCG generator, one per direction, so that the two
// directions draw independent sequences from one seed.
const (
	streamOut = 0x6f7574626f756e64 // "outbound"
	streamIn  = 0x696e626f756e6421 // "inbound!"
)

// Wrap returns l with the impairments opts describe. With no options it
// passes every packet through unchanged.
func Wrap(l link.Link, opts ...Option) *Link {
	c := defaults()
	for _, o := range opts {
		o(&c)
	}
	c.reseed = false
	f := &Link{
		inner:   l,
		out:     dir{which: Outbound},
		in:      dir{which: Inbound},
		pending: make(map[*delayed]struct{}),
	}
	f.out.seed(c.seed)
	f.in.seed(c.seed)
	f.cfg.Store(&c)
	l.Attach(link.ReceiverFunc(f.input))
	return f
}

func (d *dir) seed(s int64) {
	stream := uint64(streamOut)
	if d.which == Inbound {
		stream = streamIn
	}
	d.rng = rand.New(rand.NewPCG(uint64(s), stream))
}

// Set changes impairments while the link runs (a partition is
// Set(Loss(1)), healing it Set(Loss(0))). Packets already delayed keep
// their schedule.
func (f *Link) Set(opts ...Option) {
	f.setMu.Lock()
	defer f.setMu.Unlock()
	c := *f.cfg.Load()
	c.reseed = false
	for _, o := range opts {
		o(&c)
	}
	if c.reseed {
		for _, d := range []*dir{&f.out, &f.in} {
			d.mu.Lock()
			d.seed(c.seed)
			d.mu.Unlock()
		}
		c.reseed = false
	}
	f.cfg.Store(&c)
}

// Unwrap returns the wrapped link.
func (f *Link) Unwrap() link.Link { return f.inner }

// MTU is the wrapped link's.
func (f *Link) MTU() int { return f.inner.MTU() }

// Attach sets the receiver of inbound packets; nil detaches.
func (f *Link) Attach(r link.Receiver) {
	if r == nil {
		f.recv.Store(nil)
		return
	}
	f.recv.Store(&receiver{r})
}

// Write impairs pkts and writes what survives, now or when its delay ends.
// Packets that are dropped count as taken, as on a lossy wire. Write stops
// at the first packet larger than the MTU with ErrTooBig; an error from the
// wrapped link is returned with a count of 0.
func (f *Link) Write(pkts [][]byte) (int, error) {
	d := &f.out
	d.mu.Lock()
	defer d.mu.Unlock()
	if f.closed.Load() {
		return 0, link.ErrClosed
	}
	c := f.cfg.Load()
	mtu := f.inner.MTU()
	n, tooBig := len(pkts), false
	var now time.Time
	if c.dirs&Outbound != 0 {
		now = c.clk.Now()
	}
	for i, p := range pkts {
		if len(p) > mtu {
			n, tooBig = i, true
			break
		}
		if c.dirs&Outbound == 0 {
			d.now = append(d.now, p)
			continue
		}
		f.impair(d, c, p, now)
	}
	var err error
	if len(d.now) > 0 {
		d.stats.Passed += uint64(len(d.now))
		_, err = f.inner.Write(d.now)
	}
	d.reset(f)
	switch {
	case err != nil:
		return 0, err
	case tooBig:
		return n, link.ErrTooBig
	}
	return n, nil
}

// input takes a packet from the wrapped link.
func (f *Link) input(p []byte) {
	if f.closed.Load() {
		return
	}
	d := &f.in
	c := f.cfg.Load()
	if c.dirs&Inbound == 0 {
		d.mu.Lock()
		d.stats.Passed++
		d.mu.Unlock()
		f.deliver(p)
		return
	}
	d.mu.Lock()
	f.impair(d, c, p, c.clk.Now())
	d.stats.Passed += uint64(len(d.now))
	d.mu.Unlock()
	// Deliver outside d.mu: a receiver may call Stats or Write.
	for _, q := range d.now {
		f.deliver(q)
	}
	d.reset(f)
}

func (f *Link) deliver(p []byte) {
	f.deliverMu.Lock()
	defer f.deliverMu.Unlock()
	if r := f.recv.Load(); r != nil {
		r.r.Deliver(p)
	}
}

// reset recycles the scratch of one call.
func (d *dir) reset(f *Link) {
	clear(d.now)
	d.now = d.now[:0]
	for i, b := range d.done {
		f.put(b)
		d.done[i] = nil
	}
	d.done = d.done[:0]
}

// draws are the random numbers one packet consumes, always all of them and
// always in this order, so that decisions stay aligned with the seed.
type draws struct {
	loss, corrupt float64
	bit           uint64
	dup, reorder  float64
	jitter        float64
}

func (d *dir) draw() (u draws) {
	u.loss = d.rng.Float64()
	u.corrupt = d.rng.Float64()
	u.bit = d.rng.Uint64()
	u.dup = d.rng.Float64()
	u.reorder = d.rng.Float64()
	u.jitter = d.rng.Float64()
	return u
}

// impair decides p's fate; d.mu is held. Packets to pass on at once go to
// d.now (aliasing p when unchanged, so they must be passed on before the
// caller's p is gone); later ones are copied and scheduled.
func (f *Link) impair(d *dir, c *config, p []byte, now time.Time) {
	u := d.draw()
	if u.loss < c.loss {
		d.stats.Dropped++
		return
	}

	data, copied := p, (*pbuf)(nil)
	if u.corrupt < c.corrupt && len(p) > 0 {
		copied = f.get(p) // never flip bits in the caller's buffer
		data = copied.b
		bit := u.bit % uint64(len(data)*8)
		data[bit/8] ^= 1 << (bit % 8)
		d.stats.Corrupted++
	}

	copies := 1
	if u.dup < c.dup {
		copies = 2
		d.stats.Duplicated++
	}

	delay := c.delay
	if c.jitter > 0 {
		delay += time.Duration((2*u.jitter - 1) * float64(c.jitter))
		delay = max(delay, 0)
	}

	hold := false
	if u.reorder < c.reorder && (c.reorderBy > 0 || len(d.held) == 0) {
		d.stats.Reordered++
		if c.reorderBy > 0 {
			delay += c.reorderBy
		} else {
			hold = true
		}
	}

	if c.rateBps > 0 {
		wait, ok := d.serialize(c, now, copies*len(data))
		if !ok {
			d.stats.Overflow += uint64(copies)
			if copied != nil {
				f.put(copied)
			}
			return
		}
		delay += wait
	}

	// From here on the packet goes out. Copies that outlive this call
	// (held, delayed) or that a receiver could see modified (the second of
	// a duplicate, delivered after the first) come from the pool.
	own := func() *pbuf {
		if copied != nil {
			b := copied
			copied = nil
			return b
		}
		return f.get(data)
	}
	if hold {
		for range copies {
			d.held = append(d.held, own())
		}
		return
	}
	if delay > 0 {
		group := make([]*pbuf, 0, copies+len(d.held))
		for range copies {
			group = append(group, own())
		}
		d.stats.Delayed += uint64(copies)
		group = append(group, d.held...)
		clear(d.held)
		d.held = d.held[:0]
		f.schedule(d, group, c, delay)
		return
	}
	if copied != nil {
		d.done = append(d.done, copied)
	}
	d.now = append(d.now, data)
	if copies == 2 {
		b := f.get(data)
		d.done = append(d.done, b)
		d.now = append(d.now, b.b)
	}
	for _, b := range d.held {
		d.now = append(d.now, b.b)
		d.done = append(d.done, b)
	}
	clear(d.held)
	d.held = d.held[:0]
}

// serialize runs the token bucket of Rate: the link sends rateBps bits per
// second, one packet after another, with at most rateQueue bytes waiting.
// It returns how long the packet waits until its last bit has left.
func (d *dir) serialize(c *config, now time.Time, size int) (time.Duration, bool) {
	start := now
	if d.busyUntil.After(now) {
		start = d.busyUntil
	}
	// Bytes not yet sent. In float64: duration × rate overflows uint64
	// for long backlogs on fast links, and float64 is as deterministic.
	backlog := float64(start.Sub(now)) * float64(c.rateBps) / 8e9
	if backlog+float64(size) > float64(c.rateQueue) {
		return 0, false
	}
	d.busyUntil = start.Add(time.Duration(uint64(size) * 8 * uint64(time.Second) / c.rateBps))
	return d.busyUntil.Sub(now), true
}

// schedule sends group after delay; d.mu is held.
func (f *Link) schedule(d *dir, group []*pbuf, c *config, delay time.Duration) {
	x := &delayed{d: d, pkts: group}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed.Load() {
		f.putAll(group)
		return
	}
	f.wg.Add(1)
	f.pending[x] = struct{}{}
	// A real timer may fire at once; fire then waits for f.mu, so x.t is
	// set before anyone reads it.
	x.t = c.clk.AfterFunc(delay, func() { f.fire(x) })
}

func (f *Link) fire(x *delayed) {
	f.mu.Lock()
	_, ok := f.pending[x]
	delete(f.pending, x)
	f.mu.Unlock()
	if !ok {
		return // Close stopped it and accounted for it
	}
	defer f.wg.Done()
	defer f.putAll(x.pkts)
	if f.closed.Load() {
		return
	}
	x.d.mu.Lock()
	x.d.stats.Passed += uint64(len(x.pkts))
	x.d.mu.Unlock()
	if x.d.which == Inbound {
		for _, b := range x.pkts {
			f.deliver(b.b)
		}
		return
	}
	pkts := make([][]byte, len(x.pkts))
	for i, b := range x.pkts {
		pkts[i] = b.b
	}
	f.inner.Write(pkts) // nobody to report to: an error here is a loss
}

// Close discards delayed and held packets, waits for timers already
// firing, and closes the wrapped link. It is idempotent.
func (f *Link) Close() error {
	f.once.Do(func() {
		f.mu.Lock()
		f.closed.Store(true)
		for x := range f.pending {
			if x.t.Stop() {
				delete(f.pending, x)
				f.putAll(x.pkts)
				f.wg.Done()
			}
		}
		f.mu.Unlock()
		f.wg.Wait()
		for _, d := range []*dir{&f.out, &f.in} {
			d.mu.Lock()
			f.putAll(d.held)
			d.held = nil
			d.mu.Unlock()
		}
		f.err = f.inner.Close()
	})
	return f.err
}

// Stats sums both directions' counters.
func (f *Link) Stats() Stats {
	s := f.StatsOf(Outbound)
	s.add(f.StatsOf(Inbound))
	return s
}

// StatsOf returns one direction's counters.
func (f *Link) StatsOf(which Direction) Stats {
	d := &f.out
	if which == Inbound {
		d = &f.in
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (f *Link) get(p []byte) *pbuf {
	b, _ := f.bufs.Get().(*pbuf)
	if b == nil {
		b = new(pbuf)
	}
	b.b = append(b.b[:0], p...)
	return b
}

func (f *Link) put(b *pbuf) { f.bufs.Put(b) }

func (f *Link) putAll(bs []*pbuf) {
	for _, b := range bs {
		f.put(b)
	}
}
