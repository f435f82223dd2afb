package tcp

import (
	"syscall"
	"testing"
	"time"
)

// RFC 5961: blind reset, SYN and data injection defences.

func TestRFC5961_InWindowRSTChallengeACKRateLimited(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299) // a: SND.NXT 100, RCV.NXT 300
	h.in(a, "<SEQ=5000><CTL=RST>")
	h.expect("<SEQ=100><ACK=300><CTL=ACK>") // §3.2: challenge ACK
	h.in(a, "<SEQ=6000><CTL=RST>")
	h.expect() // §7: rate-limited
	h.advance(499 * time.Millisecond)
	h.in(a, "<SEQ=6000><CTL=RST>")
	h.expect()
	h.advance(time.Millisecond)
	h.in(a, "<SEQ=6000><CTL=RST>")
	h.expect("<SEQ=100><ACK=300><CTL=ACK>")
	mustState(t, a, StateEstablished)
	if h.cfg.Stats.ChallengeAcks != 2 {
		t.Fatalf("ChallengeAcks = %d", h.cfg.Stats.ChallengeAcks)
	}
	// The peer's answer to the challenge would be an exact RST.
	h.in(a, "<SEQ=300><CTL=RST>")
	mustState(t, a, StateClosed)
	if a.Err() != syscall.ECONNRESET {
		t.Fatalf("Err = %v", a.Err())
	}
}

func TestRFC5961_SYNInEstablishedChallengeACK(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	for _, sq := range []string{"300", "1000", "4000000000", "299"} {
		h.advance(time.Second) // past the rate limit
		h.in(a, "<SEQ="+sq+"><CTL=SYN>")
		h.expect("<SEQ=100><ACK=300><CTL=ACK>")
		mustState(t, a, StateEstablished)
	}
	// A SYN carrying an ACK and data is no different: no data is taken.
	h.advance(time.Second)
	h.in(a, "<SEQ=300><ACK=100><CTL=SYN,ACK><DATA=10>")
	h.expect("<SEQ=100><ACK=300><CTL=ACK>")
	if a.Info().RecvQueue != 0 {
		t.Fatal("data on a SYN was accepted")
	}
}

func TestRFC5961_ACKValidity(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	a.Write(h.now, make([]byte, 100))
	h.expect("<SEQ=100><ACK=300><CTL=ACK><DATA=100>")
	// An ACK of data never sent: ACK and drop, data included (§5.2).
	h.in(a, "<SEQ=300><ACK=500><CTL=ACK><DATA=10>")
	h.expect("<SEQ=200><ACK=300><CTL=ACK>")
	if a.Info().RecvQueue != 0 || a.sndUna != 100 {
		t.Fatal("segment with a future ACK was processed")
	}
	// An ACK older than SND.UNA - MAX.SND.WND: challenge ACK, drop.
	h.advance(time.Second)
	old := parseSeg(t, "<SEQ=300><CTL=ACK><DATA=10>")
	old.Ack = a.sndUna - 70000
	a.Input(h.now, &old)
	h.expect("<SEQ=200><ACK=300><CTL=ACK>")
	if a.Info().RecvQueue != 0 {
		t.Fatal("segment with an ancient ACK was processed")
	}
	// An old but plausible ACK is fine: the data is taken.
	h.in(a, "<SEQ=300><ACK=50><CTL=ACK><DATA=10>")
	h.expect("<SEQ=200><ACK=310><CTL=ACK>")
	if a.Info().RecvQueue != 10 {
		t.Fatal("data with an old ACK was dropped")
	}
}

func TestRFC5961_OutOfWindowPureACKsRateLimited(t *testing.T) {
	// Unacceptable segments are answered with an ACK; bare ones at most
	// every ChallengeAckInterval so two confused ends cannot loop, those
	// with data always.
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	h.in(a, "<SEQ=900000><ACK=100><CTL=ACK>")
	h.expect("<SEQ=100><ACK=300><CTL=ACK>")
	h.in(a, "<SEQ=900000><ACK=100><CTL=ACK>")
	h.expect()
	h.in(a, "<SEQ=200><ACK=100><CTL=ACK><DATA=50>") // old data, D-SACKed
	h.expect("<SEQ=100><ACK=300><CTL=ACK><SACK=200-250>")
	h.in(a, "<SEQ=200><ACK=100><CTL=ACK><DATA=50>")
	h.expect("<SEQ=100><ACK=300><CTL=ACK><SACK=200-250>")
}
