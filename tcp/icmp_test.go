package tcp

import (
	"syscall"
	"testing"
	"time"

	"berth/seq"
)

// ICMP errors about a connection's segments (RFC 1122 §4.2.3.9, RFC 5927,
// RFC 1191), as Linux's tcp_v4_err treats them.

func TestICMP_PortUnreachableEndsConnect(t *testing.T) {
	h := newHarness(t, nil)
	c := h.connect() // SYN <SEQ=100>
	if c.HandleICMP(h.now, ICMPError{Seq: 100, Errno: syscall.ECONNREFUSED}) != true {
		t.Fatal("error quoting our SYN ignored")
	}
	mustState(t, c, StateClosed)
	if c.Err() != syscall.ECONNREFUSED || c.TakeEvents()&EventClosed == 0 {
		t.Fatalf("Err = %v", c.Err())
	}
	h.expect() // nothing more: no retransmission, no RST
}

func TestICMP_OutOfWindowIgnored(t *testing.T) {
	h := newHarness(t, nil)
	c := h.connect()
	// A blind attacker guessing: the quoted sequence number is not ours.
	for _, sq := range []seq.Value{99, 102, 100 + 1<<31} {
		if c.HandleICMP(h.now, ICMPError{Seq: sq, Errno: syscall.ECONNREFUSED}) {
			t.Fatalf("error quoting seq %d acted on", sq)
		}
	}
	mustState(t, c, StateSynSent)
	if n := h.cfg.Stats.OutOfWindowICMPs; n != 3 {
		t.Fatalf("OutOfWindowICMPs = %d, want 3", n)
	}
}

// sendFull writes n full segments on an established connection without
// timestamps (MSS 1460) and returns them.
func sendFull(h *harness, c *Conn, n int) []sent {
	h.t.Helper()
	if w, err := c.Write(h.now, make([]byte, n*1460)); w != n*1460 || err != nil {
		h.t.Fatalf("Write = %d, %v", w, err)
	}
	out := h.rec.take()
	if len(out) != n {
		h.t.Fatalf("%d segments sent, want %d", len(out), n)
	}
	return out
}

func TestICMP_FragNeededLowersMSSAndResends(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	sendFull(h, c, 3) // 101..4481 in flight
	cwnd := c.Info().Cwnd
	// A router on the path has an MTU of 1000: it refused the first
	// segment and quoted it.
	if !c.HandleICMP(h.now, ICMPError{Seq: 101, Errno: syscall.EMSGSIZE, FragNeeded: true, PathMTU: 1000, DatagramLen: 1500}) {
		t.Fatal("fragmentation needed ignored")
	}
	if mss := c.Info().SndMSS; mss != 960 {
		t.Fatalf("MSS %d after a path MTU of 1000, want 960", mss)
	}
	// Everything in flight goes again, in segments of 960 bytes; the
	// congestion window is not cut, since nothing was congested.
	out := h.rec.take()
	total := 0
	for i, s := range out {
		if want := seq.Value(101 + 960*i); s.seg.Seq != want || len(s.seg.Payload) > 960 {
			t.Fatalf("segment %d: seq %d, %d bytes; want seq %d, at most 960", i, s.seg.Seq, len(s.seg.Payload), want)
		}
		total += len(s.seg.Payload)
	}
	if total != 3*1460 {
		t.Fatalf("resent %d bytes, want %d", total, 3*1460)
	}
	if got := c.Info().Cwnd; got != cwnd {
		t.Fatalf("cwnd %d after the MTU change, was %d", got, cwnd)
	}
	if n := h.cfg.Stats.PMTUReductions; n != 1 {
		t.Fatalf("PMTUReductions = %d", n)
	}
	// The same news again changes nothing.
	if c.HandleICMP(h.now, ICMPError{Seq: 101, Errno: syscall.EMSGSIZE, FragNeeded: true, PathMTU: 1000, DatagramLen: 1500}) {
		t.Fatal("a second report of the same MTU acted on")
	}
}

func TestICMP_FragNeededBounds(t *testing.T) {
	for _, tc := range []struct {
		name        string
		mtu, length int
		want        int
	}{
		{"a forged tiny MTU stops at MinPathMTU", 200, 1500, MinPathMTU - 40},
		{"no MTU given: the RFC 1191 plateau below the datagram", 0, 1500, 1492 - 40},
		{"an MTU the datagram fitted: the plateau too", 1500, 1500, 1492 - 40},
		{"larger than ours: nothing", 9000, 9000, 1460},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			c := h.establish()
			sendFull(h, c, 1)
			c.HandleICMP(h.now, ICMPError{Seq: 101, FragNeeded: true, PathMTU: tc.mtu, DatagramLen: tc.length})
			if mss := c.Info().SndMSS; mss != tc.want {
				t.Fatalf("MSS %d, want %d", mss, tc.want)
			}
		})
	}
}

func TestICMP_SoftErrorReportedOnTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.Retries = 2
	h := newHarness(t, cfg)
	c := h.establish()
	sendFull(h, c, 1)
	// The route went away: an established connection carries on (RFC
	// 1122 §4.2.3.9: soft error) ...
	c.HandleICMP(h.now, ICMPError{Seq: 101, Errno: syscall.EHOSTUNREACH, Hard: true})
	mustState(t, c, StateEstablished)
	// ... and when it gives up, it says why.
	for c.State() != StateClosed {
		h.runTo(c)
		if h.now.Sub(t0) > 10*time.Minute {
			t.Fatal("never gave up")
		}
	}
	if c.Err() != syscall.EHOSTUNREACH {
		t.Fatalf("Err = %v, want EHOSTUNREACH", c.Err())
	}
}
