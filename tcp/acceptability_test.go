package tcp

import (
	"testing"
	"time"
)

// The acceptability test of RFC 9293 §3.10.7.4 at the right edge of the
// receive window.

// TestAcceptability_BareAckAtRightEdge: the peer has sent all our window
// allows, and a hole keeps RCV.NXT (and so the right edge) where it is. Its
// bare ACKs carry SEQ=SND.NXT, which is our right edge; they must be taken,
// as Linux takes them, or we never learn that our data arrived.
func TestAcceptability_BareAckAtRightEdge(t *testing.T) {
	cfg := noScale()
	cfg.RcvBuf = 4096
	h := newHarness(t, cfg)
	c := h.establish() // RCV.NXT 301; the right edge is 301+4096 = 4397
	c.Write(h.now, make([]byte, 1000))
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=1000>")
	// Everything after a lost first segment, up to the right edge.
	h.in(c, "<SEQ=1325><ACK=101><CTL=ACK><DATA=3072>")
	h.expect("<SEQ=1101><ACK=301><CTL=ACK><WIN=4096>")
	// The peer's bare ACK of our data sits at the edge.
	h.in(c, "<SEQ=4397><ACK=1101><CTL=ACK>")
	h.expect()
	if got := c.Info().Unacked; got != 0 {
		t.Fatalf("%d bytes unacknowledged after the ACK at the right edge", got)
	}
	// Data at the right edge: the ACK is taken, the bytes (beyond the
	// window) are not, and our answer says where we are at once.
	c.Write(h.now, make([]byte, 500))
	h.expect("<SEQ=1101><ACK=301><CTL=ACK><DATA=500>")
	h.in(c, "<SEQ=4397><ACK=1601><CTL=ACK><DATA=100>")
	h.expect("<SEQ=1601><ACK=301><CTL=ACK><WIN=4096>")
	if in := c.Info(); in.Unacked != 0 || in.RecvQueue != 0 {
		t.Fatalf("unacked %d, queued %d", in.Unacked, in.RecvQueue)
	}
	// So is a FIN there: it lies outside the window.
	h.in(c, "<SEQ=4397><ACK=1601><CTL=FIN,ACK>")
	h.expect("<SEQ=1601><ACK=301><CTL=ACK><WIN=4096>")
	mustState(t, c, StateEstablished)
	// The hole fills; all of it is read, and no FIN was kept.
	h.in(c, "<SEQ=301><ACK=1601><CTL=ACK><DATA=1024>")
	h.expect("<SEQ=1601><ACK=4397><CTL=ACK><WIN=0>")
	buf := make([]byte, 8192)
	if n, _ := c.Read(h.now, buf); n != 4096 {
		t.Fatalf("read %d bytes, want 4096", n)
	}
	h.expect("<SEQ=1601><ACK=4397><CTL=ACK><WIN=4096>") // the window update
	mustState(t, c, StateEstablished)
	// One beyond the new edge is still out of the window.
	h.in(c, "<SEQ=8494><ACK=1601><CTL=ACK>")
	h.expect("<SEQ=1601><ACK=4397><CTL=ACK><WIN=4096>")
	if c.Info().Unacked != 0 {
		t.Fatal("lost track of SND.UNA")
	}
}

// TestPipe_BothAtTheRightEdgeDoNotDeadlock is the stall of a long transfer
// each way through loss, duplication and reordering (found by a seed sweep
// with windows small enough to fill): each end had sent up to the other's
// right edge, each had a hole, and each had received a segment the other
// did not know had arrived. Each retransmitted that segment at every
// timeout, the other answered with a bare ACK at the first's right edge,
// and the strict acceptability test dropped it: both backed off to 2
// minutes and gave up.
func TestPipe_BothAtTheRightEdgeDoNotDeadlock(t *testing.T) {
	cfg := testConfig()
	cfg.isnFunc = nil
	cfg.Timestamps = true
	cfg.RcvBuf, cfg.SndBuf = 8<<10, 8<<10
	cfg.SACKPermitted = false // the run that deadlocked had no SACK
	p := newPipe(t, cfg, 167)
	p.loss, p.dup, p.hold = 0.031, 0.01, 0.01
	p.delay = 10 * time.Microsecond
	p.transfer(1<<20, 1<<20)
	if p.cfg.Stats.AbortOnTimeout != 0 || p.now.Sub(t0) > time.Minute {
		t.Fatalf("%d aborts; %v virtual", p.cfg.Stats.AbortOnTimeout, p.now.Sub(t0))
	}
}
