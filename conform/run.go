package conform

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"berth/clock"
	"berth/stack"
	"berth/tcp"
)

// The addresses of a run, in the benchmarking range 198.18.0.0/15
// (RFC 2544): packetdrill's local address becomes berth's, its remote
// address the script's.
var (
	HostAddr   = netip.MustParseAddr("198.18.0.1")
	PeerAddr   = netip.MustParseAddr("198.18.0.2")
	hostPrefix = netip.PrefixFrom(HostAddr, 24)
)

const (
	// ScriptPort is where bind puts a socket and where connect goes
	// (packetdrill's --bind_port and --connect_port default).
	ScriptPort = 8080
	// PeerPort is the source port of connections the script opens.
	PeerPort = 40000

	defaultTolerance        = 4 * time.Millisecond // packetdrill's --tolerance_usecs
	defaultTolerancePercent = 12.5                 // packetdrill's --tolerance_percent
	defaultMTU              = 1500

	// maxAnyWait bounds the wait for a packet expected at "*" time.
	maxAnyWait = 5 * time.Minute
	// lookAhead is how much further a run looks for the packet that came
	// instead of a missing one, for the report.
	lookAhead = time.Minute
	// maxStillSteps bounds timers firing without the clock moving: a
	// host that re-arms a timer for "now" forever would hang the run.
	maxStillSteps = 100000
)

// Options tunes a run. The zero value runs the Linux profile.
type Options struct {
	// Config makes the host's TCP configuration; nil means LinuxProfile.
	// Sysctls in the script's shell blocks are applied to it.
	Config func() *tcp.Config
	// Seed makes the host's random choices (ISN, ports) reproducible;
	// zero means 1.
	Seed uint64
	// RemoteISN is the script's own initial sequence number: the live
	// value of its relative sequence number 0. packetdrill uses the
	// script's numbers as they are (0).
	RemoteISN uint32
	// Start is the clock's reading at script time 0; zero means a fixed
	// instant, so runs are reproducible.
	Start time.Time
	// BindAny makes bind(fd, ..., ...) bind the wildcard address instead
	// of berth's address (packetdrill binds the local address). It lets a
	// run look past a stack difference that only bound sockets show.
	BindAny bool
	// Trace, when set, receives a line for every event run and every
	// packet berth sent, with its virtual time.
	Trace io.Writer
}

// RunFile parses and runs the script at path. A script that does not
// parse fails at the line of the syntax error.
func RunFile(path string, opt Options) *Result {
	s, err := ParseFile(path)
	if err != nil {
		res := &Result{Name: ScriptName(path), Status: Fail, Msg: err.Error()}
		var pe *ParseError
		if errors.As(err, &pe) {
			res.Line, res.Msg = pe.Line, "syntax: "+pe.Msg
		}
		return res
	}
	return Run(s, opt)
}

// Run replays s against a fresh berth host and reports the first event
// that did not happen as written, with every line it skipped or emulated.
func Run(s *Script, opt Options) *Result {
	r := newRunner(s, opt)
	r.run()
	if r.st != nil {
		r.st.Close()
	}
	r.res.Elapsed = r.now()
	if r.err != nil {
		m := r.err
		r.res.Status = Fail
		r.res.Line, r.res.Event, r.res.Msg = m.line, m.event, m.msg
		r.res.Expected, r.res.Actual = m.expected, m.actual
	}
	return r.res
}

// runner is the state of one run.
type runner struct {
	s   *Script
	opt Options
	res *Result
	err *mismatch

	cfg   *tcp.Config
	clk   *clock.Manual
	start time.Time
	link  *Link
	st    *stack.Stack
	host  hostEmulation

	tol    time.Duration
	tolPct float64

	socks map[int]*sock
	under *sock // the connection tcp_info assertions look at

	// The flow under test, and the mapping between script and live
	// sequence numbers and timestamps.
	localPort, peerPort uint16
	remoteISN           uint32
	localISN            uint32 // live ISN minus the script's
	haveLocalISN        bool
	tsMap               map[uint32]uint32 // script TS val -> live TS val
	tsBase              bool
	tsScript, tsLive    uint32 // the first pair seen: script and live TS val

	noted   map[string]bool // options whose emulation has been reported
	last    *lastEvent
	pending *pendingCall
	ipID    uint16
}

type lastEvent struct {
	when    time.Duration
	inbound bool
}

func newRunner(s *Script, opt Options) *runner {
	if opt.Config == nil {
		opt.Config = LinuxProfile
	}
	if opt.Seed == 0 {
		opt.Seed = 1
	}
	start := opt.Start
	if start.IsZero() {
		start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	r := &runner{
		s: s, opt: opt, res: &Result{Name: s.Name},
		cfg: opt.Config(), clk: clock.NewManual(start), start: start,
		tol: defaultTolerance, tolPct: defaultTolerancePercent,
		socks:     make(map[int]*sock),
		localPort: ScriptPort, peerPort: PeerPort,
		remoteISN: opt.RemoteISN,
		tsMap:     make(map[uint32]uint32),
		noted:     make(map[string]bool),
	}
	r.link = NewLink(r.clk, defaultMTU)
	return r
}

// now is the script time: how long the run has been going.
func (r *runner) now() time.Duration { return r.clk.Now().Sub(r.start) }

func (r *runner) note(line int, kind NoteKind, format string, args ...any) {
	r.res.Notes = append(r.res.Notes, Note{Line: line, Kind: kind, Text: fmt.Sprintf(format, args...)})
}

// fail stops the run at ev (nil: at no line) with a message; the first
// failure wins.
func (r *runner) fail(ev *Event, format string, args ...any) {
	if r.err != nil {
		return
	}
	m := &mismatch{msg: fmt.Sprintf(format, args...)}
	if ev != nil {
		m.line, m.event = ev.Line, ev.String()
	}
	r.err = m
}

// failPacket stops the run at an outbound packet that differs from the
// script's.
func (r *runner) failPacket(ev *Event, msg, expected, actual string) {
	r.fail(ev, "%s", msg)
	if r.err != nil && r.err.line == ev.Line && r.err.msg == msg {
		r.err.expected, r.err.actual = expected, actual
	}
}

func (r *runner) run() {
	r.applyFlags()
	for _, c := range r.s.Init {
		r.command(c.Line, c.Text)
	}
	r.prescan()
	if err := r.startHost(); err != nil {
		r.fail(nil, "starting the host: %v", err)
		return
	}
	for i := range r.s.Events {
		r.event(&r.s.Events[i])
		if r.err != nil {
			return
		}
	}
	r.finish()
	for _, c := range r.s.Cleanup {
		r.command(c.Line, c.Text)
	}
}

// startHost makes the host under test: one stack, one capture link.
func (r *runner) startHost() error {
	r.st = stack.New(stack.Options{Name: "berth", Clock: r.clk, Seed: r.opt.Seed, TCP: r.cfg})
	return r.st.AddLink("pd0", r.link, hostPrefix)
}

// event runs one event at its time.
func (r *runner) event(ev *Event) {
	inbound := ev.Packet != nil && ev.Packet.Dir == Inbound
	// Relative times count from the end of the previous event, except that
	// consecutive inbound packets are anchored to each other's scripted
	// times so that processing never accumulates (packetdrill's
	// adjust_relative_event_times).
	base := r.now()
	if r.last != nil && r.last.inbound && inbound {
		base = r.last.when
	}
	t := ev.Time
	when, end, blockEnd := t.Start, t.End, t.BlockEnd
	switch t.Kind {
	case TimeRelative:
		when, end, blockEnd = base+t.Start, base+t.End, base+t.BlockEnd
	case TimeAny:
		when, end, blockEnd = base, base, base
	}
	if !t.Range {
		end = when
	}
	tol := r.tolerance(when)
	if t.Kind == TimeAny {
		r.tracef("%s line %d: %s", fmtTime(r.now()), ev.Line, ev.String())
	} else {
		r.tracef("%s line %d: %s", fmtTime(when), ev.Line, ev.String())
	}

	if ev.Packet != nil && ev.Packet.Dir == Outbound {
		r.outbound(ev, when, end, tol)
	} else {
		if t.Kind != TimeAny {
			if now := r.now(); now > end+tol {
				r.fail(ev, "timing: the script wants this at %s but the run is already at %s", fmtTime(when), fmtTime(now))
				return
			}
			r.advanceTo(when)
		}
		if r.err != nil {
			return
		}
		switch {
		case ev.Packet != nil:
			r.inject(ev, ev.Packet)
		case ev.Syscall != nil:
			if !t.Blocking {
				blockEnd = when
			}
			r.syscall(ev, blockEnd, tol)
		case ev.Command != nil:
			r.command(ev.Line, ev.Command.Text)
		case ev.Code != nil:
			r.code(ev, ev.Code.Text)
		}
	}
	r.last = &lastEvent{when: when, inbound: inbound}
}

// tolerance is how far from when an event may happen: packetdrill's
// --tolerance_usecs, or --tolerance_percent of the time since the previous
// event if that is more.
func (r *runner) tolerance(when time.Duration) time.Duration {
	tol := r.tol
	if r.last != nil {
		if d := time.Duration(float64(when-r.last.when) * r.tolPct / 100); d > tol {
			tol = d
		}
	}
	return tol
}

// advanceTo moves the clock to script time t, one timer deadline at a time,
// giving a blocked call the chance to return after each.
func (r *runner) advanceTo(t time.Duration) {
	r.stepUntil(t, func() bool { return false })
	if r.err == nil && r.now() < t {
		r.clk.Set(r.start.Add(t))
		r.poll()
	}
}

// stepUntil fires timers in deadline order up to script time limit, and
// stops early once done reports true. It returns done's last answer.
func (r *runner) stepUntil(limit time.Duration, done func() bool) bool {
	still := 0
	for r.err == nil {
		if done() {
			return true
		}
		next, ok := r.clk.Next()
		if !ok || next.Sub(r.start) > limit {
			return false
		}
		before := r.clk.Now()
		r.clk.Set(next)
		if r.clk.Now().Equal(before) {
			if still++; still > maxStillSteps {
				r.fail(nil, "timers keep firing at %s without time passing", fmtTime(r.now()))
				return false
			}
		} else {
			still = 0
		}
		r.poll()
	}
	return false
}

// finish waits for a call still blocked at the end of the script, and
// notes what the host sent that no line checked.
func (r *runner) finish() {
	if p := r.pending; p != nil {
		r.stepUntil(p.deadline, func() bool { return r.pending == nil })
		if r.pending != nil && r.err == nil {
			r.advanceTo(p.deadline)
		}
		if r.pending != nil && r.err == nil {
			r.fail(p.ev, "the blocking call never returned (waited until %s)%s", fmtTime(r.now()), connState(p.sock))
			return
		}
	}
	if n := r.link.Queued(); n > 0 && r.err == nil {
		s, _ := r.link.Take()
		desc := "?"
		if o, err := decodeOut(s, r.start); err == nil {
			desc = fmtTime(o.at) + " " + r.scriptView(o).String()
		}
		r.note(0, Info, "%d packet(s) sent after the last expected one were not checked (nor does packetdrill check them); the first: %s", n, desc)
	}
}

// fmtTime writes a script time in seconds, as packetdrill reports them.
func fmtTime(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }

func (r *runner) tracef(format string, args ...any) {
	if r.opt.Trace != nil {
		fmt.Fprintf(r.opt.Trace, format+"\n", args...)
	}
}
