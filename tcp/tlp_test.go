package tcp

import (
	"testing"
	"time"
)

// Tail loss probes (RFC 8985 §7), with Linux's timing. The handshakes here
// take 100 ms, so SRTT is 100 ms and the RTO 300 ms.

func TestTLP_ProbeResendsLastSegment(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(100 * time.Millisecond)
	c.Write(h.now, make([]byte, 3000))
	h.expect(
		"<SEQ=101><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=1561><ACK=301><CTL=ACK><DATA=1460>",
		"<SEQ=3021><ACK=301><CTL=ACK><DATA=80>",
	)
	// PTO = 2*SRTT + 2 ms with several segments out.
	if d := h.runTo(c); d != 202*time.Millisecond {
		t.Fatalf("probe after %v", d)
	}
	h.expect("<SEQ=3021><ACK=301><CTL=ACK><DATA=80>")
	// The RTO still counts from the first transmission.
	if d := h.runTo(c); d != 98*time.Millisecond {
		t.Fatalf("RTO %v after the probe", d)
	}
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	st := h.cfg.Stats
	if st.LossProbes != 1 || st.Timeouts != 1 {
		t.Fatalf("probes %d, timeouts %d", st.LossProbes, st.Timeouts)
	}
}

// TestTLP_RepairedTailLoss: the last segment was lost; the probe repairs
// it, and with no D-SACK to say otherwise the window is reduced as fast
// recovery would (RFC 8985 §7.4.2).
func TestTLP_RepairedTailLoss(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(100 * time.Millisecond)
	c.Write(h.now, make([]byte, 3000))
	h.rec.take()
	h.in(c, "<SEQ=301><ACK=3021><CTL=ACK>")
	h.runTo(c)
	h.expect("<SEQ=3021><ACK=301><CTL=ACK><DATA=80>")
	h.in(c, "<SEQ=301><ACK=3101><CTL=ACK>")
	in := c.Info()
	if h.cfg.Stats.LossProbeRecoveries != 1 || in.Ssthresh != 7300 || in.Cwnd != 7300 || in.Unacked != 0 {
		t.Fatalf("after a repaired loss: %+v", in)
	}
	if !c.Deadline().IsZero() {
		t.Fatal("a timer runs with nothing outstanding")
	}
}

// TestTLP_LostAck: the data arrived but its ACK was lost. The probe is a
// duplicate, which the peer's D-SACK reports: no loss, no reduction.
func TestTLP_LostAck(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(100 * time.Millisecond)
	c.Write(h.now, make([]byte, 3000))
	h.rec.take()
	h.runTo(c)
	h.expect("<SEQ=3021><ACK=301><CTL=ACK><DATA=80>")
	h.in(c, "<SEQ=301><ACK=3101><CTL=ACK><SACK=3021-3101>")
	in := c.Info()
	if h.cfg.Stats.LossProbeRecoveries != 0 || in.Cwnd != 14600 || h.cfg.Stats.DSACKsReceived != 1 {
		t.Fatalf("after a D-SACKed probe: %+v", in)
	}
}

// TestTLP_ProbeSendsNewData: with data waiting beyond the congestion
// window, the probe is a new segment (RFC 8985 §7.3).
func TestTLP_ProbeSendsNewData(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(100 * time.Millisecond)
	c.Write(h.now, make([]byte, 12*1460))
	if n := len(h.rec.take()); n != 10 {
		t.Fatalf("%d segments in the initial window", n)
	}
	h.runTo(c)
	h.expect("<SEQ=14701><ACK=301><CTL=ACK><DATA=1460>")
	// The episode ends when the probe is acknowledged; new data probes
	// cost no window.
	h.in(c, "<SEQ=301><ACK=16161><CTL=ACK>")
	if c.has(fTLPOut) || h.cfg.Stats.LossProbeRecoveries != 0 {
		t.Fatal("episode still open")
	}
}

// TestTLP_FinAloneLinuxTiming is the schedule of packetdrill's
// user_timeout script: a FIN alone in flight, SRTT 100 ms. The PTO
// (2*SRTT + 200 ms for one segment) is cut to the RTO, 300 ms; the RTO
// then runs from the probe, and backs off after.
func TestTLP_FinAloneLinuxTiming(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(100 * time.Millisecond)
	h.advance(2 * time.Second)
	c.Close(h.now)
	h.expect("<SEQ=101><ACK=301><CTL=FIN,ACK>")
	for i, want := range []time.Duration{300, 300, 600, 1200} {
		if d := h.runTo(c); d != want*time.Millisecond {
			t.Fatalf("FIN %d after %v, want %v", i+2, d, want*time.Millisecond)
		}
		h.expect("<SEQ=101><ACK=301><CTL=FIN,ACK>")
	}
	if st := h.cfg.Stats; st.LossProbes != 1 || st.Timeouts != 3 {
		t.Fatalf("probes %d timeouts %d", st.LossProbes, st.Timeouts)
	}
}

// TestTLP_OnlyWithSACK: like Linux, no probe on a connection without
// SACK; the RTO fires as before.
func TestTLP_OnlyWithSACK(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.connect()
	h.now = h.now.Add(100 * time.Millisecond)
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460))
	h.rec.take()
	c.Write(h.now, make([]byte, 3000))
	h.rec.take()
	if d := h.runTo(c); d != 300*time.Millisecond {
		t.Fatalf("first timer after %v", d)
	}
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	if h.cfg.Stats.LossProbes != 0 {
		t.Fatal("probe without SACK")
	}
}

// TestTLP_NotInRecovery: once fast recovery runs, its own machinery
// (and the RTO) take over.
func TestTLP_NotInRecovery(t *testing.T) {
	h := newHarness(t, sackConfig())
	c := h.establishSACK(100 * time.Millisecond)
	c.Write(h.now, make([]byte, 10*1460))
	h.rec.take()
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><SACK=1561-5941>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	if d := h.runTo(c); d != 300*time.Millisecond {
		t.Fatalf("timer after %v in recovery", d)
	}
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1460>")
	if h.cfg.Stats.LossProbes != 0 || h.cfg.Stats.Timeouts != 1 {
		t.Fatalf("probes %d timeouts %d", h.cfg.Stats.LossProbes, h.cfg.Stats.Timeouts)
	}
}
