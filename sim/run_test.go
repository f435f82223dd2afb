package sim

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestSeedPrecedence(t *testing.T) {
	var got uint64
	Run(t, func(t *testing.T, n *Network) { got = n.Seed() })
	if want := derive(0, "test", t.Name()); got != want {
		t.Fatalf("default seed %d, want %d (from the test's name)", got, want)
	}
	Run(t, func(t *testing.T, n *Network) { got = n.Seed() }, Seed(7))
	if got != 7 {
		t.Fatalf("Seed(7) gave %d", got)
	}
	old := *seedFlag
	defer func() { *seedFlag = old }()
	*seedFlag = 99
	Run(t, func(t *testing.T, n *Network) { got = n.Seed() }, Seed(7))
	if got != 99 {
		t.Fatalf("-sim.seed=99 with Seed(7) gave %d", got)
	}
}

// A failing simulation names its seed and the command that reruns it; the
// rerun with -sim.seed gets that seed.
func TestFailureNamesSeed(t *testing.T) {
	if os.Getenv("BERTH_SIM_CHILD") == "fail" {
		t.Run("sub/case", func(t *testing.T) {
			Run(t, func(t *testing.T, n *Network) {
				t.Logf("running seed %d", n.Seed())
				t.Fatal("deliberate")
			})
		})
		return
	}
	run := func(args ...string) string {
		cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestFailureNamesSeed$", "-test.v"}, args...)...)
		cmd.Env = append(os.Environ(), "BERTH_SIM_CHILD=fail")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("the deliberate failure passed:\n%s", out)
		}
		return string(out)
	}
	out := run()
	m := regexp.MustCompile(`sim: seed (\d+); rerun with: go test -run '(.*)' -sim.seed=(\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] != m[3] || m[2] != `^TestFailureNamesSeed$/^sub$/^case$` {
		t.Fatalf("no usable rerun line in:\n%s", out)
	}
	again := run("-sim.seed=" + m[1])
	if !strings.Contains(again, "running seed "+m[1]) {
		t.Fatalf("rerun with -sim.seed=%s:\n%s", m[1], again)
	}
}
