package conform

import (
	"fmt"
	"strings"
	"time"
)

// Status is the outcome of a script.
type Status uint8

const (
	// Pass: every event happened as the script says.
	Pass Status = iota
	// Fail: an event did not; Result says which and how.
	Fail
)

func (s Status) String() string {
	if s == Pass {
		return "PASS"
	}
	return "FAIL"
}

// NoteKind says what the interpreter did with a line it could not run as
// written.
type NoteKind uint8

const (
	// Skipped: the line was not run; it has no equivalent in berth or in
	// this interpreter.
	Skipped NoteKind = iota
	// Emulated: the line's effect was reproduced another way.
	Emulated
	// Info: something worth knowing about the run.
	Info
)

func (k NoteKind) String() string {
	switch k {
	case Skipped:
		return "skipped"
	case Emulated:
		return "emulated"
	}
	return "note"
}

// Note records a line that was skipped or emulated, so that nothing is
// left out silently.
type Note struct {
	Line int
	Kind NoteKind
	Text string
}

func (n Note) String() string {
	if n.Line == 0 {
		return fmt.Sprintf("%s: %s", n.Kind, n.Text)
	}
	return fmt.Sprintf("line %d: %s: %s", n.Line, n.Kind, n.Text)
}

// Result is the outcome of running one script.
type Result struct {
	Name   string
	Status Status
	// For a failure: the first line that did not hold, the line as the
	// script has it, what went wrong, and what the host did instead.
	Line     int
	Event    string
	Msg      string
	Expected string
	Actual   string
	Notes    []Note
	Elapsed  time.Duration // virtual time the script took
}

// Summary is one line: "PASS name" or "FAIL name: line 17: msg".
func (r *Result) Summary() string {
	if r.Status == Pass {
		return fmt.Sprintf("PASS %s (%ss of virtual time)", r.Name, secs(r.Elapsed))
	}
	return fmt.Sprintf("FAIL %s: %s", r.Name, r.Failure())
}

// Failure describes the first mismatch in one line; empty for a pass.
func (r *Result) Failure() string {
	if r.Status == Pass {
		return ""
	}
	if r.Line == 0 {
		return r.Msg
	}
	return fmt.Sprintf("line %d: %s", r.Line, r.Msg)
}

// String is the full report: the summary, the failing line with expected
// and actual, and the notes.
func (r *Result) String() string {
	var b strings.Builder
	b.WriteString(r.Summary())
	b.WriteByte('\n')
	if r.Status == Fail {
		if r.Event != "" {
			fmt.Fprintf(&b, "  script:   %s\n", r.Event)
		}
		if r.Expected != "" {
			fmt.Fprintf(&b, "  expected: %s\n", r.Expected)
		}
		if r.Actual != "" {
			fmt.Fprintf(&b, "  actual:   %s\n", r.Actual)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	return b.String()
}

// mismatch is the error that stops a run.
type mismatch struct {
	line             int
	event            string
	msg              string
	expected, actual string
}

func (m *mismatch) Error() string { return fmt.Sprintf("line %d: %s", m.line, m.msg) }
