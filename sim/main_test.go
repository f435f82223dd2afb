package sim

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// A program gets virtual time and a reproducible run from Main.
func TestMainProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	bin := t.TempDir() + "/mainprog"
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/mainprog").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	first, errOut, err := run("-seed", "5")
	if err != nil || errOut != "" {
		t.Fatalf("run: %v, stderr %q", err, errOut)
	}
	if !strings.HasPrefix(first, `echo "hello" after 1h0m0s, trace `) || strings.Count(first, "\n") != 1 {
		t.Fatalf("output %q", first)
	}
	if again, _, _ := run("-seed", "5"); again != first {
		t.Fatalf("seed 5 gave %q, then %q", first, again)
	}
	if other, _, _ := run("-seed", "6"); other == first {
		t.Fatal("seeds 5 and 6 gave the same trace")
	}
	out, errOut, err := run("-fail")
	if err == nil || !strings.Contains(errOut, "asked to fail") || strings.Contains(out, "FAIL") {
		t.Fatalf("failing run: %v, stdout %q, stderr %q", err, out, errOut)
	}
}
