package tcp

import (
	"syscall"
	"testing"
	"time"

	"berth/seq"
)

// Retransmission timers (RFC 6298), backoff, Karn's rule, and giving up
// (retry counts, RFC 5482 user timeout).

func TestRetransmit_SYNBackoffAndTimeout(t *testing.T) {
	h := newHarness(t, nil)
	c := h.connect()
	// Initial RTO 1 s, doubling; six retransmissions (Linux
	// tcp_syn_retries), then ETIMEDOUT 127 s after the first SYN.
	for _, want := range []time.Duration{1, 2, 4, 8, 16, 32} {
		if d := h.runTo(c); d != want*time.Second {
			t.Fatalf("SYN retransmitted after %v, want %v", d, want*time.Second)
		}
		h.expect("<SEQ=100><CTL=SYN>")
	}
	if d := h.runTo(c); d != 64*time.Second {
		t.Fatalf("gave up after %v", d)
	}
	h.expect()
	mustState(t, c, StateClosed)
	if c.Err() != syscall.ETIMEDOUT || c.TakeEvents()&EventClosed == 0 {
		t.Fatalf("Err = %v", c.Err())
	}
	st := h.cfg.Stats
	if st.RetransSegs != 6 || st.OutSegs != 1 || st.AttemptFails != 1 {
		t.Fatalf("stats %+v", *st)
	}
}

func TestRetransmit_SYNRetransmittedRTOIsThreeSeconds(t *testing.T) {
	// RFC 6298 §5.7: after a retransmitted SYN, with no RTT sample, the
	// RTO once established is 3 s.
	h := newHarness(t, nil)
	c := h.connect()
	h.runTo(c)
	h.expect("<SEQ=100><CTL=SYN>")
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	if c.rto != 3*time.Second {
		t.Fatalf("RTO %v", c.rto)
	}
}

func TestRetransmit_SYNACKRetries(t *testing.T) {
	h := newHarness(t, nil)
	l := h.listen(4)
	syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
	c := l.Input(h.now, addrA, addrB, &syn)
	h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	for _, want := range []time.Duration{1, 2, 4, 8, 16} {
		if d := h.runTo(c); d != want*time.Second {
			t.Fatalf("SYN-ACK after %v, want %v", d, want*time.Second)
		}
		h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	}
	h.runTo(c)
	h.expect() // no RST: the half-open connection just goes
	mustState(t, c, StateClosed)
	if l.HalfOpen() != 0 {
		t.Fatalf("HalfOpen = %d", l.HalfOpen())
	}
}

func TestRetransmit_DataRTOFromMeasuredRTT(t *testing.T) {
	h := newHarness(t, nil)
	c := h.connect()
	h.advance(100 * time.Millisecond) // the SYN-ACK takes 100 ms
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	// SRTT 100 ms, RTTVAR 50 ms: RTO = 100 + max(200, 4*50) = 300 ms.
	if c.srtt != 100*time.Millisecond || c.rto != 300*time.Millisecond {
		t.Fatalf("SRTT %v, RTO %v", c.srtt, c.rto)
	}
	c.Write(h.now, make([]byte, 100))
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=100>")
	// Backoff doubles the RTO each time (RFC 6298 §5.5).
	for _, want := range []time.Duration{300, 600, 1200, 2400} {
		if d := h.runTo(c); d != want*time.Millisecond {
			t.Fatalf("retransmission after %v, want %v", d, want*time.Millisecond)
		}
		h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=100>")
	}
	// Karn: the ACK of a retransmitted segment gives no RTT sample,
	// but does end the backoff (the RTO returns to the estimate).
	h.advance(2 * time.Second)
	h.in(c, "<SEQ=301><ACK=201><CTL=ACK>")
	if c.srtt != 100*time.Millisecond || c.rto != 300*time.Millisecond {
		t.Fatalf("after the ACK: SRTT %v, RTO %v", c.srtt, c.rto)
	}
	if !c.Deadline().IsZero() {
		t.Fatal("timer still armed with nothing outstanding")
	}
	if in := c.Info(); in.Retransmits != 4 || in.Cwnd != uint32(c.sndMSS) {
		t.Fatalf("info %+v", in)
	}
}

func TestRetransmit_GoBackNAfterTimeout(t *testing.T) {
	// After a timeout the window is one segment; ACKs grow it again and
	// the rest is resent in order.
	h := newHarness(t, nil)
	c := h.establish()
	c.Write(h.now, make([]byte, 3*1460))
	h.expect(
		"<SEQ=101><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=1561><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=3021><ACK=301><CTL=ACK><DATA=1460>",
	)
	h.runTo(c)
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	h.in(c, "<SEQ=301><ACK=1561><CTL=ACK>")
	h.expect( // slow start: cwnd 1 → 2 segments
		"<SEQ=1561><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=3021><ACK=301><CTL=ACK><DATA=1460>",
	)
	// The first transmissions arrived after all: an ACK beyond SND.NXT's
	// rewind but within what was sent is fine.
	h.in(c, "<SEQ=301><ACK=4481><CTL=ACK>")
	h.expect()
	if c.sndUna != 4481 || c.sndNxt != 4481 {
		t.Fatalf("UNA %d NXT %d", c.sndUna, c.sndNxt)
	}
}

func TestRetransmit_GiveUpAfterRetries(t *testing.T) {
	cfg := testConfig()
	cfg.Retries = 3
	h := newHarness(t, cfg)
	c := h.establish()
	c.Write(h.now, make([]byte, 10))
	h.rec.take()
	for range 3 {
		h.runTo(c)
		h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=10>")
	}
	h.runTo(c)
	h.expect()
	mustState(t, c, StateClosed)
	if c.Err() != syscall.ETIMEDOUT {
		t.Fatalf("Err = %v", c.Err())
	}
	if _, err := c.Write(h.now, []byte("x")); err != syscall.ETIMEDOUT {
		t.Fatalf("Write: %v", err)
	}
}

func TestRetransmit_MaxRTO(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRTO = 5 * time.Second
	h := newHarness(t, cfg)
	c := h.establish()
	c.Write(h.now, make([]byte, 10))
	var last time.Duration
	for range 8 {
		last = h.runTo(c)
	}
	if last != 5*time.Second {
		t.Fatalf("interval %v, want the 5 s cap", last)
	}
}

func TestRetransmit_UserTimeout(t *testing.T) {
	// packetdrill user_timeout.pkt: TCP_USER_TIMEOUT 3 s; the connection
	// dies 3 s after its data (here a FIN) started waiting, however the
	// retransmissions fall, and later segments meet no connection.
	h := newHarness(t, nil)
	c := h.connect()
	h.advance(100 * time.Millisecond)
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.rec.take()
	h.advance(2 * time.Second)
	c.SetUserTimeout(3 * time.Second)
	c.Close(h.now)
	h.expect("<SEQ=101><ACK=301><CTL=FIN,ACK>")
	start := h.now
	for _, want := range []time.Duration{300, 600, 1200} {
		if d := h.runTo(c); d != want*time.Millisecond {
			t.Fatalf("FIN retransmitted after %v, want %v", d, want*time.Millisecond)
		}
		h.expect("<SEQ=101><ACK=301><CTL=FIN,ACK>")
	}
	h.runTo(c) // 2.1 s so far; the next RTO would be at 4.5 s: clamped to 3 s
	h.expect()
	if got := h.now.Sub(start); got != 3*time.Second {
		t.Fatalf("gave up after %v", got)
	}
	mustState(t, c, StateClosed)
	if c.Err() != syscall.ETIMEDOUT {
		t.Fatalf("Err = %v", c.Err())
	}
}

func TestRetransmit_FastRetransmitAndNewReno(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	const mss = 1460
	// Ten segments, the initial window (RFC 6928).
	c.Write(h.now, make([]byte, 10*mss))
	if got := len(h.rec.take()); got != 10 {
		t.Fatalf("%d segments in the initial window", got)
	}
	seg := func(i int) seq.Value { return seq.Value(101 + i*mss) }
	dup := "<SEQ=301><ACK=101><CTL=ACK>"
	// Segments 0 and 2 are lost. Segment 1 arrives: dup ACK 1, 2.
	h.in(c, dup)
	h.in(c, dup)
	h.expect() // limited transmit has nothing new to send
	// The third duplicate ACK: fast retransmit (RFC 5681 §3.2).
	h.in(c, dup)
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	if c.cong.Ssthresh != 5*mss || c.cong.Cwnd != 8*mss {
		t.Fatalf("ssthresh %d cwnd %d, want %d and %d", c.cong.Ssthresh, c.cong.Cwnd, 5*mss, 8*mss)
	}
	for range 5 { // segments 3..9 keep the duplicates coming: inflate
		h.in(c, dup)
	}
	h.expect()
	// The retransmission fills hole 0: a partial ACK up to hole 2
	// (RFC 6582 §3.2 step 4) retransmits it at once.
	p := parseSeg(t, "<SEQ=301><CTL=ACK>")
	p.Ack = seg(2)
	c.Input(h.now, &p)
	h.expect("<SEQ=3021><ACK=301><CTL=ACK><DATA=1460>")
	if !c.has(fRecovery) {
		t.Fatal("left recovery on a partial ACK")
	}
	// The full ACK ends recovery: cwnd = min(ssthresh, FlightSize+MSS).
	full := parseSeg(t, "<SEQ=301><CTL=ACK>")
	full.Ack = seg(10)
	c.Input(h.now, &full)
	if c.has(fRecovery) || c.cong.Cwnd != 2*mss {
		t.Fatalf("after the full ACK: recovery %v, cwnd %d", c.has(fRecovery), c.cong.Cwnd)
	}
	if h.cfg.Stats.FastRetransmits != 1 || h.cfg.Stats.Timeouts != 0 {
		t.Fatalf("stats %+v", *h.cfg.Stats)
	}
}

func TestRetransmit_LimitedTransmit(t *testing.T) {
	// RFC 3042: the first two duplicate ACKs each release a new segment.
	h := newHarness(t, nil)
	c := h.establish()
	c.Write(h.now, make([]byte, 12*1460))
	if got := len(h.rec.take()); got != 10 {
		t.Fatalf("%d segments", got)
	}
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK>")
	h.expect("<SEQ=14701><ACK=301><CTL=ACK><DATA=1460>")
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK>")
	h.expect("<SEQ=16161><ACK=301><CTL=ACK><DATA=1460>")
}

func TestRetransmit_SlowStartAndAvoidance(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	const mss = 1460
	c.Write(h.now, make([]byte, 100*mss))
	h.rec.take()
	if c.cong.Cwnd != 10*mss {
		t.Fatalf("IW %d", c.cong.Cwnd)
	}
	// One ACK for two segments: slow start adds min(acked, 2*MSS).
	a := parseSeg(t, "<SEQ=301><CTL=ACK>")
	a.Ack = 101 + 2*mss
	c.Input(h.now, &a)
	if c.cong.Cwnd != 12*mss {
		t.Fatalf("cwnd %d after one ACK in slow start", c.cong.Cwnd)
	}
	// In congestion avoidance, one MSS per window of ACKed bytes.
	c.cong.Ssthresh = c.cong.Cwnd
	start := c.cong.Cwnd
	for i := 0; i < 12; i++ {
		a.Ack = a.Ack.Add(mss)
		c.Input(h.now, &a)
	}
	if c.cong.Cwnd != start+mss {
		t.Fatalf("cwnd %d after a window of ACKs, want %d", c.cong.Cwnd, start+mss)
	}
}

// TestCongestion_FinalFINIgnoresCwnd: the last segment, carrying the FIN,
// goes whatever the congestion window, as Linux's tcp_cwnd_test lets it
// ("Don't be strict about the congestion window for the final FIN").
func TestCongestion_FinalFINIgnoresCwnd(t *testing.T) {
	h := newHarness(t, noScale())
	c := h.establish()
	c.Write(h.now, make([]byte, 10*1460))
	if n := len(h.rec.take()); n != 10 {
		t.Fatalf("%d segments in the initial window", n)
	}
	c.CloseWrite(h.now)
	h.expect("<SEQ=14701><ACK=301><CTL=FIN,ACK>")

	h = newHarness(t, noScale())
	c = h.establish()
	c.Write(h.now, make([]byte, 10*1460+500))
	h.rec.take()
	h.expect()
	c.CloseWrite(h.now)
	h.expect("<SEQ=14701><ACK=301><CTL=FIN,ACK><DATA=500>")

	// More than one segment left: the window rules.
	h = newHarness(t, noScale())
	c = h.establish()
	c.Write(h.now, make([]byte, 12*1460))
	h.rec.take()
	c.CloseWrite(h.now)
	h.expect()
}
