package tcp

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// lossyRun transfers 200 KiB and 100 KiB at once over a pipe with the
// given loss (plus 2% duplication and 10% reordering) and checks both
// directions byte for byte. It returns the virtual time taken. Odd seeds
// run without SACK (NewReno), even ones with it.
func lossyRun(t *testing.T, seed uint64, loss float64) time.Duration {
	t.Helper()
	cfg := testConfig()
	cfg.isnFunc = nil
	cfg.Timestamps = true
	cfg.SACKPermitted = seed%2 == 0
	p := newPipe(t, cfg, seed)
	p.loss, p.dup, p.reorder, p.jitter = loss, 0.02, 0.1, 8*time.Millisecond
	start := p.now
	p.src[0] = randomBytes(seed, 200<<10)
	p.src[1] = randomBytes(seed+1000, 100<<10)
	p.closeW = [2]bool{true, true}
	p.run(time.Hour, func() bool { return p.eof[0] && p.eof[1] })
	for side := range 2 {
		if string(p.sink[1-side]) != string(p.wrote[side]) || len(p.wrote[side]) == 0 {
			t.Fatalf("seed %d loss %.2f side %d: wrote %d, read %d; states %v %v, errors %v %v",
				seed, loss, side, len(p.wrote[side]), len(p.sink[1-side]),
				p.conns[0].State(), p.conns[1].State(), p.conns[0].Err(), p.conns[1].Err())
		}
	}
	return p.now.Sub(start)
}

// TestPipe_BothRewoundDoNotDeadlock: both ends went back to SND.UNA after
// timeouts while each had received more than the other knew. Their bare
// ACKs must carry the highest sequence number sent, or each drops the
// other's ACKs as old and both time out (found by the sweep below).
func TestPipe_BothRewoundDoNotDeadlock(t *testing.T) {
	lossyRun(t, 57, 0.05)
}

// TestPipe_LossSweep runs many seeds at 2% to 20% loss. Set
// BERTH_TCP_SWEEP to the number of seeds for a longer run (2000 pass).
func TestPipe_LossSweep(t *testing.T) {
	n := 40
	if s := os.Getenv("BERTH_TCP_SWEEP"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	worst := time.Duration(0)
	for seed := uint64(1); seed <= uint64(n); seed++ {
		worst = max(worst, lossyRun(t, seed, 0.02+float64(seed%10)*0.02))
	}
	t.Logf("%d seeds, slowest %v virtual", n, worst)
}
