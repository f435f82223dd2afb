package tcp

import (
	"testing"
	"time"

	"berth/seq"
)

// Flow control: zero windows, the persist timer, and silly window syndrome
// avoidance on both sides (RFC 9293 §3.8.6, RFC 1122 §4.2.3.3-4).

// noScale is the test profile without window scaling, so windows in the
// segments are byte counts.
func noScale() *Config {
	cfg := testConfig()
	cfg.WindowScale = -1
	return cfg
}

func TestWindow_ZeroWindowProbing(t *testing.T) {
	h := newHarness(t, noScale())
	a, _ := h.pairAt(99, 299) // a sends from 100; its RTO is 200 ms
	h.in(a, "<SEQ=300><ACK=100><CTL=ACK><WIN=0>")
	a.Write(h.now, make([]byte, 100))
	h.expect() // the window is closed
	// The persist timer: a one-byte probe past the window, with the
	// interval doubling while the window stays shut, even though each
	// probe is answered (RFC 1122 §4.2.2.17).
	for _, want := range []time.Duration{200, 400, 800, 1600} {
		if d := h.runTo(a); !near(d, want*time.Millisecond) {
			t.Fatalf("probe after %v, want %v", d, want*time.Millisecond)
		}
		h.expect("<SEQ=100><ACK=300><CTL=ACK><DATA=1>")
		h.in(a, "<SEQ=300><ACK=100><CTL=ACK><WIN=0>")
		h.expect()
	}
	if h.cfg.Stats.PersistProbes != 4 || a.State() != StateEstablished {
		t.Fatalf("probes %d, state %v", h.cfg.Stats.PersistProbes, a.State())
	}
	// The window opens: everything goes.
	h.in(a, "<SEQ=300><ACK=100><CTL=ACK><WIN=1000>")
	h.expect("<SEQ=100><ACK=300><CTL=ACK><DATA=100>")
}

func TestWindow_ProbeTakenWhenWindowOpenedSilently(t *testing.T) {
	// The window update was lost; the peer accepts the probe byte.
	h := newHarness(t, noScale())
	a, _ := h.pairAt(99, 299)
	h.in(a, "<SEQ=300><ACK=100><CTL=ACK><WIN=0>")
	a.Write(h.now, make([]byte, 100))
	h.runTo(a)
	h.expect("<SEQ=100><ACK=300><CTL=ACK><DATA=1>")
	h.in(a, "<SEQ=300><ACK=101><CTL=ACK><WIN=1000>")
	h.expect("<SEQ=101><ACK=300><CTL=ACK><DATA=99>")
}

func TestWindow_ReceiverZeroWindowAndProbe(t *testing.T) {
	cfg := noScale()
	cfg.RcvBuf = 4096
	h := newHarness(t, cfg)
	c := h.establish() // RCV.NXT 301
	for i, want := range []string{
		"<SEQ=101><ACK=1325><CTL=ACK><WIN=3072>",
		"<SEQ=101><ACK=2349><CTL=ACK><WIN=2048>",
		"<SEQ=101><ACK=3373><CTL=ACK><WIN=1024>",
		"<SEQ=101><ACK=4397><CTL=ACK><WIN=0>",
	} {
		s := parseSeg(t, "<ACK=101><CTL=ACK><DATA=1024>")
		s.Seq = seq.Value(301 + 1024*i)
		s.Payload = pattern(s.Seq, 1024)
		c.Input(h.now, &s)
		h.expect(want)
	}
	// A probe at RCV.NXT: the ACK is taken, the byte is not.
	h.in(c, "<SEQ=4397><ACK=101><CTL=ACK><DATA=1>")
	h.expect("<SEQ=101><ACK=4397><CTL=ACK><WIN=0>")
	if c.Info().RecvQueue != 4096 {
		t.Fatalf("queue %d", c.Info().RecvQueue)
	}
	// Receiver SWS avoidance: reading opens the window only once the
	// gain reaches min(buffer/2, MSS) = 1460.
	buf := make([]byte, 4096)
	c.Read(h.now, buf[:100])
	c.Read(h.now, buf[:1000])
	h.expect()
	c.Read(h.now, buf[:400])
	h.expect("<SEQ=101><ACK=4397><CTL=ACK><WIN=1500>")
	// The bytes are the ones sent.
	n, _ := c.Read(h.now, buf)
	if n != 2596 || buf[0] != pattern(301+1500, 1)[0] {
		t.Fatalf("read %d bytes, first %#x", n, buf[0])
	}
}

func TestWindow_SenderSWSAvoidance(t *testing.T) {
	h := newHarness(t, noScale())
	a, _ := h.pairAt(99, 299) // peer offered 65535 in its SYN
	a.Write(h.now, make([]byte, 3000))
	h.expect(
		"<SEQ=100><ACK=300><CTL=ACK><DATA=1460>",
		"<SEQ=1560><ACK=300><CTL=ACK><DATA=1460>",
		"<SEQ=3020><ACK=300><CTL=ACK><DATA=80>",
	)
	// All acknowledged, but the window has shrunk to 500: less than
	// half the largest window, so no small segment goes out.
	h.in(a, "<SEQ=300><ACK=3100><CTL=ACK><WIN=500>")
	a.Write(h.now, make([]byte, 2000))
	h.expect()
	// The override timeout (the persist timer) sends what fits.
	h.runTo(a)
	h.expect("<SEQ=3100><ACK=300><CTL=ACK><DATA=500>")
	// A window of at least half the maximum is used at once.
	// (The last 40 bytes follow: Nagle holds a small segment only while
	// another small one is unacknowledged.)
	h.in(a, "<SEQ=300><ACK=3600><CTL=ACK><WIN=40000>")
	h.expect("<SEQ=3600><ACK=300><CTL=ACK><DATA=1460>", "<SEQ=5060><ACK=300><CTL=ACK><DATA=40>")
}

func TestWindow_ScaledWindowsInAndOut(t *testing.T) {
	h := newHarness(t, nil) // window scale 8 offered
	c := h.connect()
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK><WIN=1000>", withMSS(1460), withWScale(2))
	h.expect("<SEQ=101><ACK=301><CTL=ACK><WIN=1024>") // 256 KiB >> 8
	if c.sndWnd != 1000 {
		t.Fatalf("window of the SYN-ACK was scaled: %d", c.sndWnd)
	}
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><WIN=1000>")
	if c.sndWnd != 4000 {
		t.Fatalf("send window %d, want 1000<<2", c.sndWnd)
	}
}
