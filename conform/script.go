package conform

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"berth/wire"
)

// Script is a parsed packetdrill script.
type Script struct {
	Name    string
	Flags   []Flag    // --name=value lines before the first event
	Init    []Command // untimed shell blocks before the first event
	Events  []Event
	Cleanup []Command // untimed shell blocks after the first event
}

// Flag is a script flag such as --tolerance_usecs=10000.
type Flag struct {
	Line        int
	Name, Value string
}

// TimeKind says how an event's time is written.
type TimeKind uint8

const (
	// TimeAbsolute: "0.100", seconds since the script started.
	TimeAbsolute TimeKind = iota
	// TimeRelative: "+0.100", seconds after the previous event.
	TimeRelative
	// TimeAny: "*", whenever it happens.
	TimeAny
)

// Time is when an event happens. Start (and End for a range "a~b") are
// offsets whose base depends on Kind; a range's end is relative if written
// with "+". A blocking system call ("+0...0.3") returns at BlockEnd,
// counted from the same base as Start.
type Time struct {
	Kind     TimeKind
	Start    time.Duration
	Range    bool
	End      time.Duration
	Blocking bool
	BlockEnd time.Duration
}

// Event is one timed line of a script: exactly one of its pointers is set.
type Event struct {
	Line    int
	Time    Time
	Packet  *Packet
	Syscall *Syscall
	Command *Command
	Code    *Code
}

// Direction is where a packet travels, seen from the host under test.
type Direction uint8

const (
	// Inbound ("<") packets are injected into berth.
	Inbound Direction = iota
	// Outbound (">") packets are expected from berth.
	Outbound
)

// Packet is a packet line: "< S. 0:0(0) ack 1 win 257 <mss 1460,nop,wscale 7>".
// Options nil with AnyOptions false means "no options at all".
type Packet struct {
	Dir        Direction
	Flags      wire.TCPFlags
	Seq, End   uint32
	Len        int
	HasAck     bool
	Ack        uint32
	HasWin     bool
	Win        uint16
	AnyOptions bool // <...>: options are not checked
	Options    []Option
}

// OptionKind is a TCP option kind as packetdrill names it.
type OptionKind uint8

// The option kinds the scripts use (RFC 9293, RFC 7323, RFC 2018).
const (
	OptEOL       OptionKind = 0
	OptNOP       OptionKind = 1
	OptMSS       OptionKind = 2
	OptWScale    OptionKind = 3
	OptSACKOK    OptionKind = 4
	OptSACK      OptionKind = 5
	OptTimestamp OptionKind = 8
)

// Option is one TCP option in a packet line, in wire order.
type Option struct {
	Kind     OptionKind
	Value    uint32      // mss, wscale
	Val, Ecr uint32      // TS
	Blocks   []SACKBlock // sack
}

// SACKBlock is a "left:right" pair of a sack option.
type SACKBlock struct{ Left, Right uint32 }

// Syscall is a system call line: "write(4, ..., 1000) = 1000" or
// "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)".
type Syscall struct {
	Name    string
	Args    []Expr
	Ret     int64
	AnyRet  bool // "= ..."
	Errno   string
	ErrText string
}

// ExprKind is the kind of a system call argument.
type ExprKind uint8

const (
	// ExprEllipsis is "...": any value (packetdrill fills one in).
	ExprEllipsis ExprKind = iota
	// ExprInt is a number.
	ExprInt
	// ExprName is a symbol such as SOL_SOCKET.
	ExprName
	// ExprOr is "A|B|...": the bitwise or of its Elems.
	ExprOr
	// ExprArray is "[...]": a pointer to the values in Elems.
	ExprArray
	// ExprString is a quoted string.
	ExprString
)

// Expr is a system call argument.
type Expr struct {
	Kind  ExprKind
	Int   int64
	Name  string // ExprName; the text of ExprString
	Elems []Expr
}

// Command is a shell block: `...`.
type Command struct {
	Line int
	Text string
}

// Code is a Python block: %{ ... }%.
type Code struct{ Text string }

// String writes the script back in packetdrill syntax, one event a line.
func (s *Script) String() string {
	var b strings.Builder
	for _, f := range s.Flags {
		if f.Value == "" {
			fmt.Fprintf(&b, "--%s\n", f.Name)
		} else {
			fmt.Fprintf(&b, "--%s=%s\n", f.Name, f.Value)
		}
	}
	for _, c := range s.Init {
		fmt.Fprintf(&b, "`%s`\n", c.Text)
	}
	for i := range s.Events {
		b.WriteString(s.Events[i].String())
		b.WriteByte('\n')
	}
	for _, c := range s.Cleanup {
		fmt.Fprintf(&b, "`%s`\n", c.Text)
	}
	return b.String()
}

// String writes the event as a script line.
func (e *Event) String() string {
	t := e.Time.String()
	switch {
	case e.Packet != nil:
		return t + " " + e.Packet.String()
	case e.Syscall != nil:
		return t + " " + e.Syscall.String()
	case e.Command != nil:
		return t + " `" + e.Command.Text + "`"
	case e.Code != nil:
		return t + " %{" + e.Code.Text + "}%"
	}
	return t
}

// secs formats a duration as packetdrill seconds: "0.1", "2", "0.000250".
func secs(d time.Duration) string {
	us := d / time.Microsecond
	s := strconv.FormatInt(int64(us/1e6), 10)
	if f := us % 1e6; f != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", f), "0")
	}
	return s
}

// String writes the time as in a script: "0", "+0.1", "+0.3~+0.4", "*",
// "+0...0.2".
func (t Time) String() string {
	var s string
	switch t.Kind {
	case TimeAny:
		return "*"
	case TimeRelative:
		s = "+" + secs(t.Start)
	default:
		s = secs(t.Start)
	}
	if t.Range {
		if t.Kind == TimeRelative {
			s += "~+" + secs(t.End)
		} else {
			s += "~" + secs(t.End)
		}
	}
	if t.Blocking {
		s += "..." + secs(t.BlockEnd)
	}
	return s
}

// flagString writes flags in packetdrill's letters: "S.", "FP.", "-" for none.
func flagString(f wire.TCPFlags) string {
	if f == 0 {
		return "-"
	}
	var b strings.Builder
	for _, x := range []struct {
		f wire.TCPFlags
		c byte
	}{{wire.FlagFIN, 'F'}, {wire.FlagSYN, 'S'}, {wire.FlagRST, 'R'}, {wire.FlagPSH, 'P'},
		{wire.FlagURG, 'U'}, {wire.FlagECE, 'E'}, {wire.FlagCWR, 'W'}, {wire.FlagACK, '.'}} {
		if f&x.f != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// String writes the packet line without its time.
func (p Packet) String() string {
	d := "<"
	if p.Dir == Outbound {
		d = ">"
	}
	s := fmt.Sprintf("%s %s %d:%d(%d)", d, flagString(p.Flags), p.Seq, p.End, p.Len)
	if p.HasAck {
		s += fmt.Sprintf(" ack %d", p.Ack)
	}
	if p.HasWin {
		s += fmt.Sprintf(" win %d", p.Win)
	}
	switch {
	case p.AnyOptions:
		s += " <...>"
	case p.Options != nil:
		s += " <" + optionsString(p.Options) + ">"
	}
	return s
}

func optionsString(opts []Option) string {
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = o.String()
	}
	return strings.Join(parts, ",")
}

// String writes the option as packetdrill does: "mss 1460", "TS val 1 ecr 0".
func (o Option) String() string {
	switch o.Kind {
	case OptEOL:
		return "eol"
	case OptNOP:
		return "nop"
	case OptMSS:
		return fmt.Sprintf("mss %d", o.Value)
	case OptWScale:
		return fmt.Sprintf("wscale %d", o.Value)
	case OptSACKOK:
		return "sackOK"
	case OptTimestamp:
		return fmt.Sprintf("TS val %d ecr %d", o.Val, o.Ecr)
	case OptSACK:
		s := "sack"
		for _, b := range o.Blocks {
			s += fmt.Sprintf(" %d:%d", b.Left, b.Right)
		}
		return s
	}
	return fmt.Sprintf("kind%d", o.Kind)
}

// String writes the system call line without its time.
func (c *Syscall) String() string {
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = a.String()
	}
	s := fmt.Sprintf("%s(%s) = ", c.Name, strings.Join(args, ", "))
	if c.AnyRet {
		return s + "..."
	}
	s += strconv.FormatInt(c.Ret, 10)
	if c.Errno != "" {
		s += " " + c.Errno
		if c.ErrText != "" {
			s += " (" + c.ErrText + ")"
		}
	}
	return s
}

// String writes the argument as in a script.
func (e Expr) String() string {
	switch e.Kind {
	case ExprEllipsis:
		return "..."
	case ExprInt:
		return strconv.FormatInt(e.Int, 10)
	case ExprName:
		return e.Name
	case ExprString:
		return strconv.Quote(e.Name)
	case ExprOr:
		parts := make([]string, len(e.Elems))
		for i, x := range e.Elems {
			parts[i] = x.String()
		}
		return strings.Join(parts, "|")
	case ExprArray:
		parts := make([]string, len(e.Elems))
		for i, x := range e.Elems {
			parts[i] = x.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return "?"
}
