package fault

import (
	"bytes"
	"errors"
	"math"
	"math/bits"
	"slices"
	"testing"
	"time"

	"berth/clock"
	"berth/link"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sendN writes packets 0..n-1 one per Write.
func sendN(t *testing.T, f *Link, n, size int) {
	t.Helper()
	for i := range n {
		if k, err := f.Write([][]byte{pkt(uint32(i), size)}); k != 1 || err != nil {
			t.Fatalf("Write %d = %d, %v", i, k, err)
		}
	}
}

func lossRun(t *testing.T, seed int64, extra ...Option) ([]uint32, Stats) {
	t.Helper()
	r := newRec()
	f := Wrap(r, append([]Option{Seed(seed), Loss(0.3)}, extra...)...)
	defer f.Close()
	sendN(t, f, 10000, 40)
	return r.seqs(), f.Stats()
}

func TestLossIsStatisticalAndReproducible(t *testing.T) {
	got, st := lossRun(t, 1234)
	lost := 10000 - len(got)
	// Binomial(10000, 0.3): mean 3000, sd √(10000·0.3·0.7) ≈ 45.8; allow 5 sd.
	if sd := math.Sqrt(10000 * 0.3 * 0.7); math.Abs(float64(lost)-3000) > 5*sd {
		t.Fatalf("lost %d of 10000 at p=0.3", lost)
	}
	if st.Dropped != uint64(lost) || st.Passed != uint64(len(got)) {
		t.Fatalf("stats %+v, but %d lost and %d passed", st, lost, len(got))
	}
	if !slices.IsSorted(got) {
		t.Fatal("loss alone reordered packets")
	}
	again, _ := lossRun(t, 1234)
	if !slices.Equal(got, again) {
		t.Fatal("same seed dropped different packets")
	}
	other, _ := lossRun(t, 1235)
	if slices.Equal(got, other) {
		t.Fatal("another seed dropped the very same packets")
	}
	// Each packet draws all its numbers whatever is enabled, so turning
	// duplication on leaves the loss decisions where they were.
	withDup, st := lossRun(t, 1234, Duplicate(0.5))
	if st.Duplicated == 0 || !slices.Equal(got, slices.Compact(withDup)) {
		t.Fatal("enabling duplication changed which packets were lost")
	}
}

func TestCorruptFlipsExactlyOneBit(t *testing.T) {
	r := newRec()
	f := Wrap(r, Seed(9), Corrupt(1))
	defer f.Close()
	var sent [][]byte
	for i := range 500 {
		p := pkt(uint32(i), 20+i%100)
		orig := bytes.Clone(p)
		f.Write([][]byte{p})
		if !bytes.Equal(p, orig) {
			t.Fatal("Corrupt modified the caller's buffer")
		}
		sent = append(sent, orig)
	}
	positions := map[int]bool{}
	for i, got := range r.packets() {
		if len(got) != len(sent[i]) {
			t.Fatalf("packet %d changed length", i)
		}
		flipped := 0
		for j := range got {
			if x := got[j] ^ sent[i][j]; x != 0 {
				flipped += bits.OnesCount8(x)
				positions[j*8+bits.TrailingZeros8(x)] = true
			}
		}
		if flipped != 1 {
			t.Fatalf("packet %d has %d bits flipped, want 1", i, flipped)
		}
	}
	if len(positions) < 200 {
		t.Fatalf("flips hit only %d distinct bit positions in 500 packets", len(positions))
	}
	if st := f.Stats(); st.Corrupted != 500 {
		t.Fatalf("Corrupted = %d", st.Corrupted)
	}
}

func TestDuplicateDeliversTwice(t *testing.T) {
	r := newRec()
	f := Wrap(r, Duplicate(1))
	defer f.Close()
	sendN(t, f, 50, 64)
	got := r.packets()
	if len(got) != 100 {
		t.Fatalf("%d packets out, want 100", len(got))
	}
	for i := range 50 {
		want := pkt(uint32(i), 64)
		if !bytes.Equal(got[2*i], want) || !bytes.Equal(got[2*i+1], want) {
			t.Fatalf("packet %d not sent twice in a row", i)
		}
	}
	if st := f.Stats(); st.Duplicated != 50 || st.Passed != 100 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDelayHoldsForConfiguredTime(t *testing.T) {
	clk := clock.NewManual(epoch)
	r := newRec()
	f := Wrap(r, Clock(clk), Delay(50*time.Millisecond, 0))
	defer f.Close()
	sendN(t, f, 3, 40)
	if n := len(r.packets()); n != 0 {
		t.Fatalf("%d packets out before the delay", n)
	}
	clk.Advance(49 * time.Millisecond)
	if n := len(r.packets()); n != 0 {
		t.Fatalf("%d packets out after 49ms of 50ms", n)
	}
	clk.Advance(time.Millisecond)
	if got := r.seqs(); !slices.Equal(got, []uint32{0, 1, 2}) {
		t.Fatalf("after 50ms got %v", got)
	}
	if st := f.Stats(); st.Delayed != 3 || st.Passed != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestJitterStaysInBounds(t *testing.T) {
	clk := clock.NewManual(epoch)
	r := newRec()
	f := Wrap(r, Seed(3), Clock(clk), Delay(100*time.Millisecond, 20*time.Millisecond))
	defer f.Close()
	arrivals := map[time.Duration]int{}
	f.inner = &stampLink{recLink: r, clk: clk, at: arrivals}
	sendN(t, f, 200, 40)
	clk.Advance(time.Second)
	total := 0
	for d, n := range arrivals {
		if d < 80*time.Millisecond || d > 120*time.Millisecond {
			t.Fatalf("packet arrived after %v, want 100ms ± 20ms", d)
		}
		total += n
	}
	if total != 200 || len(arrivals) < 100 {
		t.Fatalf("%d packets over %d distinct delays", total, len(arrivals))
	}
}

// stampLink records, per write, how long after epoch it happened.
type stampLink struct {
	*recLink
	clk *clock.Manual
	at  map[time.Duration]int
}

func (s *stampLink) Write(p [][]byte) (int, error) {
	s.at[s.clk.Now().Sub(epoch)] += len(p)
	return s.recLink.Write(p)
}

func TestReorderHoldUntilNext(t *testing.T) {
	r := newRec()
	// With p = 1 every packet that finds no packet held is held; the next
	// one releases it and goes first: pairs swap.
	f := Wrap(r, Reorder(1, 0))
	defer f.Close()
	sendN(t, f, 6, 40)
	if got := r.seqs(); !slices.Equal(got, []uint32{1, 0, 3, 2, 5, 4}) {
		t.Fatalf("order %v, want pairs swapped", got)
	}
	if st := f.Stats(); st.Reordered != 3 {
		t.Fatalf("Reordered = %d, want 3", st.Reordered)
	}
}

func TestReorderByDelayLetsOthersOvertake(t *testing.T) {
	clk := clock.NewManual(epoch)
	r := newRec()
	f := Wrap(r, Seed(5), Clock(clk), Reorder(0.3, 10*time.Millisecond))
	defer f.Close()
	sendN(t, f, 100, 40)
	st := f.Stats()
	if len(r.packets()) != 100-int(st.Reordered) {
		t.Fatalf("%d sent at once, but %d reordered of 100", len(r.packets()), st.Reordered)
	}
	clk.Advance(10 * time.Millisecond)
	got := r.seqs()
	if slices.IsSorted(got) {
		t.Fatal("order unchanged")
	}
	if slices.Sort(got); !slices.Equal(got, seqRange(100)) {
		t.Fatalf("lost or duplicated packets: %v", got)
	}
}

func seqRange(n int) []uint32 {
	s := make([]uint32, n)
	for i := range s {
		s[i] = uint32(i)
	}
	return s
}

func TestRateSerializesAndTailDrops(t *testing.T) {
	clk := clock.NewManual(epoch)
	r := newRec()
	// 8000 bit/s is 1000 bytes a second; up to 3000 bytes may wait.
	f := Wrap(r, Clock(clk), Rate(8000, 3000))
	defer f.Close()
	sendN(t, f, 5, 1000)
	if st := f.Stats(); st.Overflow != 2 || st.Delayed != 3 {
		t.Fatalf("stats %+v, want 3 queued and 2 tail-dropped", st)
	}
	for want := 1; want <= 3; want++ {
		clk.Advance(999 * time.Millisecond)
		if n := len(r.packets()); n != want-1 {
			t.Fatalf("at %v: %d packets out, want %d", clk.Now().Sub(epoch), n, want-1)
		}
		clk.Advance(time.Millisecond)
		if n := len(r.packets()); n != want {
			t.Fatalf("at %v: %d packets out, want %d", clk.Now().Sub(epoch), n, want)
		}
	}
	// The queue has drained: a packet now leaves one serialization later.
	f.Write([][]byte{pkt(9, 500)})
	clk.Advance(500 * time.Millisecond)
	if got := r.seqs(); !slices.Equal(got, []uint32{0, 1, 2, 9}) {
		t.Fatalf("got %v", got)
	}
}

func TestInboundOnlyWhenAsked(t *testing.T) {
	r := newRec()
	f := Wrap(r, Loss(1)) // default: outbound only
	defer f.Close()
	var c collector
	f.Attach(&c)
	r.inject(pkt(1, 40))
	f.Write([][]byte{pkt(2, 40)})
	if got := c.seqs(); !slices.Equal(got, []uint32{1}) || len(r.packets()) != 0 {
		t.Fatalf("inbound %v, outbound %d: want inbound untouched, outbound lost", got, len(r.packets()))
	}
	f.Set(On(Inbound))
	r.inject(pkt(3, 40))
	f.Write([][]byte{pkt(4, 40)})
	if got := c.seqs(); !slices.Equal(got, []uint32{1}) || !slices.Equal(r.seqs(), []uint32{4}) {
		t.Fatalf("inbound %v, outbound %v after On(Inbound)", got, r.seqs())
	}
	if in, out := f.StatsOf(Inbound), f.StatsOf(Outbound); in.Dropped != 1 || out.Dropped != 1 {
		t.Fatalf("inbound %+v outbound %+v", in, out)
	}
}

func TestInboundDuplicateIsACopy(t *testing.T) {
	r := newRec()
	f := Wrap(r, On(Both), Duplicate(1), Delay(0, 0))
	defer f.Close()
	var got [][]byte
	f.Attach(link.ReceiverFunc(func(p []byte) {
		got = append(got, bytes.Clone(p))
		p[0] = 0xee // receivers may modify in place
	}))
	r.inject(pkt(7, 40))
	if len(got) != 2 || !bytes.Equal(got[0], pkt(7, 40)) || !bytes.Equal(got[1], pkt(7, 40)) {
		t.Fatalf("got %x", got)
	}
}

func TestInboundDelayOnManualClock(t *testing.T) {
	clk := clock.NewManual(epoch)
	r := newRec()
	f := Wrap(r, On(Inbound), Clock(clk), Delay(time.Second, 0))
	defer f.Close()
	var c collector
	f.Attach(&c)
	r.inject(pkt(1, 40))
	if len(c.seqs()) != 0 {
		t.Fatal("delivered before the delay")
	}
	clk.Advance(time.Second)
	if got := c.seqs(); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("got %v", got)
	}
}

func TestSetPartitionAndHeal(t *testing.T) {
	r := newRec()
	f := Wrap(r, On(Both))
	defer f.Close()
	f.Write([][]byte{pkt(0, 40)})
	f.Set(Loss(1))
	f.Write([][]byte{pkt(1, 40)})
	f.Set(Loss(0))
	f.Write([][]byte{pkt(2, 40)})
	if got := r.seqs(); !slices.Equal(got, []uint32{0, 2}) {
		t.Fatalf("got %v", got)
	}
}

func TestSetSeedReplays(t *testing.T) {
	r := newRec()
	f := Wrap(r, Seed(77), Loss(0.5))
	defer f.Close()
	sendN(t, f, 100, 40)
	first := r.seqs()
	r.sent = nil
	f.Set(Seed(77))
	sendN(t, f, 100, 40)
	if second := r.seqs(); !slices.Equal(first, second) {
		t.Fatal("reseeding did not replay the same decisions")
	}
}

func TestWriteErrors(t *testing.T) {
	r := newRec()
	r.mtu = 100
	f := Wrap(r)
	if f.MTU() != 100 {
		t.Fatalf("MTU = %d", f.MTU())
	}
	n, err := f.Write([][]byte{pkt(0, 100), pkt(1, 101), pkt(2, 10)})
	if n != 1 || !errors.Is(err, link.ErrTooBig) || !slices.Equal(r.seqs(), []uint32{0}) {
		t.Fatalf("Write = %d, %v; sent %v", n, err, r.seqs())
	}
	f.Close()
	if !r.closed {
		t.Fatal("Close did not close the wrapped link")
	}
	if _, err := f.Write([][]byte{pkt(3, 10)}); !errors.Is(err, link.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseDiscardsDelayedAndHeld(t *testing.T) {
	clk := clock.NewManual(epoch)
	r := newRec()
	f := Wrap(r, Clock(clk), Delay(time.Second, 0))
	sendN(t, f, 5, 40)
	f.Set(Delay(0, 0), Reorder(1, 0))
	f.Write([][]byte{pkt(9, 40)}) // held for the next packet, which never comes
	if clk.Pending() != 5 {
		t.Fatalf("%d timers pending, want 5", clk.Pending())
	}
	f.Close()
	if clk.Pending() != 0 {
		t.Fatalf("Close left %d timers armed", clk.Pending())
	}
	clk.Advance(time.Hour)
	if n := len(r.packets()); n != 0 {
		t.Fatalf("%d packets out after Close", n)
	}
}

func TestOptionsRejectNonsense(t *testing.T) {
	for i, f := range []func(){
		func() { Loss(-0.1) }, func() { Loss(1.1) }, func() { Duplicate(math.NaN()) },
		func() { Delay(-1, 0) }, func() { Reorder(0.5, -1) }, func() { Rate(1, -1) },
		func() { On(8) }, func() { Clock(nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("case %d accepted", i)
				}
			}()
			f()
		}()
	}
}
