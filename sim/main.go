package sim

import (
	"fmt"
	"os"
	"testing"
	"testing/synctest"
)

// Main runs f on a new network on virtual time from a program's main
// function, then exits the program: status 0 when f returns nil, 1 after
// printing its error. It is how a command (berth's demo) gets the same
// deterministic, virtual-time run a test gets from Run: "demo -seed 7"
// replays exactly.
//
// Go gives a testing/synctest bubble only to a *testing.T, so Main borrows
// testing.Main, the entry point package testing keeps for programs that
// run tests themselves, to run f as a one-test suite. Parse the program's
// flags before calling Main; Main hides the command line from package
// testing, and hides testing's closing "PASS". Standard output and error
// work as usual inside f.
//
// As with Run, the goroutines f starts must have ended when it returns,
// apart from those blocked on the network's sockets, which Close (called
// after f) unblocks.
func Main(f func(n *Network) error, opts ...Option) {
	os.Args = os.Args[:1] // package testing parses the command line
	// Package testing reports on standard output (its writers take
	// os.Stdout when the suite starts); f gets the real one back.
	stdout := os.Stdout
	if devNull, e := os.OpenFile(os.DevNull, os.O_WRONLY, 0); e == nil {
		os.Stdout = devNull
	}
	var err error
	run := func(t *testing.T) {
		os.Stdout = stdout
		synctest.Test(t, func(t *testing.T) {
			n := New(opts...)
			err = f(n)
			if cerr := n.Close(); err == nil {
				err = cerr
			}
		})
		os.Stdout = devNullOr(stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			t.Fail()
		}
	}
	defer func() { os.Stdout = stdout }()
	testing.Main(func(pat, str string) (bool, error) { return true, nil },
		[]testing.InternalTest{{Name: "sim.Main", F: run}}, nil, nil)
}

func devNullOr(f *os.File) *os.File {
	if d, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		return d
	}
	return f
}
