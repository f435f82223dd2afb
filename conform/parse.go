package conform

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"berth/wire"
)

// ParseError is a syntax error in a script.
type ParseError struct {
	Name string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg) }

// maxScriptLen bounds what Parse reads; the longest real script is a few
// kilobytes.
const maxScriptLen = 1 << 20

// Parse reads a script in the subset of packetdrill's language that the
// conformance scripts use (packetdrill's parser.y is the reference):
//
//	--tolerance_usecs=10000              script flags, before the first event
//	`../common/defaults.sh`              shell blocks, timed or not
//	0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
//	+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
//	+0...0.200 accept(3, ..., ...) = 4   a blocking call and when it returns
//	+.1 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
//	*   > S. 0:0(0) ack 1 <...>
//	+.3~+.4 > F. 1:1(0) ack 1            a time window
//	+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
//	+.1 %{ assert tcpi_snd_mss == 1100 }%
//
// Comments run from // to the end of the line or between /* and */.
func Parse(name string, src []byte) (*Script, error) {
	if len(src) > maxScriptLen {
		return nil, &ParseError{name, 1, "script too long"}
	}
	p := &parser{name: name, src: string(src), line: 1}
	s := &Script{Name: name}
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.eof() {
			break
		}
		line := p.line
		switch {
		case strings.HasPrefix(p.rest(), "--"):
			if len(s.Events) > 0 {
				return nil, p.errf("script flag after the first event")
			}
			f, err := p.flag()
			if err != nil {
				return nil, err
			}
			s.Flags = append(s.Flags, f)
		case p.peek() == '`':
			text, err := p.backtick()
			if err != nil {
				return nil, err
			}
			c := Command{Line: line, Text: text}
			if len(s.Events) == 0 {
				s.Init = append(s.Init, c)
			} else {
				s.Cleanup = append(s.Cleanup, c)
			}
		default:
			if len(s.Cleanup) > 0 {
				return nil, p.errf("event after the cleanup command")
			}
			ev, err := p.event()
			if err != nil {
				return nil, err
			}
			ev.Line = line
			s.Events = append(s.Events, ev)
		}
	}
	return s, nil
}

type parser struct {
	name string
	src  string
	pos  int
	line int
}

func (p *parser) eof() bool    { return p.pos >= len(p.src) }
func (p *parser) rest() string { return p.src[p.pos:] }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.src[p.pos]
}

func (p *parser) errf(format string, args ...any) error {
	return &ParseError{p.name, p.line, fmt.Sprintf(format, args...)}
}

// advance moves over n bytes, counting lines.
func (p *parser) advance(n int) {
	for i := 0; i < n && !p.eof(); i++ {
		if p.src[p.pos] == '\n' {
			p.line++
		}
		p.pos++
	}
}

// skipSpace skips white space, newlines and comments.
func (p *parser) skipSpace() error {
	for !p.eof() {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v':
			p.advance(1)
		case strings.HasPrefix(p.rest(), "//"):
			i := strings.IndexByte(p.rest(), '\n')
			if i < 0 {
				p.pos = len(p.src)
			} else {
				p.advance(i)
			}
		case strings.HasPrefix(p.rest(), "/*"):
			i := strings.Index(p.rest()[2:], "*/")
			if i < 0 {
				return p.errf("unterminated /* comment")
			}
			p.advance(i + 4)
		default:
			return nil
		}
	}
	return nil
}

// expect skips space and consumes tok.
func (p *parser) expect(tok string) error {
	if err := p.skipSpace(); err != nil {
		return err
	}
	if !strings.HasPrefix(p.rest(), tok) {
		return p.errf("expected %q, found %q", tok, p.snippet())
	}
	p.advance(len(tok))
	return nil
}

// accept consumes tok after space if it is next.
func (p *parser) accept(tok string) (bool, error) {
	if err := p.skipSpace(); err != nil {
		return false, err
	}
	if strings.HasPrefix(p.rest(), tok) {
		p.advance(len(tok))
		return true, nil
	}
	return false, nil
}

// snippet is the text at the cursor, for error messages.
func (p *parser) snippet() string {
	r := p.rest()
	if i := strings.IndexByte(r, '\n'); i >= 0 {
		r = r[:i]
	}
	if len(r) > 24 {
		r = r[:24] + "..."
	}
	if r == "" {
		return "end of line"
	}
	return r
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdent(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ident reads an identifier after space.
func (p *parser) ident() (string, error) {
	if err := p.skipSpace(); err != nil {
		return "", err
	}
	if !isIdentStart(p.peek()) {
		return "", p.errf("expected a name, found %q", p.snippet())
	}
	i := p.pos
	for i < len(p.src) && isIdent(p.src[i]) {
		i++
	}
	s := p.src[p.pos:i]
	p.advance(i - p.pos)
	return s, nil
}

// integer reads an unsigned decimal (or 0x hex) integer after space.
func (p *parser) integer(max uint64) (uint64, error) {
	if err := p.skipSpace(); err != nil {
		return 0, err
	}
	i := p.pos
	base := 10
	if strings.HasPrefix(p.rest(), "0x") || strings.HasPrefix(p.rest(), "0X") {
		base = 16
		i += 2
	}
	j := i
	for j < len(p.src) && (isDigit(p.src[j]) || (base == 16 && strings.IndexByte("abcdefABCDEF", p.src[j]) >= 0)) {
		j++
	}
	if j == i {
		return 0, p.errf("expected a number, found %q", p.snippet())
	}
	v, err := strconv.ParseUint(p.src[i:j], base, 64)
	if err != nil || v > max {
		return 0, p.errf("number %s out of range", p.src[p.pos:j])
	}
	p.advance(j - p.pos)
	return v, nil
}

// seconds reads a decimal number of seconds ("0", ".1", "0.100", "2") with
// microsecond resolution. A '.' followed by another '.' ends the number, so
// "0...0.3" reads as 0, "...", 0.3.
func (p *parser) seconds() (time.Duration, error) {
	i := p.pos
	for i < len(p.src) && isDigit(p.src[i]) {
		i++
	}
	whole := p.src[p.pos:i]
	frac := ""
	if i+1 < len(p.src) && p.src[i] == '.' && isDigit(p.src[i+1]) {
		j := i + 1
		for j < len(p.src) && isDigit(p.src[j]) {
			j++
		}
		frac = p.src[i+1 : j]
		i = j
	}
	if whole == "" && frac == "" {
		return 0, p.errf("expected a time, found %q", p.snippet())
	}
	if len(frac) > 6 {
		return 0, p.errf("time %s finer than a microsecond", p.src[p.pos:i])
	}
	var w uint64
	if whole != "" {
		var err error
		w, err = strconv.ParseUint(whole, 10, 64)
		if err != nil || w > 1e6 {
			return 0, p.errf("time %s out of range", p.src[p.pos:i])
		}
	}
	us := w * 1e6
	if frac != "" {
		f, _ := strconv.ParseUint(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		us += f
	}
	p.advance(i - p.pos)
	return time.Duration(us) * time.Microsecond, nil
}

// flag reads "--name=value" or "--name" up to the end of its line.
func (p *parser) flag() (Flag, error) {
	line := p.line
	p.advance(2)
	end := strings.IndexAny(p.rest(), " \t\r\n")
	if end < 0 {
		end = len(p.rest())
	}
	text := p.rest()[:end]
	p.advance(end)
	name, value, _ := strings.Cut(text, "=")
	if name == "" {
		return Flag{}, p.errf("empty script flag")
	}
	for i := 0; i < len(name); i++ {
		if !isIdent(name[i]) && name[i] != '-' {
			return Flag{}, p.errf("bad script flag %q", name)
		}
	}
	return Flag{Line: line, Name: name, Value: value}, nil
}

// backtick reads a shell block; the cursor is on the opening backtick.
func (p *parser) backtick() (string, error) {
	p.advance(1)
	i := strings.IndexByte(p.rest(), '`')
	if i < 0 {
		return "", p.errf("unterminated shell command")
	}
	text := p.rest()[:i]
	p.advance(i + 1)
	return text, nil
}

// time reads an event time: "*", "0.1", "+0.1", "a~b", "+a~+b", "+a...b".
func (p *parser) time() (Time, error) {
	var t Time
	if p.peek() == '*' {
		p.advance(1)
		t.Kind = TimeAny
		return t, nil
	}
	if p.peek() == '+' {
		t.Kind = TimeRelative
		p.advance(1)
	}
	var err error
	if t.Start, err = p.seconds(); err != nil {
		return t, err
	}
	if p.peek() == '~' {
		p.advance(1)
		rel := p.peek() == '+'
		if rel {
			p.advance(1)
		}
		if rel != (t.Kind == TimeRelative) {
			return t, p.errf("time range mixes absolute and relative times")
		}
		t.Range = true
		if t.End, err = p.seconds(); err != nil {
			return t, err
		}
		if t.End < t.Start {
			return t, p.errf("time range ends before it starts")
		}
	}
	if strings.HasPrefix(p.rest(), "...") {
		if t.Range {
			return t, p.errf("a blocking call cannot have a time range")
		}
		p.advance(3)
		t.Blocking = true
		if t.BlockEnd, err = p.seconds(); err != nil {
			return t, err
		}
	}
	return t, nil
}

// event reads a timed event.
func (p *parser) event() (Event, error) {
	var ev Event
	var err error
	if ev.Time, err = p.time(); err != nil {
		return ev, err
	}
	if err := p.skipSpace(); err != nil {
		return ev, err
	}
	switch c := p.peek(); {
	case c == '<' || c == '>':
		if ev.Packet, err = p.packet(); err != nil {
			return ev, err
		}
	case c == '`':
		line := p.line
		text, err := p.backtick()
		if err != nil {
			return ev, err
		}
		ev.Command = &Command{Line: line, Text: text}
	case strings.HasPrefix(p.rest(), "%{"):
		p.advance(2)
		i := strings.Index(p.rest(), "}%")
		if i < 0 {
			return ev, p.errf("unterminated %%{ python block")
		}
		ev.Code = &Code{Text: p.rest()[:i]}
		p.advance(i + 2)
	case isIdentStart(c):
		if ev.Syscall, err = p.syscall(); err != nil {
			return ev, err
		}
	default:
		return ev, p.errf("expected a packet, system call or command, found %q", p.snippet())
	}
	if ev.Time.Blocking && ev.Syscall == nil {
		return ev, p.errf("only a system call can block")
	}
	return ev, nil
}

// packet reads "<|> flags start:end(len) [ack N] [win N] [<options>]".
func (p *parser) packet() (*Packet, error) {
	pk := &Packet{}
	if p.peek() == '>' {
		pk.Dir = Outbound
	}
	p.advance(1)
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	// Flags: packetdrill's letters, or "-" for none.
	i := p.pos
	for i < len(p.src) && strings.IndexByte("FSRP.UEW-", p.src[i]) >= 0 {
		i++
	}
	word := p.src[p.pos:i]
	if word == "" {
		return nil, p.errf("expected TCP flags, found %q", p.snippet())
	}
	if word != "-" {
		for _, c := range []byte(word) {
			var f wire.TCPFlags
			switch c {
			case 'F':
				f = wire.FlagFIN
			case 'S':
				f = wire.FlagSYN
			case 'R':
				f = wire.FlagRST
			case 'P':
				f = wire.FlagPSH
			case '.':
				f = wire.FlagACK
			case 'U':
				f = wire.FlagURG
			case 'E':
				f = wire.FlagECE
			case 'W':
				f = wire.FlagCWR
			default:
				return nil, p.errf("bad TCP flags %q", word)
			}
			if pk.Flags&f != 0 {
				return nil, p.errf("TCP flag %c given twice in %q", c, word)
			}
			pk.Flags |= f
		}
	}
	p.advance(i - p.pos)
	start, err := p.integer(math.MaxUint32)
	if err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	end, err := p.integer(math.MaxUint32)
	if err != nil {
		return nil, err
	}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	n, err := p.integer(65535)
	if err != nil {
		return nil, err
	}
	if err := p.expect(")"); err != nil {
		return nil, err
	}
	pk.Seq, pk.End, pk.Len = uint32(start), uint32(end), int(n)
	if pk.End-pk.Seq != uint32(pk.Len) {
		return nil, p.errf("inconsistent segment %d:%d(%d): end minus start must be the length", start, end, n)
	}
	for {
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		switch {
		case p.keyword("ack"):
			if pk.HasAck {
				return nil, p.errf("ack given twice")
			}
			v, err := p.integer(math.MaxUint32)
			if err != nil {
				return nil, err
			}
			pk.HasAck, pk.Ack = true, uint32(v)
		case p.keyword("win"):
			if pk.HasWin {
				return nil, p.errf("win given twice")
			}
			v, err := p.integer(65535)
			if err != nil {
				return nil, err
			}
			pk.HasWin, pk.Win = true, uint16(v)
		case p.peek() == '<':
			if pk.AnyOptions || pk.Options != nil {
				return nil, p.errf("options given twice")
			}
			if err := p.options(pk); err != nil {
				return nil, err
			}
		default:
			return pk, nil
		}
	}
}

// keyword consumes word if it is next and whole.
func (p *parser) keyword(word string) bool {
	r := p.rest()
	if !strings.HasPrefix(r, word) || (len(r) > len(word) && isIdent(r[len(word)])) {
		return false
	}
	p.advance(len(word))
	return true
}

// options reads "<...>" or "<opt,opt,...>"; the cursor is on '<'.
func (p *parser) options(pk *Packet) error {
	p.advance(1)
	if ok, err := p.accept("..."); err != nil {
		return err
	} else if ok {
		pk.AnyOptions = true
		return p.expect(">")
	}
	pk.Options = []Option{}
	if ok, err := p.accept(">"); err != nil || ok {
		return err
	}
	space := 0
	for {
		name, err := p.ident()
		if err != nil {
			return err
		}
		var o Option
		switch name {
		case "nop":
			o.Kind = OptNOP
		case "eol":
			o.Kind = OptEOL
		case "sackOK":
			o.Kind = OptSACKOK
		case "mss":
			o.Kind = OptMSS
			v, err := p.integer(65535)
			if err != nil {
				return err
			}
			o.Value = uint32(v)
		case "wscale":
			o.Kind = OptWScale
			v, err := p.integer(255)
			if err != nil {
				return err
			}
			o.Value = uint32(v)
		case "TS":
			o.Kind = OptTimestamp
			if err := p.skipSpace(); err != nil {
				return err
			}
			if !p.keyword("val") {
				return p.errf("expected \"val\" after TS, found %q", p.snippet())
			}
			v, err := p.integer(math.MaxUint32)
			if err != nil {
				return err
			}
			if err := p.skipSpace(); err != nil {
				return err
			}
			if !p.keyword("ecr") {
				return p.errf("expected \"ecr\" after TS val, found %q", p.snippet())
			}
			e, err := p.integer(math.MaxUint32)
			if err != nil {
				return err
			}
			o.Val, o.Ecr = uint32(v), uint32(e)
		case "sack":
			o.Kind = OptSACK
			for {
				if err := p.skipSpace(); err != nil {
					return err
				}
				if !isDigit(p.peek()) {
					break
				}
				l, err := p.integer(math.MaxUint32)
				if err != nil {
					return err
				}
				if err := p.expect(":"); err != nil {
					return err
				}
				r, err := p.integer(math.MaxUint32)
				if err != nil {
					return err
				}
				o.Blocks = append(o.Blocks, SACKBlock{uint32(l), uint32(r)})
			}
			if len(o.Blocks) == 0 || len(o.Blocks) > 4 {
				return p.errf("sack needs 1 to 4 blocks")
			}
		default:
			return p.errf("unsupported TCP option %q", name)
		}
		space += o.wireLen()
		if space > wire.TCPMaxOptionsLen {
			return p.errf("TCP options longer than %d bytes", wire.TCPMaxOptionsLen)
		}
		pk.Options = append(pk.Options, o)
		if ok, err := p.accept(","); err != nil {
			return err
		} else if ok {
			continue
		}
		return p.expect(">")
	}
}

// syscall reads "name(args) = ret [ERRNO [(text)]]".
func (p *parser) syscall() (*Syscall, error) {
	name, err := p.ident()
	if err != nil {
		return nil, err
	}
	c := &Syscall{Name: name}
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if ok, err := p.accept(")"); err != nil {
		return nil, err
	} else if !ok {
		for {
			e, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, e)
			if ok, err := p.accept(","); err != nil {
				return nil, err
			} else if !ok {
				break
			}
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
	}
	if err := p.expect("="); err != nil {
		return nil, err
	}
	if ok, err := p.accept("..."); err != nil {
		return nil, err
	} else if ok {
		c.AnyRet = true
		return c, nil
	}
	neg, err := p.accept("-")
	if err != nil {
		return nil, err
	}
	v, err := p.integer(math.MaxInt32)
	if err != nil {
		return nil, err
	}
	c.Ret = int64(v)
	if neg {
		c.Ret = -c.Ret
	}
	// An errno name must sit on the same line as the return value.
	i := p.pos
	for i < len(p.src) && (p.src[i] == ' ' || p.src[i] == '\t') {
		i++
	}
	if i < len(p.src) && p.src[i] >= 'A' && p.src[i] <= 'Z' {
		if c.Errno, err = p.ident(); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(c.Errno, "E") {
			return nil, p.errf("expected an errno name, found %q", c.Errno)
		}
		j := p.pos
		for j < len(p.src) && (p.src[j] == ' ' || p.src[j] == '\t') {
			j++
		}
		if j < len(p.src) && p.src[j] == '(' {
			p.advance(j + 1 - p.pos)
			k := strings.IndexAny(p.rest(), ")\n")
			if k < 0 || p.rest()[k] != ')' {
				return nil, p.errf("unterminated errno text")
			}
			c.ErrText = strings.TrimSpace(p.rest()[:k])
			p.advance(k + 1)
		}
	}
	if c.Errno != "" && c.Ret != -1 {
		return nil, p.errf("an errno goes with a return value of -1")
	}
	return c, nil
}

// maxExprDepth bounds nested arrays, so hostile input cannot exhaust the stack.
const maxExprDepth = 8

// expr reads a system call argument: "...", a number, a name, "A|B", "[x, y]"
// or a quoted string.
func (p *parser) expr(depth int) (Expr, error) {
	if depth > maxExprDepth {
		return Expr{}, p.errf("arguments nested too deeply")
	}
	var terms []Expr
	for {
		t, err := p.term(depth)
		if err != nil {
			return Expr{}, err
		}
		terms = append(terms, t)
		if ok, err := p.accept("|"); err != nil {
			return Expr{}, err
		} else if !ok {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	for _, t := range terms {
		if t.Kind != ExprInt && t.Kind != ExprName {
			return Expr{}, p.errf("only numbers and names can be or-ed")
		}
	}
	return Expr{Kind: ExprOr, Elems: terms}, nil
}

func (p *parser) term(depth int) (Expr, error) {
	if err := p.skipSpace(); err != nil {
		return Expr{}, err
	}
	switch c := p.peek(); {
	case strings.HasPrefix(p.rest(), "..."):
		p.advance(3)
		return Expr{Kind: ExprEllipsis}, nil
	case c == '[':
		p.advance(1)
		e := Expr{Kind: ExprArray, Elems: []Expr{}}
		if ok, err := p.accept("]"); err != nil || ok {
			return e, err
		}
		for {
			x, err := p.expr(depth + 1)
			if err != nil {
				return Expr{}, err
			}
			e.Elems = append(e.Elems, x)
			if ok, err := p.accept(","); err != nil {
				return Expr{}, err
			} else if !ok {
				break
			}
		}
		return e, p.expect("]")
	case c == '"':
		i := 1
		for i < len(p.rest()) && p.rest()[i] != '"' && p.rest()[i] != '\n' {
			if p.rest()[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(p.rest()) || p.rest()[i] != '"' {
			return Expr{}, p.errf("unterminated string")
		}
		s, err := strconv.Unquote(p.rest()[:i+1])
		if err != nil {
			return Expr{}, p.errf("bad string %s", p.rest()[:i+1])
		}
		p.advance(i + 1)
		return Expr{Kind: ExprString, Name: s}, nil
	case c == '-' || isDigit(c):
		neg := c == '-'
		if neg {
			p.advance(1)
		}
		v, err := p.integer(math.MaxInt64)
		if err != nil {
			return Expr{}, err
		}
		n := int64(v)
		if neg {
			n = -n
		}
		return Expr{Kind: ExprInt, Int: n}, nil
	case isIdentStart(c):
		name, err := p.ident()
		return Expr{Kind: ExprName, Name: name}, err
	}
	return Expr{}, p.errf("expected an argument, found %q", p.snippet())
}

// wireLen is the option's length in bytes on the wire.
func (o Option) wireLen() int {
	switch o.Kind {
	case OptEOL, OptNOP:
		return 1
	case OptMSS:
		return 4
	case OptWScale:
		return 3
	case OptSACKOK:
		return 2
	case OptTimestamp:
		return 10
	case OptSACK:
		return 2 + 8*len(o.Blocks)
	}
	return 0
}
