package conform

import (
	"os"
	"path/filepath"
	"testing"
)

// knownFailure is a script that fails for a documented reason (see
// KNOWN.md): at this line, for this reason. The suite test skips it with
// the reason, and fails if the script passes or fails elsewhere, so the
// list stays true as berth changes.
type knownFailure struct {
	line int
	why  string
}

// The reasons, by their KNOWN.md identifiers.
const (
	whyT4 = "T4 (RFC difference): in slow start berth grows cwnd by at most 2·SMSS per ACK (RFC 3465 §2.2, L=2), Linux by every segment acknowledged, so the script acknowledges data berth has not sent yet; and SO_SNDBUF counts payload in berth, kernel memory in Linux"
)

// known lists the scripts that fail, and where. KNOWN.md has the details.
var known = map[string]knownFailure{
	"packetdrill__blocking__blocking-write": {24, whyT4},
}

// TestSuite runs every conformance script as packetdrill would, each as a
// subtest: a pass logs the skipped and emulated lines, a known failure
// skips with its reason, anything else fails with the first line that did
// not hold.
func TestSuite(t *testing.T) { runSuite(t, Options{}, known) }

func runSuite(t *testing.T, opt Options, known map[string]knownFailure) {
	files := suiteFiles(t)
	names := map[string]bool{}
	for _, f := range files {
		names[ScriptName(f)] = true
	}
	for name := range known {
		if !names[name] {
			t.Errorf("known failure %s names no script in %s", name, filepath.Dir(files[0]))
		}
	}
	for _, f := range files {
		name := ScriptName(f)
		t.Run(name, func(t *testing.T) {
			o := opt
			if os.Getenv("CONFORM_TRACE") != "" {
				o.Trace = os.Stderr
			}
			res := RunFile(f, o)
			k, isKnown := known[name]
			switch {
			case res.Status == Pass && isKnown:
				t.Errorf("listed as failing at line %d (%s) but passes now: take it off the list and out of KNOWN.md\n%s", k.line, k.why, res)
			case res.Status == Pass:
				t.Log("\n" + res.String())
			case !isKnown:
				t.Errorf("\n%s", res)
			case res.Line != k.line:
				t.Errorf("listed as failing at line %d (%s) but fails at line %d now: update the list and KNOWN.md\n%s", k.line, k.why, res.Line, res)
			default:
				t.Skipf("known failure at line %d: %s\n%s", k.line, k.why, res)
			}
		})
	}
}
