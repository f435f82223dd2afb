package sim

import (
	"flag"
	"fmt"
	"testing"
	"testing/synctest"
)

// seedFlag is -sim.seed: rerun every simulation of a test binary with one
// seed. It is registered only in test binaries, so a program importing sim
// keeps its flag set to itself.
var seedFlag *uint64

func init() {
	if testing.Testing() {
		seedFlag = flag.Uint64("sim.seed", 0, "run every sim.Run simulation with this `seed` (0: each test's own)")
	}
}

// Run runs f on a new network inside a testing/synctest bubble, so the
// whole simulation — the stacks, the faults and the program under test —
// runs on virtual time: an hour of timeouts passes in milliseconds.
//
// The seed is, in order of precedence, -sim.seed=N on the command line, a
// Seed among opts, or one derived from the test's name (so every test is
// reproducible and tests differ from each other). When the test fails, Run
// logs the seed and the command line that reruns it. The network is closed
// when f returns, after the test's own cleanups (its hosts crash, which
// unblocks goroutines still using their sockets); goroutines f started must
// have ended by then, as synctest.Test requires.
//
// Inside the bubble the scheduler calls synctest.Wait between events, so
// f must not call synctest.Wait itself while the network runs; sleep
// instead (time.Sleep in a bubble returns once everything else is idle at
// the new time).
func Run(t *testing.T, f func(t *testing.T, n *Network), opts ...Option) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		var c config
		for _, o := range opts {
			o(&c)
		}
		seed := c.seed
		if !c.seedSet {
			seed = derive(0, "test", t.Name())
		}
		if seedFlag != nil && *seedFlag != 0 {
			seed = *seedFlag
		}
		n := New(append(opts, Seed(seed))...)
		t.Cleanup(func() {
			n.Close()
			if t.Failed() {
				t.Logf("sim: seed %d; rerun with: go test -run '^%s$' -sim.seed=%d", seed, escapeRun(t.Name()), seed)
			}
		})
		f(t, n)
	})
}

// escapeRun turns a test name into a -run pattern matching only it.
func escapeRun(name string) string {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch c {
		case '/':
			out = append(out, "$/^"...)
			continue
		case '.', '+', '*', '?', '(', ')', '[', ']', '{', '}', '|', '^', '$', '\\':
			out = append(out, '\\')
		}
		out = append(out, c)
	}
	return string(out)
}

// String describes the network for logs.
func (n *Network) String() string {
	return fmt.Sprintf("sim.Network(seed=%d, %d hosts, %s)", n.seed, len(n.Hosts()), n.Elapsed())
}
