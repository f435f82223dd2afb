package tcp

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"berth/wire"
)

// pipe joins two cores through an in-test network with seeded loss,
// duplication, reordering and delay, on a virtual clock. Side 0 connects;
// side 1 listens. Each side's "application" writes from a source and reads
// into a sink whenever it is polled, so a test can check that the sink is
// byte for byte what the other side wrote.
type pipe struct {
	tb       testing.TB
	cfg      *Config
	now      time.Time
	conns    [2]*Conn
	listener *Listener
	ends     [2]pipeEnd
	inflight []packet
	free     [][]byte // payload buffers to reuse
	rng      *rand.Rand

	loss, dup, reorder float64       // probabilities per segment
	hold               float64       // probability a segment waits for the next one its side sends (link/fault's Reorder(p, 0))
	held               [2][]Segment  // segments held back, per sending side
	delay              time.Duration // one-way delay
	jitter             time.Duration // extra random delay when reordered

	src    [2][]byte // what each side's application still has to write
	wrote  [2][]byte // everything each side's application wrote
	sink   [2][]byte // what each side's application read
	eof    [2]bool   // Read returned io.EOF
	closeW [2]bool   // CloseWrite once the source is drained
	readOK [2]bool   // the application reads (false: a stalled reader)
	rbuf   []byte

	delivered, dropped int
	trace              bool
}

type pipeEnd struct {
	p    *pipe
	side int
}

type packet struct {
	to  int
	at  time.Time
	seg Segment
}

func (e pipeEnd) SendSegment(local, remote netip.AddrPort, s *Segment) {
	e.p.send(e.side, s)
}

func newPipe(tb testing.TB, cfg *Config, seed uint64) *pipe {
	if cfg == nil {
		cfg = testConfig()
		cfg.isnFunc = nil
		cfg.Timestamps = true
	}
	p := &pipe{tb: tb, cfg: cfg, now: t0, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		delay: time.Millisecond, readOK: [2]bool{true, true}, rbuf: make([]byte, 64<<10)}
	p.ends = [2]pipeEnd{{p, 0}, {p, 1}}
	cfg.init(p.now)
	p.listener = NewListener(cfg, addrB, 16, 1460, p.ends[1])
	p.conns[0] = Connect(p.now, cfg, addrA, addrB, 1460, p.ends[0])
	return p
}

func (p *pipe) buf(n int) []byte {
	if k := len(p.free); k > 0 {
		b := p.free[k-1]
		p.free = p.free[:k-1]
		if cap(b) >= n {
			return b[:n]
		}
	}
	return make([]byte, n, max(n, 2048))
}

func (p *pipe) send(from int, s *Segment) {
	if s.Flags&wire.FlagSYN == 0 && len(s.Payload)+s.Options.Len() > 1460 {
		// Data and options together must fit the peer's MSS (RFC 6691
		// §2), or a full segment outgrows the path MTU.
		p.tb.Fatalf("side %d sent %d bytes of data with %d of options, over the MSS of 1460",
			from, len(s.Payload), s.Options.Len())
	}
	if p.rng.Float64() < p.loss {
		p.dropped++
		return
	}
	copies := 1
	if p.rng.Float64() < p.dup {
		copies = 2
	}
	if p.hold > 0 && len(p.held[from]) == 0 && p.rng.Float64() < p.hold {
		for range copies {
			c := *s
			c.Payload = append(p.buf(len(s.Payload))[:0], s.Payload...)
			p.held[from] = append(p.held[from], c)
		}
		return
	}
	for range copies {
		at := p.now.Add(p.delay)
		if p.rng.Float64() < p.reorder {
			at = at.Add(time.Duration(p.rng.Int64N(int64(p.jitter) + 1)))
		}
		c := *s
		c.Payload = append(p.buf(len(s.Payload))[:0], s.Payload...)
		p.inflight = append(p.inflight, packet{to: 1 - from, at: at, seg: c})
	}
	// Held segments follow the one that overtook them.
	for _, c := range p.held[from] {
		p.inflight = append(p.inflight, packet{to: 1 - from, at: p.now.Add(p.delay), seg: c})
	}
	p.held[from] = p.held[from][:0]
}

// deliver hands one packet to its side: to the connection if there is one,
// else to the listener (side 1), else answers as a closed port would.
func (p *pipe) deliver(k packet) {
	p.delivered++
	if p.trace {
		p.tb.Logf("%v to %d: %s ts %d/%d", p.now.Sub(t0), k.to, fmtSeg(&k.seg, true), k.seg.Options.TSVal, k.seg.Options.TSEcr)
	}
	c := p.conns[k.to]
	switch {
	case c != nil && c.State() != StateClosed:
		c.Input(p.now, &k.seg)
	case k.to == 1:
		if nc := p.listener.Input(p.now, addrA, addrB, &k.seg); nc != nil {
			p.conns[1] = nc
		}
	default:
		if r, ok := RSTFor(&k.seg, len(k.seg.Payload)); ok {
			p.send(k.to, &r)
		}
	}
	p.free = append(p.free, k.seg.Payload[:0])
}

// app runs both applications once: accept, write what fits, read what is
// there.
func (p *pipe) app() {
	if c := p.listener.Accept(); c != nil {
		p.conns[1] = c
	}
	for side, c := range p.conns {
		if c == nil {
			continue
		}
		c.TakeEvents()
		for len(p.src[side]) > 0 {
			n, err := c.Write(p.now, p.src[side][:min(len(p.src[side]), 16<<10)])
			p.wrote[side] = append(p.wrote[side], p.src[side][:n]...)
			p.src[side] = p.src[side][n:]
			if err != nil || n == 0 {
				break
			}
		}
		if len(p.src[side]) == 0 && p.closeW[side] && c.State() != StateSynSent && c.State() != StateSynReceived {
			c.CloseWrite(p.now)
			p.closeW[side] = false
		}
		for p.readOK[side] && !p.eof[side] {
			n, err := c.Read(p.now, p.rbuf)
			p.sink[side] = append(p.sink[side], p.rbuf[:n]...)
			if err == io.EOF {
				p.eof[side] = true
			}
			if err != nil || n == 0 {
				break
			}
		}
	}
}

// step delivers what is due, or else advances the clock to the next packet
// or timer. It reports false when nothing at all is left to happen.
func (p *pipe) step() bool {
	p.app()
	if len(p.inflight) > 0 {
		slices.SortStableFunc(p.inflight, func(a, b packet) int { return a.at.Compare(b.at) })
		if !p.inflight[0].at.After(p.now) {
			k := p.inflight[0]
			p.inflight = p.inflight[1:]
			p.deliver(k)
			return true
		}
	}
	next := time.Time{}
	if len(p.inflight) > 0 {
		next = p.inflight[0].at
	}
	for _, c := range p.conns {
		if c == nil {
			continue
		}
		if d := c.Deadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	if next.IsZero() {
		return false
	}
	if next.After(p.now) {
		p.now = next
	}
	for _, c := range p.conns {
		if c != nil {
			c.Tick(p.now)
		}
	}
	return true
}

// run steps until done reports true, nothing is left to do, or the virtual
// clock passes limit.
func (p *pipe) run(limit time.Duration, done func() bool) {
	end := p.now.Add(limit)
	for !done() && p.now.Before(end) {
		if !p.step() {
			p.app()
			if done() {
				return
			}
			break
		}
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// transfer sends n bytes each way (or one way) and checks that they arrive
// intact, then closes both sides.
func (p *pipe) transfer(n0, n1 int) {
	p.tb.Helper()
	p.src[0] = randomBytes(1, n0)
	p.src[1] = randomBytes(2, n1)
	p.closeW = [2]bool{true, true}
	start := p.now
	p.run(time.Hour, func() bool { return p.eof[0] && p.eof[1] })
	p.tb.Logf("%d+%d bytes in %v virtual; %d segments delivered, %d dropped; stats %+v",
		n0, n1, p.now.Sub(start), p.delivered, p.dropped, *p.cfg.Stats)
	for side := range 2 {
		if !bytes.Equal(p.sink[1-side], p.wrote[side]) || len(p.wrote[side]) != []int{n0, n1}[side] {
			p.tb.Fatalf("side %d wrote %d bytes, side %d read %d (equal prefix %v); a %v b %v",
				side, len(p.wrote[side]), 1-side, len(p.sink[1-side]),
				bytes.HasPrefix(p.wrote[side], p.sink[1-side]), p.conns[0].State(), p.conns[1].State())
		}
	}
}

func TestPipe_BulkOneWay(t *testing.T) {
	p := newPipe(t, nil, 1)
	p.transfer(3<<20, 0)
	p.run(time.Hour, func() bool { return false })
	for _, c := range p.conns {
		if c.State() != StateClosed {
			t.Fatalf("after both closed and 2 MSL: %v", c.State())
		}
	}
	if rt := p.cfg.Stats.RetransSegs; rt != 0 {
		t.Fatalf("%d retransmissions on a perfect link", rt)
	}
}

func TestPipe_BulkBothWaysNoTimestamps(t *testing.T) {
	cfg := testConfig()
	cfg.isnFunc = nil
	p := newPipe(t, cfg, 2)
	p.transfer(1<<20, 1<<20)
}

func TestPipe_LossyReorderingDuplicating(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		p := newPipe(t, nil, seed)
		p.loss, p.dup, p.reorder, p.jitter = 0.03, 0.01, 0.05, 5*time.Millisecond
		p.transfer(512<<10, 256<<10)
		if p.cfg.Stats.RetransSegs == 0 {
			t.Fatalf("seed %d: no retransmissions with 3%% loss", seed)
		}
	}
}

func TestPipe_HeavyLoss(t *testing.T) {
	p := newPipe(t, nil, 99)
	p.loss = 0.2
	p.transfer(128<<10, 0)
}

func TestPipe_StalledReaderZeroWindow(t *testing.T) {
	// The reader stops; the sender fills the window, probes the zero
	// window, and completes once the reader resumes.
	cfg := testConfig()
	cfg.isnFunc = nil
	cfg.RcvBuf = 64 << 10
	p := newPipe(t, cfg, 3)
	p.src[0] = randomBytes(1, 1<<20)
	p.readOK[1] = false
	p.run(30*time.Second, func() bool { return false })
	// Receiver SWS avoidance keeps the last sliver of the buffer closed.
	if got := p.conns[1].Info().RecvQueue; got > 64<<10 || got < 64<<10-1460 {
		t.Fatalf("receiver buffered %d bytes, want its whole buffer", got)
	}
	if p.cfg.Stats.PersistProbes == 0 {
		t.Fatal("no zero-window probes")
	}
	mustState(t, p.conns[0], StateEstablished)
	p.readOK[1] = true
	p.closeW[0] = true
	p.run(time.Hour, func() bool { return p.eof[1] })
	if !bytes.Equal(p.sink[1], p.wrote[0]) || len(p.sink[1]) != 1<<20 {
		t.Fatalf("read %d bytes", len(p.sink[1]))
	}
}

func TestPipe_SequenceNumbersWrap(t *testing.T) {
	// Both ISNs just below 2^32: every comparison crosses the wrap.
	cfg := testConfig()
	cfg.Timestamps = true
	setISNs(cfg, 0xffffff00, 0xfffff000)
	p := newPipe(t, cfg, 5)
	p.loss, p.reorder, p.jitter = 0.02, 0.05, 3*time.Millisecond
	p.transfer(256<<10, 256<<10)
	if p.conns[0].iss != 0xffffff00 || uint32(p.conns[0].sndUna) > 1<<20 {
		t.Fatalf("did not wrap: ISS %d UNA %d", p.conns[0].iss, p.conns[0].sndUna)
	}
}
