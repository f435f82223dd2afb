package tcp

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"berth/seq"
)

// Selective acknowledgments: the SACK option a receiver sends (RFC 2018
// §4, RFC 2883) and the loss recovery a sender runs on it (RFC 6675).

// sackConfig is the test profile (no timestamps, no window scaling) with
// SACK-permitted offered.
func sackConfig() *Config {
	cfg := noScale()
	cfg.SACKPermitted = true
	return cfg
}

func withSACKPerm(s *Segment) { s.Options.SACKPermitted = true }

// establishSACK runs an active open whose SYN-ACK, rtt after the SYN,
// permits SACK. It returns the ESTABLISHED Conn: ISN 100, peer ISN 300,
// peer MSS 1460, SRTT rtt.
func (h *harness) establishSACK(rtt time.Duration) *Conn {
	h.t.Helper()
	c := h.connect()
	h.now = h.now.Add(rtt)
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460), withSACKPerm)
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	if !c.Info().SACK {
		h.t.Fatal("SACK not negotiated")
	}
	c.TakeEvents()
	return c
}

func TestSACK_NegotiatedOnlyWhenBothOffer(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.connect()
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460))
	if c.Info().SACK {
		t.Fatal("SACK without the peer's SACK-permitted")
	}
	cfg := noScale()
	cfg.SACKPermitted = false // we do not offer it
	h = newHarness(t, cfg)
	l := h.listen(4)
	syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
	syn.Options.SACKPermitted = true
	b := l.Input(h.now, addrA, addrB, &syn)
	if sa := h.rec.take()[0].seg.Options; sa.SACKPermitted {
		t.Fatal("SYN-ACK answers SACK-permitted that we do not offer")
	}
	h.in(b, "<SEQ=101><ACK=301><CTL=ACK>")
	if b.Info().SACK {
		t.Fatal("SACK negotiated one-sided")
	}
}

// TestSACK_ReceiverBlocks: each ACK of out-of-order data lists the islands
// held, the one that just grew first (RFC 2018 §4); D-SACKs name
// duplicates first (RFC 2883 §4).
func TestSACK_ReceiverBlocks(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(10 * time.Millisecond) // RCV.NXT 301
	h.in(c, "<SEQ=1761><ACK=101><CTL=ACK><DATA=1460>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><SACK=1761-3221>")
	h.in(c, "<SEQ=4681><ACK=101><CTL=ACK><DATA=1460>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><SACK=4681-6141,1761-3221>")
	h.in(c, "<SEQ=7601><ACK=101><CTL=ACK><DATA=100>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><SACK=7601-7701,4681-6141,1761-3221>")
	// The oldest island grows: it leads, the others follow newest first.
	h.in(c, "<SEQ=3221><ACK=101><CTL=ACK><DATA=500>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><SACK=1761-3721,7601-7701,4681-6141>")
	// A copy of what is held: a D-SACK, then the island holding it.
	h.in(c, "<SEQ=4681><ACK=101><CTL=ACK><DATA=1460>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><SACK=4681-6141,4681-6141,1761-3721,7601-7701>")
	// The hole fills up to the second island: the rest is reported.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=1460>")
	h.expect("<SEQ=101><ACK=3721><CTL=ACK><SACK=4681-6141,7601-7701>")
	// A copy of old data: a D-SACK below the cumulative ACK.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=1460>")
	h.expect("<SEQ=101><ACK=3721><CTL=ACK><SACK=301-1761,4681-6141,7601-7701>")
	// Partly old: the old part is the D-SACK, the new part is taken.
	h.in(c, "<SEQ=3221><ACK=101><CTL=ACK><DATA=1460>")
	h.expect("<SEQ=101><ACK=6141><CTL=ACK><SACK=3221-3721,7601-7701>")
	h.in(c, "<SEQ=6141><ACK=101><CTL=ACK><DATA=1460>")
	h.expect("<SEQ=101><ACK=7701><CTL=ACK>")
	// What was read is what was sent.
	buf := make([]byte, 16<<10)
	n, _ := c.Read(h.now, buf)
	want := append(pattern(301, 1460), pattern(1761, 1460)...)
	if n != 7400 || !bytes.Equal(buf[:len(want)], want) || buf[7399] != pattern(7700, 1)[0] {
		t.Fatalf("read %d bytes", n)
	}
}

// TestSACK_DataMakesRoomForBlocks: data segments carry the SACK blocks
// too, and hold that much less data, so that data and options together
// stay within the peer's MSS (RFC 6691 §2; Linux's tcp_current_mss).
// Without this, full segments outgrew the path MTU and were dropped.
func TestSACK_DataMakesRoomForBlocks(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(10 * time.Millisecond)
	h.in(c, "<SEQ=1761><ACK=101><CTL=ACK><DATA=100>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><SACK=1761-1861>")
	c.Write(h.now, make([]byte, 3000))
	h.expect(
		"<SEQ=101><ACK=301><CTL=ACK><DATA=1448><SACK=1761-1861>",
		"<SEQ=1549><ACK=301><CTL=ACK><DATA=1448><SACK=1761-1861>",
		"<SEQ=2997><ACK=301><CTL=ACK><DATA=104><SACK=1761-1861>",
	)
	// The hole fills: full segments again.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=1460>")
	h.expect("<SEQ=3101><ACK=1861><CTL=ACK>")
	c.Write(h.now, make([]byte, 1460))
	h.expect("<SEQ=3101><ACK=1861><CTL=ACK><DATA=1460>")
}

// TestSACK_ThreeBlocksWithTimestamps: beside the timestamps option only
// three blocks fit (RFC 2018 §3).
func TestSACK_ThreeBlocksWithTimestamps(t *testing.T) {
	cfg := sackConfig()
	cfg.Timestamps = true
	h := newHarness(t, cfg)
	c := h.connect()
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460), withSACKPerm, withTS(1, 0))
	h.rec.take()
	for _, at := range []uint32{1000, 2000, 3000, 4000} {
		s := parseSeg(t, "<ACK=101><CTL=ACK>")
		s.Seq = seq.Value(301 + at)
		s.Payload = pattern(s.Seq, 100)
		withTS(2, 0)(&s)
		c.Input(h.now, &s)
	}
	got := h.rec.take()
	last := got[len(got)-1].seg
	if last.Options.NumSACK != 4 || sackOnWire(&last.Options) != 3 ||
		fmtSeg(&last, false) != "<SEQ=101><ACK=301><CTL=ACK><SACK=4301-4401,3301-3401,2301-2401>" {
		t.Fatalf("last ACK %s with %d blocks", fmtSeg(&last, false), last.Options.NumSACK)
	}
}

// TestSACK_RecoveryByIsLost: three segments SACKed above SND.UNA make it
// lost (RFC 6675 §4 IsLost): the first hole goes at once, the next lost
// hole when pipe allows, and holes not yet known lost wait.
func TestSACK_RecoveryByIsLost(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(10 * time.Millisecond)
	c.Write(h.now, make([]byte, 10*1460))
	if got := len(h.rec.take()); got != 10 {
		t.Fatalf("%d segments in the initial window", got)
	}
	// One, then two segments SACKed above the head: not lost yet, and
	// nothing new to send.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-3021>")
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-4481>")
	h.expect()
	// Three: fast retransmit of the head.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-5941>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	in := c.Info()
	if in.Ssthresh != 7300 || in.Cwnd != 7300 || h.cfg.Stats.FastRetransmits != 1 {
		t.Fatalf("cwnd %d ssthresh %d after entering recovery", in.Cwnd, in.Ssthresh)
	}
	// The same ACK again (a duplicate on the wire) changes nothing.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-5941>")
	h.expect()
	// A second island: the hole below it is not lost yet.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=7401-8861,1561-5941>")
	h.expect()
	// The second island grows past two segments: the hole before it is
	// lost and pipe (one retransmission in flight) lets it go.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=7401-14701,1561-5941>")
	h.expect("<SEQ=5941><ACK=301><CTL=ACK><DATA=1460>")
	// Everything arrives: recovery ends.
	h.in(c, "<SEQ=301><ACK=14701><CTL=ACK>")
	h.expect()
	if in := c.Info(); in.Unacked != 0 || c.has(fRecovery) || in.Cwnd != 2920 {
		t.Fatalf("after recovery: %+v", in)
	}
}

// TestSACK_DupAcksRidingOnData: in a transfer each way, the ACKs that
// report a loss carry data. With SACK they count (RFC 6675 §2); without,
// RFC 5681 §2 ignores them.
func TestSACK_DupAcksRidingOnData(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(10 * time.Millisecond)
	c.Write(h.now, make([]byte, 10*1460))
	h.rec.take()
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=100><SACK=1561-3021>")
	h.in(c, "<SEQ=401><ACK=101><CTL=ACK><DATA=100><SACK=1561-4481>")
	h.in(c, "<SEQ=501><ACK=101><CTL=ACK><DATA=100><SACK=1561-5941>")
	var segs []string
	for _, s := range h.rec.take() {
		segs = append(segs, fmtSeg(&s.seg, false))
	}
	// The ACK is taken before the data, as Linux does: the
	// retransmission acknowledges what came before.
	if !slices.Contains(segs, "<SEQ=101><ACK=501><CTL=ACK><DATA=1460>") {
		t.Fatalf("no fast retransmit: %q", segs)
	}
}

// TestSACK_LostRetransmission: the retransmission of the head is lost;
// three segments sent after it are SACKed while the head is still open,
// so it goes again without waiting for the RTO.
func TestSACK_LostRetransmission(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(10 * time.Millisecond)
	c.Write(h.now, make([]byte, 20*1460))
	h.rec.take() // 10 segments: 101..14701
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-5941>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	// All but the head arrives: pipe falls and new data goes.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-14701>")
	h.expect(
		"<SEQ=14701><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=16161><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=17621><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=19081><ACK=301><CTL=ACK><DATA=1460>",
	)
	// Two of them are SACKed: not enough to judge.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-17621>")
	h.expect(
		"<SEQ=20541><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=22001><ACK=301><CTL=ACK><DATA=1460>",
	)
	// A third: the head's retransmission must have been lost.
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-19081>")
	got := h.expect(
		"<SEQ=101><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=23461><ACK=301><CTL=ACK><DATA=1460>",
	)
	if h.cfg.Stats.LostRetransmits != 1 || !bytes.Equal(got[0].seg.Payload, make([]byte, 1460)) {
		t.Fatalf("lost retransmits %d", h.cfg.Stats.LostRetransmits)
	}
	// Everything arrives: recovery ends, and the rest goes in
	// congestion avoidance.
	h.in(c, "<SEQ=301><ACK=24921><CTL=ACK>")
	h.expect(
		"<SEQ=24921><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=26381><ACK=301><CTL=ACK><DATA=1460>",
	)
	if c.has(fRecovery) {
		t.Fatal("recovery did not end")
	}
}

// TestSACK_TimeoutSkipsSACKed: after a retransmission timeout, slow start
// resends only the holes (as Linux does).
func TestSACK_TimeoutSkipsSACKed(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(10 * time.Millisecond)
	c.Write(h.now, make([]byte, 10*1460))
	h.rec.take()
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=3021-4481>")
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=5941-7401,3021-4481>")
	h.expect()
	// The probe goes first (tlp.go); then the RTO.
	h.runTo(c)
	h.expect("<SEQ=13241><ACK=301><CTL=ACK><DATA=1460>")
	h.runTo(c)
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	if h.cfg.Stats.Timeouts != 1 {
		t.Fatalf("timeouts %d", h.cfg.Stats.Timeouts)
	}
	// Slow start: two holes go, the SACKed segments between do not.
	h.in(c, "<SEQ=301><ACK=1561><CTL=ACK><SACK=5941-7401,3021-4481>")
	h.expect(
		"<SEQ=1561><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=4481><ACK=301><CTL=ACK><DATA=1460>",
	)
	h.in(c, "<SEQ=301><ACK=4481><CTL=ACK><SACK=5941-7401>")
	h.expect(
		"<SEQ=7401><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=8861><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=10321><ACK=301><CTL=ACK><DATA=1460>",
	)
}

// TestSACK_Reneging: the peer acknowledges up to where SACKed data
// begins, but not the data: it threw it away (RFC 2018 §8). The
// scoreboard goes, and so the data is sent again.
func TestSACK_Reneging(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(10 * time.Millisecond)
	c.Write(h.now, make([]byte, 4*1460))
	h.rec.take()
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-3021>")
	h.in(c, "<SEQ=301><ACK=1561><CTL=ACK>")
	if c.hasSACKed() || h.cfg.Stats.SACKReneging != 1 {
		t.Fatalf("scoreboard kept after reneging (%d)", h.cfg.Stats.SACKReneging)
	}
}

// TestSACK_InvalidBlocksIgnored: blocks beyond what was sent, reaching
// below the cumulative ACK, or inverted say nothing (RFC 6675 §2; Linux
// tcp_is_sackblock_valid).
func TestSACK_InvalidBlocksIgnored(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(10 * time.Millisecond)
	c.Write(h.now, make([]byte, 4*1460))
	h.rec.take()
	for _, sack := range []string{"5941-7401", "3021-1561", "101-1561", "50-1561", "1561-3021,5000-9000"} {
		h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK="+sack+">")
	}
	if len(c.sack.sacked) != 1 || c.sack.sacked[0] != (seqRange{1561, 3021, 1}) {
		t.Fatalf("scoreboard %v", c.sack.sacked)
	}
	h.expect()
}

// TestPipe_SACKLossyBothWays: transfers each way through loss,
// duplication and reordering, with SACK, recover without timeouts
// nearly always.
func TestPipe_SACKLossyBothWays(t *testing.T) {
	var timeouts uint64
	for seed := uint64(1); seed <= 8; seed++ {
		cfg := testConfig()
		cfg.isnFunc = nil
		cfg.Timestamps = true
		cfg.SACKPermitted = true
		p := newPipe(t, cfg, seed)
		p.loss, p.dup, p.hold = 0.031, 0.01, 0.01
		p.reorder, p.jitter = 0.02, 50*time.Microsecond
		p.delay = 10 * time.Microsecond
		p.transfer(1<<20, 1<<20)
		if p.cfg.Stats.FastRetransmits == 0 || p.cfg.Stats.DSACKsReceived == 0 {
			t.Fatalf("seed %d: no SACK recovery: %+v", seed, *p.cfg.Stats)
		}
		timeouts += p.cfg.Stats.Timeouts
	}
	if timeouts > 4 {
		t.Fatalf("%d timeouts in 8 runs", timeouts)
	}
}
