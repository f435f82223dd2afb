package tcp

import (
	"testing"
	"time"
)

// RFC 7323: timestamps, RTTM and PAWS.

// establishTS makes an ESTABLISHED active Conn with timestamps; the peer's
// SYN-ACK carries TSval 1000.
func (h *harness) establishTS() *Conn {
	h.t.Helper()
	h.cfg.Timestamps = true
	c := Connect(h.now, h.cfg, addrA, addrB, 1460, h.rec)
	syn := h.rec.take()[0].seg
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460), withTS(1000, syn.Options.TSVal))
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	c.TakeEvents()
	return c
}

func TestPAWS_OldTimestampDropped(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establishTS()
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=10>", withTS(2000, 0))
	h.expect("<SEQ=101><ACK=311><CTL=ACK>")
	if c.tsRecent != 2000 {
		t.Fatalf("TS.Recent = %d", c.tsRecent)
	}
	// An old duplicate of the next segment: TSval below TS.Recent.
	h.in(c, "<SEQ=311><ACK=101><CTL=ACK><DATA=10>", withTS(1500, 0))
	got := h.expect("<SEQ=101><ACK=311><CTL=ACK>")
	if got[0].seg.Options.TSEcr != 2000 {
		t.Fatalf("TSecr = %d", got[0].seg.Options.TSEcr)
	}
	if c.Info().RecvQueue != 10 || h.cfg.Stats.PAWSDrops != 1 {
		t.Fatalf("queue %d, PAWSDrops %d", c.Info().RecvQueue, h.cfg.Stats.PAWSDrops)
	}
	// Wrap-around: a TSval "after" 2000 across 2^32 is newer.
	h.in(c, "<SEQ=311><ACK=101><CTL=ACK><DATA=10>", withTS(2000+1<<31-1, 0))
	h.expect("<SEQ=101><ACK=321><CTL=ACK>")
	// A RST is not subject to PAWS.
	h.in(c, "<SEQ=321><CTL=RST>", withTS(5, 0))
	mustState(t, c, StateClosed)
}

func TestPAWS_TSRecentExpiresAfter24Days(t *testing.T) {
	// RFC 7323 §5.5: after 24 days idle TS.Recent is no longer trusted.
	h := newHarness(t, nil)
	c := h.establishTS()
	h.advance(25 * 24 * time.Hour)
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=10>", withTS(10, 0))
	h.expect("<SEQ=101><ACK=311><CTL=ACK>")
	if c.Info().RecvQueue != 10 || c.tsRecent != 10 {
		t.Fatalf("queue %d, TS.Recent %d", c.Info().RecvQueue, c.tsRecent)
	}
}

func TestPAWS_TSRecentOnlyFromLeftEdge(t *testing.T) {
	// RFC 7323 §4.3: an out-of-order segment does not update TS.Recent.
	h := newHarness(t, nil)
	c := h.establishTS()
	h.in(c, "<SEQ=401><ACK=101><CTL=ACK><DATA=10>", withTS(3000, 0))
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	if c.tsRecent != 1000 {
		t.Fatalf("TS.Recent = %d after an out-of-order segment", c.tsRecent)
	}
}

func TestTimestamps_RTTMeasurement(t *testing.T) {
	// RTT from TSecr (RFC 7323 §4.1) after a retransmission, where Karn's
	// rule forbids timing the segment itself.
	h := newHarness(t, nil)
	c := h.establishTS()
	c.Write(h.now, make([]byte, 100))
	first := h.rec.take()[0].seg
	h.runTo(c) // RTO: retransmit
	h.rec.take()
	rtt := c.srtt
	h.advance(300 * time.Millisecond)
	h.in(c, "<SEQ=301><ACK=201><CTL=ACK>", withTS(1100, first.Options.TSVal))
	// The echoed TSval is that of the first transmission, so the
	// sample counts from it: the RTO (200 ms, the minimum, after a
	// handshake of no delay) plus 300 ms.
	want := (7*rtt + 500*time.Millisecond) / 8
	if d := c.srtt - want; d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("SRTT %v, want %v from a 500 ms sample", c.srtt, want)
	}
}
