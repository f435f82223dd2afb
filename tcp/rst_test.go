package tcp

import (
	"syscall"
	"testing"
	"time"

	"berth/wire"
)

// Reset generation and processing, state by state (RFC 9293 §3.5.2, §3.5.3,
// §3.10.7), with RFC 5961 §3's rule that only an exact RST resets.

func TestRSTFor(t *testing.T) {
	cases := []struct{ in, want string }{
		// ACK bit on: <SEQ=SEG.ACK><CTL=RST>
		{"<SEQ=300><ACK=100><CTL=ACK><DATA=10>", "<SEQ=100><CTL=RST>"},
		// ACK bit off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; SYN and FIN count.
		{"<SEQ=400><CTL=SYN>", "<SEQ=0><ACK=401><CTL=RST,ACK>"},
		{"<SEQ=400><CTL=SYN,FIN><DATA=5>", "<SEQ=0><ACK=407><CTL=RST,ACK>"},
		{"<SEQ=7>", "<SEQ=0><ACK=7><CTL=RST,ACK>"},
	}
	for _, c := range cases {
		s := parseSeg(t, c.in)
		r, ok := RSTFor(&s, len(s.Payload))
		if got := fmtSeg(&r, false); !ok || got != c.want {
			t.Errorf("RSTFor(%s) = %s, %v; want %s", c.in, got, ok, c.want)
		}
	}
	rst := parseSeg(t, "<SEQ=5><ACK=6><CTL=RST,ACK>")
	if _, ok := RSTFor(&rst, 0); ok {
		t.Error("a RST was answered with a RST")
	}
}

func TestRST_SynSent(t *testing.T) {
	t.Run("acceptable ACK refuses", func(t *testing.T) {
		h := newHarness(t, nil)
		c := h.connect()
		h.in(c, "<SEQ=0><ACK=101><CTL=RST,ACK>")
		mustState(t, c, StateClosed)
		if c.Err() != syscall.ECONNREFUSED {
			t.Fatalf("Err = %v", c.Err())
		}
		if h.cfg.Stats.AttemptFails != 1 {
			t.Fatalf("AttemptFails = %d", h.cfg.Stats.AttemptFails)
		}
		h.expect()
	})
	t.Run("RST without ACK is ignored", func(t *testing.T) {
		h := newHarness(t, nil)
		c := h.connect()
		h.in(c, "<SEQ=0><CTL=RST>")
		mustState(t, c, StateSynSent)
		h.expect()
	})
	t.Run("RST with a bad ACK is ignored", func(t *testing.T) {
		h := newHarness(t, nil)
		c := h.connect()
		h.in(c, "<SEQ=0><ACK=5000><CTL=RST,ACK>")
		mustState(t, c, StateSynSent)
		h.expect()
	})
	t.Run("bad ACK earns a RST", func(t *testing.T) {
		h := newHarness(t, nil)
		c := h.connect()
		h.in(c, "<SEQ=300><ACK=100><CTL=ACK>") // acknowledges nothing we sent
		h.expect("<SEQ=100><CTL=RST>")
		mustState(t, c, StateSynSent)
	})
	t.Run("close sends nothing", func(t *testing.T) {
		h := newHarness(t, nil)
		c := h.connect()
		c.Close(h.now)
		mustState(t, c, StateClosed)
		h.expect()
	})
}

func TestRST_SynReceived(t *testing.T) {
	t.Run("passive returns to LISTEN", func(t *testing.T) {
		h := newHarness(t, nil)
		l := h.listen(4)
		syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
		c := l.Input(h.now, addrA, addrB, &syn)
		h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
		h.in(c, "<SEQ=102><CTL=RST>") // in window, not exact
		h.expect("<SEQ=301><ACK=101><CTL=ACK>")
		mustState(t, c, StateSynReceived)
		h.in(c, "<SEQ=101><CTL=RST>")
		mustState(t, c, StateClosed)
		if c.Err() != nil || l.HalfOpen() != 0 {
			t.Fatalf("Err %v, half-open %d", c.Err(), l.HalfOpen())
		}
		h.expect()
	})
	t.Run("bad ACK earns a RST", func(t *testing.T) {
		h := newHarness(t, nil)
		l := h.listen(4)
		syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
		c := l.Input(h.now, addrA, addrB, &syn)
		h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
		h.in(c, "<SEQ=101><ACK=900><CTL=ACK>")
		h.expect("<SEQ=900><CTL=RST>")
		mustState(t, c, StateSynReceived)
	})
	t.Run("a new SYN ends a passive half-open connection", func(t *testing.T) {
		h := newHarness(t, nil)
		l := h.listen(4)
		syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
		c := l.Input(h.now, addrA, addrB, &syn)
		h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
		h.in(c, "<SEQ=150><CTL=SYN>")
		mustState(t, c, StateClosed)
		h.expect()
	})
	t.Run("repeated SYN repeats the SYN-ACK", func(t *testing.T) {
		h := newHarness(t, nil)
		l := h.listen(4)
		syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
		c := l.Input(h.now, addrA, addrB, &syn)
		h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
		h.in(c, "<SEQ=100><CTL=SYN>")
		h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
		mustState(t, c, StateSynReceived)
	})
}

func TestRST_Synchronized(t *testing.T) {
	type setup func(h *harness) *Conn
	established := func(h *harness) *Conn { a, _ := h.pairAt(99, 299); return a }
	finWait1 := func(h *harness) *Conn {
		a, _ := h.pairAt(99, 299)
		a.CloseWrite(h.now)
		h.expect("<SEQ=100><ACK=300><CTL=FIN,ACK>")
		return a
	}
	finWait2 := func(h *harness) *Conn {
		a := finWait1(h)
		h.in(a, "<SEQ=300><ACK=101><CTL=ACK>")
		return a
	}
	closeWait := func(h *harness) *Conn {
		a, _ := h.pairAt(99, 299)
		h.in(a, "<SEQ=300><ACK=100><CTL=FIN,ACK>")
		h.expect("<SEQ=100><ACK=301><CTL=ACK>")
		return a
	}
	closing := func(h *harness) *Conn {
		a := finWait1(h)
		h.in(a, "<SEQ=300><ACK=100><CTL=FIN,ACK>")
		h.expect("<SEQ=101><ACK=301><CTL=ACK>")
		return a
	}
	lastAck := func(h *harness) *Conn {
		a := closeWait(h)
		a.Close(h.now)
		h.expect("<SEQ=100><ACK=301><CTL=FIN,ACK>")
		return a
	}
	timeWait := func(h *harness) *Conn {
		a := finWait2(h)
		h.in(a, "<SEQ=300><ACK=101><CTL=FIN,ACK>")
		h.expect("<SEQ=101><ACK=301><CTL=ACK>")
		return a
	}
	cases := []struct {
		name  string
		setup setup
		state State
		err   error
	}{
		{"ESTABLISHED", established, StateEstablished, syscall.ECONNRESET},
		{"FIN-WAIT-1", finWait1, StateFinWait1, syscall.ECONNRESET},
		{"FIN-WAIT-2", finWait2, StateFinWait2, syscall.ECONNRESET},
		{"CLOSE-WAIT", closeWait, StateCloseWait, syscall.ECONNRESET},
		{"CLOSING", closing, StateClosing, nil},
		{"LAST-ACK", lastAck, StateLastAck, nil},
		{"TIME-WAIT", timeWait, StateTimeWait, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := tc.setup(h)
			mustState(t, c, tc.state)
			h.expect()
			rcvNxt := c.rcvNxt
			// Out of window: silently dropped.
			out := parseSeg(t, "<CTL=RST>")
			out.Seq = rcvNxt + 1<<20
			c.Input(h.now, &out)
			mustState(t, c, tc.state)
			h.expect()
			// In window but not exact: a challenge ACK (RFC 5961 §3.2).
			in := parseSeg(t, "<CTL=RST>")
			in.Seq = rcvNxt + 10
			c.Input(h.now, &in)
			mustState(t, c, tc.state)
			if got := h.rec.take(); len(got) != 1 || fmtSeg(&got[0].seg, false) != fmtSeg(&Segment{Seq: c.sndNxt, Ack: rcvNxt, Flags: wire.FlagACK}, false) {
				t.Fatalf("challenge ACK: got %d segments", len(got))
			}
			// Exact: reset.
			ex := parseSeg(t, "<CTL=RST>")
			ex.Seq = rcvNxt
			c.Input(h.now, &ex)
			mustState(t, c, StateClosed)
			if c.Err() != tc.err && !(tc.err == nil && c.Err() == nil) {
				t.Fatalf("Err = %v, want %v", c.Err(), tc.err)
			}
			h.expect()
		})
	}
}

func TestRST_CloseWithUnreadDataResets(t *testing.T) {
	// RFC 2525 §2.17, RFC 1122 §4.2.2.13: closing with data unread tells
	// the peer data was lost.
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	h.in(a, "<SEQ=300><ACK=100><CTL=ACK><DATA=5>")
	h.expect("<SEQ=100><ACK=305><CTL=ACK>")
	a.Close(h.now)
	h.expect("<SEQ=100><ACK=305><CTL=RST,ACK>")
	mustState(t, a, StateClosed)
	if h.cfg.Stats.AbortOnClose != 1 || h.cfg.Stats.EstabResets != 1 {
		t.Fatalf("stats %+v", *h.cfg.Stats)
	}
}

func TestRST_CloseAfterReadingDoesNotReset(t *testing.T) {
	// linux tcp_close_no_rst.pkt: the peer resends data already read,
	// with its FIN. Nothing unread, so close sends a FIN.
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	h.in(a, "<SEQ=300><ACK=100><CTL=ACK><DATA=1000>")
	h.expect("<SEQ=100><ACK=1300><CTL=ACK>")
	a.Read(h.now, make([]byte, 1000))
	h.in(a, "<SEQ=300><ACK=100><CTL=FIN,ACK><DATA=1000>")
	h.advance(40*time.Millisecond, a)
	h.expect("<SEQ=100><ACK=1301><CTL=ACK>")
	a.Close(h.now)
	h.expect("<SEQ=100><ACK=1301><CTL=FIN,ACK>")
}

func TestRST_LingerZeroAborts(t *testing.T) {
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	a.SetLinger(true, 0)
	a.Close(h.now)
	h.expect("<SEQ=100><ACK=300><CTL=RST,ACK>")
	mustState(t, a, StateClosed)
}

func TestRST_DataAfterCloseResets(t *testing.T) {
	// RFC 1122 §4.2.2.13: new data after CLOSE is answered with a RST,
	// built from the segment as Linux builds it.
	h := newHarness(t, nil)
	a, _ := h.pairAt(99, 299)
	a.Close(h.now)
	h.expect("<SEQ=100><ACK=300><CTL=FIN,ACK>")
	h.in(a, "<SEQ=300><ACK=101><CTL=ACK>")
	mustState(t, a, StateFinWait2)
	h.in(a, "<SEQ=300><ACK=101><CTL=ACK><DATA=1>")
	h.expect("<SEQ=101><CTL=RST>")
	mustState(t, a, StateClosed)
	if h.cfg.Stats.AbortOnData != 1 {
		t.Fatalf("AbortOnData = %d", h.cfg.Stats.AbortOnData)
	}
}

func TestRST_ListenerRules(t *testing.T) {
	h := newHarness(t, nil)
	l := h.listen(4)
	for _, c := range []struct{ in, want string }{
		{"<SEQ=5><CTL=RST>", ""},                          // ignore a RST
		{"<SEQ=5><ACK=77><CTL=RST,ACK>", ""},              // also with ACK
		{"<SEQ=5><ACK=77><CTL=ACK>", "<SEQ=77><CTL=RST>"}, // any ACK is bad
		{"<SEQ=5><ACK=77><CTL=ACK><DATA=3>", "<SEQ=77><CTL=RST>"},
		{"<SEQ=5><DATA=3>", ""}, // no SYN, no ACK: drop
		{"<SEQ=5><CTL=FIN>", ""},
	} {
		s := parseSeg(t, c.in)
		if got := l.Input(h.now, addrA, addrB, &s); got != nil {
			t.Fatalf("%s made a connection", c.in)
		}
		if c.want == "" {
			h.expect()
		} else {
			h.expect(c.want)
		}
	}
}
