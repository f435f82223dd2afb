package gvisorpeer

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"berth/link/fault"
)

var (
	faultSeed = flag.Int64("seed", 1, "seed of the lossy link's impairments")
	monitor   = flag.Duration("monitor", 0, "log berth's TCP socket rows every `interval` during transfers")
)

// transferSize is what each direction carries in the transfer tests: the
// 64 MiB each way of berth's acceptance criteria against gVisor. Under
// -race both transfers together take about 17 s per test on two cores, so
// the race run carries the full size too.
const transferSize = 64 << 20

// transferLimit bounds each transfer test. It is several times what the
// slowest run takes (the lossy one under -race on a loaded machine); a
// transfer still running then has stalled, and the test says where.
const transferLimit = 3 * time.Minute

// chunk is what a sender hands to each Write and a receiver to each Read.
const chunk = 64 << 10

// stream is one direction of a transfer on its own connection: the sender
// writes size pseudo-random bytes and half-closes; the receiver hashes all
// it reads until io.EOF and closes, which the sender reads as io.EOF.
type stream struct {
	name       string
	seed       uint64
	size       int64
	sent, read atomic.Int64

	sendSum, readSum []byte
	sendErr, readErr error
	took             time.Duration // from the first write to the receiver's EOF
}

func (s *stream) send(c net.Conn) {
	defer c.Close()
	rng := rand.NewChaCha8([32]byte{byte(s.seed), byte(s.seed >> 8), 'g', 'v'})
	h := sha256.New()
	buf := make([]byte, chunk)
	for left := s.size; left > 0; {
		b := buf[:min(left, chunk)]
		rng.Read(b)
		h.Write(b)
		n, err := c.Write(b)
		s.sent.Add(int64(n))
		left -= int64(n)
		if err != nil {
			s.sendErr = fmt.Errorf("write after %d bytes: %w", s.sent.Load(), err)
			return
		}
	}
	s.sendSum = h.Sum(nil)
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		s.sendErr = fmt.Errorf("CloseWrite: %w", err)
		return
	}
	// The receiver closes once it has read everything: its FIN is our EOF.
	if n, err := io.Copy(io.Discard, c); n != 0 || err != nil {
		s.sendErr = fmt.Errorf("sender waiting for the receiver's FIN: read %d bytes, err %v", n, err)
	}
}

func (s *stream) receive(c net.Conn, start time.Time) {
	defer c.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(countingHash{h, &s.read}, onlyReader{c}, make([]byte, chunk))
	s.took = time.Since(start)
	s.readSum = h.Sum(nil)
	if err != nil {
		s.readErr = fmt.Errorf("read after %d bytes: %w", n, err)
	}
}

// countingHash hashes what it is written and counts the bytes.
type countingHash struct {
	h hash.Hash
	n *atomic.Int64
}

func (w countingHash) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// onlyReader hides a conn's WriterTo, so io.CopyBuffer reads with our buffer.
type onlyReader struct{ io.Reader }

func (s *stream) String() string {
	return fmt.Sprintf("%s: sent %d, read %d of %d bytes", s.name, s.sent.Load(), s.read.Load(), s.size)
}

// transfer moves size bytes each way at once, on two connections opened in
// opposite directions: berth dials gVisor and sends, and gVisor dials berth
// and sends. It fails, describing both stacks, if the transfers take
// longer than limit or any byte differs.
func transfer(t *testing.T, p *peers, size int64, limit time.Duration) {
	t.Helper()
	berthLn := p.berthListen(t, 5001)
	gvLn := p.gvListen(t, 5002)

	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	type accepted struct {
		c   net.Conn
		err error
	}
	acceptOne := func(ln net.Listener) <-chan accepted {
		ch := make(chan accepted, 1)
		go func() {
			c, err := ln.Accept()
			ch <- accepted{c, err}
		}()
		return ch
	}
	atBerth, atGV := acceptOne(berthLn), acceptOne(gvLn)
	fromGV, err := p.gvDial(ctx, 5001)
	if err != nil {
		t.Fatalf("gVisor dial berth: %v\n%s", err, p.diagnose())
	}
	fromBerth, err := p.berthDial(ctx, 5002)
	if err != nil {
		fromGV.Close()
		t.Fatalf("berth dial gVisor: %v\n%s", err, p.diagnose())
	}
	var a1, a2 accepted
	for _, w := range []struct {
		ch  <-chan accepted
		got *accepted
	}{{atBerth, &a1}, {atGV, &a2}} {
		select {
		case *w.got = <-w.ch:
		case <-ctx.Done():
			t.Fatalf("connected, but accept did not return within %v\n%s", limit, p.diagnose())
		}
	}
	if a1.err != nil || a2.err != nil {
		t.Fatalf("accept: berth %v, gVisor %v", a1.err, a2.err)
	}
	conns := []net.Conn{fromGV, fromBerth, a1.c, a2.c}

	toGV := &stream{name: "berth→gVisor", seed: 1, size: size}
	toBerth := &stream{name: "gVisor→berth", seed: 2, size: size}
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() { toGV.send(fromBerth) })
	wg.Go(func() { toGV.receive(a2.c, start) })
	wg.Go(func() { toBerth.send(fromGV) })
	wg.Go(func() { toBerth.receive(a1.c, start) })

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	stalls := make(chan time.Duration, 1)
	go func() { stalls <- worstStall(done) }()
	if *monitor > 0 {
		go p.monitor(t, *monitor, done, toGV, toBerth)
	}
	select {
	case <-done:
	case <-time.After(limit):
		t.Errorf("transfers not done after %v:\n  %v\n  %v\n%s", limit, toGV, toBerth, p.diagnose())
		for _, c := range conns {
			c.Close()
		}
		p.h.Close()
		<-done
		t.Logf("longest the process went unscheduled: %v", <-stalls)
		return
	}
	total := time.Since(start)
	stall := <-stalls

	for _, s := range []*stream{toGV, toBerth} {
		if s.sendErr != nil {
			t.Errorf("%s sender: %v", s.name, s.sendErr)
		}
		if s.readErr != nil {
			t.Errorf("%s receiver: %v", s.name, s.readErr)
		}
		if got := s.read.Load(); got != size {
			t.Errorf("%s: read %d bytes, want %d", s.name, got, size)
		} else if string(s.readSum) != string(s.sendSum) {
			t.Errorf("%s: SHA-256 of what arrived %x, of what was sent %x", s.name, s.readSum, s.sendSum)
		}
		t.Logf("%s: %d MiB in %v, %.0f Mbit/s", s.name, size>>20, s.took.Round(time.Millisecond),
			float64(size)*8/s.took.Seconds()/1e6)
	}
	t.Logf("both directions done in %v; longest the process went unscheduled: %v (a loaded machine stalls both stacks' timers alike)",
		total.Round(time.Millisecond), stall.Round(time.Millisecond))
	if t.Failed() {
		t.Logf("%s", p.diagnose())
	}
}

// worstStall measures, until done is closed, the longest a 5 ms ticker
// fired late: how long the process (both stacks, their timers and the
// test) went without running, on a machine shared with other work.
func worstStall(done <-chan struct{}) time.Duration {
	const every = 5 * time.Millisecond
	tick := time.NewTicker(every)
	defer tick.Stop()
	var worst time.Duration
	last := time.Now()
	for {
		select {
		case <-done:
			return worst
		case now := <-tick.C:
			worst = max(worst, now.Sub(last)-every)
			last = now
		}
	}
}

// monitor logs the transfers' progress and berth's connection rows until
// done is closed.
func (p *peers) monitor(t *testing.T, every time.Duration, done <-chan struct{}, streams ...*stream) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%8v", time.Since(start).Round(time.Millisecond))
		for _, s := range streams {
			fmt.Fprintf(&b, " | %s %d/%d", s.name, s.read.Load(), s.size)
		}
		for _, s := range p.h.Sockets() {
			if s.Proto == "tcp" && s.Remote.IsValid() {
				fmt.Fprintf(&b, "\n    %v->%v %s sendq=%d recvq=%d rtt=%v rto=%v cwnd=%d ssthresh=%d retrans=%d",
					s.Local, s.Remote, s.State, s.SendQ, s.RecvQ, s.RTT, s.RTO, s.Cwnd, s.Ssthresh, s.Retransmits)
			}
		}
		t.Log(b.String())
	}
}

// lossy is the impaired link of the lossy transfer: each way, 1% loss,
// 0.5% duplication and 1% of packets held back behind the next one.
func lossy(seed int64) []fault.Option {
	return []fault.Option{
		fault.Seed(seed),
		fault.Loss(0.01),
		fault.Duplicate(0.005),
		fault.Reorder(0.01, 0),
	}
}

// TestTransfer_Clean: transferSize bytes each way at once, on a clean link.
func TestTransfer_Clean(t *testing.T) {
	p := newPeers(t, setup{})
	transfer(t, p, transferSize, transferLimit)
	p.checkClean(t)
}

// TestTransfer_Lossy: transferSize bytes each way at once through link/fault
// with loss, duplication and reordering in both directions.
func TestTransfer_Lossy(t *testing.T) {
	p := newPeers(t, setup{faults: lossy(*faultSeed)})
	transfer(t, p, transferSize, transferLimit)
	out, in := p.faults.StatsOf(fault.Outbound), p.faults.StatsOf(fault.Inbound)
	t.Logf("faults berth→gVisor %+v", out)
	t.Logf("faults gVisor→berth %+v", in)
	for _, d := range []fault.Stats{out, in} {
		if d.Dropped == 0 || d.Duplicated == 0 || d.Reordered == 0 {
			t.Errorf("the link was not lossy both ways: %+v / %+v", out, in)
			break
		}
	}
	st := p.h.Stack().Stats().Tcp
	if st.RetransSegs == 0 || p.gv.Stats().TCP.Retransmits.Value() == 0 {
		t.Errorf("a stack recovered from loss without retransmitting: berth %d, gVisor %d",
			st.RetransSegs, p.gv.Stats().TCP.Retransmits.Value())
	}
	t.Logf("berth: RetransSegs=%d FastRetransmits=%d Timeouts=%d; gVisor: Retransmits=%d FastRetransmit=%d Timeouts=%d",
		st.RetransSegs, st.FastRetransmits, st.Timeouts,
		p.gv.Stats().TCP.Retransmits.Value(), p.gv.Stats().TCP.FastRetransmit.Value(), p.gv.Stats().TCP.Timeouts.Value())
}
