package tcp

import (
	"testing"
	"time"

	"berth/wire"
)

// pushes writes which segments carried PSH: "P" for PSH, "." without.
func pushes(segs []sent) string {
	b := make([]byte, len(segs))
	for i, s := range segs {
		b[i] = '.'
		if s.seg.Flags&wire.FlagPSH != 0 {
			b[i] = 'P'
		}
	}
	return string(b)
}

// establishAfter opens a connection whose SYN-ACK comes rtt after the SYN,
// so that SRTT (and with it the pacing rate PushBursts models) is rtt.
func establishAfter(h *harness, rtt time.Duration) *Conn {
	h.t.Helper()
	c := h.connect()
	h.advance(rtt)
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460))
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	c.TakeEvents()
	return c
}

func TestPushPlacement(t *testing.T) {
	const mss = 1460
	cases := []struct {
		name       string
		pushBursts bool
		rtt        time.Duration
		write      int
		want       string
	}{
		// The segment that empties the buffer carries PSH, and only it.
		{"default, data-limited", false, 100 * time.Millisecond, 2*mss + 100, "..P"},
		// A burst cut by the congestion window (IW10) leaves data behind:
		// no segment empties the buffer.
		{"default, cwnd-limited", false, 100 * time.Millisecond, 12 * mss, ".........."},
		// Linux at 100 ms SRTT paces 2·10·1460 B / 100 ms, under two
		// segments a millisecond, so TSO autosizing cuts runs of two, each
		// ending in PSH (packetdrill nagle/https_client), and the burst's
		// last segment has it too.
		{"Linux, data-limited", true, 100 * time.Millisecond, 2*mss + 100, ".PP"},
		{"Linux, cwnd-limited", true, 100 * time.Millisecond, 12 * mss, ".P.P.P.P.P"},
		// At 1 ms SRTT the rate allows 20 segments a millisecond: the
		// burst of 10 is one run, PSH on its last segment
		// (packetdrill shutdown-rdwr-send-queue-ack-close).
		{"Linux, fast path", true, time.Millisecond, 12 * mss, ".........P"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.PushBursts = tc.pushBursts
			h := newHarness(t, cfg)
			c := establishAfter(h, tc.rtt)
			c.SetNoDelay(h.now, true)
			if n, err := c.Write(h.now, make([]byte, tc.write)); n != tc.write || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			segs := h.rec.take()
			total := 0
			for _, s := range segs {
				total += len(s.seg.Payload)
			}
			if got := pushes(segs); got != tc.want {
				t.Fatalf("PSH on %d segments (%d bytes) = %q, want %q", len(segs), total, got, tc.want)
			}
		})
	}
}

func TestTSOSegs(t *testing.T) {
	c := &Conn{}
	c.cong.Cwnd, c.cong.Ssthresh = 10*1460, ^uint32(0)
	for _, tc := range []struct {
		srtt time.Duration
		want int
	}{
		{0, 44},                      // unpaced: 64 KiB
		{100 * time.Millisecond, 2},  // 292 kB/s: 285 B per 1/1024 s, the floor of 2
		{time.Millisecond, 19},       // 29.2 MB/s: 28,515 B
		{100 * time.Microsecond, 44}, // capped at 64 KiB
		{10 * time.Millisecond, 2},   // 2,851 B: one segment, the floor
		{2 * time.Millisecond, 9},    // 14,257 B
	} {
		c.srtt = tc.srtt
		if got := c.tsoSegs(1460); got != tc.want {
			t.Errorf("srtt %v: tsoSegs = %d, want %d", tc.srtt, got, tc.want)
		}
	}
	// Congestion avoidance paces at 1.2 times the rate instead of twice.
	c.srtt, c.cong.Ssthresh = time.Millisecond, 10*1460
	if got, want := c.tsoSegs(1460), 11; got != want {
		t.Errorf("in congestion avoidance: tsoSegs = %d, want %d", got, want)
	}
}
