package tcp

import (
	"syscall"
	"testing"
	"time"
)

// TIME-WAIT, keep-alive and the FIN-WAIT-2 timeout.

func timeWaitConn(h *harness) *Conn {
	h.t.Helper()
	a, _ := h.pairAt(99, 299)
	a.Close(h.now)
	h.expect("<SEQ=100><ACK=300><CTL=FIN,ACK>")
	h.in(a, "<SEQ=300><ACK=101><CTL=FIN,ACK>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	mustState(h.t, a, StateTimeWait)
	return a
}

func TestTimeWait_RetransmittedFINRestartsTimer(t *testing.T) {
	h := newHarness(t, nil)
	a := timeWaitConn(h)
	h.advance(50 * time.Second)
	h.in(a, "<SEQ=300><ACK=101><CTL=FIN,ACK>") // our ACK was lost
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	if d := a.Deadline().Sub(h.now); d != 60*time.Second {
		t.Fatalf("TIME-WAIT restarted for %v", d)
	}
	h.advance(59*time.Second, a)
	mustState(t, a, StateTimeWait)
	h.advance(time.Second, a)
	mustState(t, a, StateClosed)
}

func TestTimeWait_AcceptsNewSYN(t *testing.T) {
	h := newHarness(t, nil)
	a := timeWaitConn(h) // RCV.NXT 301
	for _, c := range []struct {
		spec string
		ok   bool
	}{
		{"<SEQ=5000><CTL=SYN>", true},             // beyond RCV.NXT
		{"<SEQ=301><CTL=SYN>", false},             // not beyond
		{"<SEQ=200><CTL=SYN>", false},             // old
		{"<SEQ=5000><ACK=1><CTL=SYN,ACK>", false}, // not a plain SYN
		{"<SEQ=5000><ACK=101><CTL=ACK>", false},
	} {
		s := parseSeg(t, c.spec)
		if got := a.AcceptsNewSYN(&s); got != c.ok {
			t.Errorf("AcceptsNewSYN(%s) = %v", c.spec, got)
		}
	}
	// With timestamps the timestamp decides.
	h2 := newHarness(t, nil)
	c := h2.establishTS()
	c.Close(h2.now)
	h2.in(c, "<SEQ=301><ACK=102><CTL=FIN,ACK>", withTS(2000, 0))
	mustState(t, c, StateTimeWait)
	newer := parseSeg(t, "<SEQ=10><CTL=SYN>")
	withTS(2001, 0)(&newer)
	older := parseSeg(t, "<SEQ=9000><CTL=SYN>")
	withTS(1999, 0)(&older)
	if !c.AcceptsNewSYN(&newer) || c.AcceptsNewSYN(&older) {
		t.Fatal("timestamps not used to judge the SYN")
	}
	// Not in TIME-WAIT: never.
	h3 := newHarness(t, nil)
	e := h3.establish()
	s := parseSeg(t, "<SEQ=9000><CTL=SYN>")
	if e.AcceptsNewSYN(&s) {
		t.Fatal("ESTABLISHED connection gave way to a SYN")
	}
}

func TestKeepalive(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	a.SetKeepAlive(h.now, true)
	if d := a.Deadline().Sub(h.now); d != 2*time.Hour {
		t.Fatalf("first keep-alive in %v", d)
	}
	// RFC 1122 §4.2.3.6: <SEQ=SND.NXT-1>, no data.
	h.runTo(a)
	h.expect("<SEQ=99><ACK=300><CTL=ACK>")
	// Answered: back to idle.
	h.advance(time.Second)
	h.in(a, "<SEQ=300><ACK=100><CTL=ACK>")
	// The timer was set for 75 s after the probe; on firing it sees the
	// answer and waits until 2 h after it.
	if d := h.runTo(a); d != 74*time.Second {
		t.Fatalf("timer after %v", d)
	}
	h.expect()
	if d := h.runTo(a); d != 2*time.Hour-74*time.Second {
		t.Fatalf("next probe after %v", d)
	}
	h.expect("<SEQ=99><ACK=300><CTL=ACK>")
	// Unanswered: 9 probes 75 s apart, then a RST and ETIMEDOUT.
	for {
		h.runTo(a)
		if a.State() == StateClosed {
			break
		}
	}
	if a.Err() != syscall.ETIMEDOUT {
		t.Fatalf("Err = %v", a.Err())
	}
	got := h.rec.take()
	if len(got) != 9 || fmtSeg(&got[8].seg, false) != "<SEQ=100><ACK=300><CTL=RST,ACK>" {
		t.Fatalf("%d segments, last %s", len(got), fmtSeg(&got[len(got)-1].seg, false))
	}
	if h.cfg.Stats.KeepaliveProbes != 2+8 {
		t.Fatalf("KeepaliveProbes = %d", h.cfg.Stats.KeepaliveProbes)
	}
}

func TestFinWait2TimeoutAfterClose(t *testing.T) {
	// gvisor fin_wait2_timeout.pkt: TCP_LINGER2 1 s; then the connection
	// is gone and the stack answers with RSTFor.
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	a.SetFinWait2Timeout(time.Second)
	a.Close(h.now)
	h.expect("<SEQ=100><ACK=300><CTL=FIN,ACK>")
	h.in(a, "<SEQ=300><ACK=101><CTL=ACK>")
	mustState(t, a, StateFinWait2)
	if d := h.runTo(a); d != time.Second {
		t.Fatalf("FIN-WAIT-2 lasted %v", d)
	}
	mustState(t, a, StateClosed)
	h.expect()
}
