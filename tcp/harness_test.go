package tcp

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/seq"
	"berth/wire"
)

// Packet-in/packet-out harness. Segments are written the way RFC 9293's
// figures write them, "<SEQ=100><ACK=301><CTL=SYN,ACK>", plus <DATA=n> for a
// payload of n bytes and <WIN=n> for the raw window field. Expectations
// compare that text, so a failing test shows the exchange as the RFC would.
// <SACK=l-r,l-r> lists SACK blocks (RFC 2018) in the order sent, as many as
// the option space holds.

var (
	addrA = netip.MustParseAddrPort("198.18.0.1:40000")
	addrB = netip.MustParseAddrPort("198.18.0.2:80")
	t0    = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

// sent is a segment an Output saw, copied.
type sent struct {
	local, remote netip.AddrPort
	seg           Segment
}

// recorder is an Output that keeps what it is given.
type recorder struct{ out []sent }

func (r *recorder) SendSegment(local, remote netip.AddrPort, s *Segment) {
	c := *s
	c.Payload = bytes.Clone(s.Payload)
	r.out = append(r.out, sent{local, remote, c})
}

func (r *recorder) take() []sent {
	o := r.out
	r.out = nil
	return o
}

// testConfig is the Linux profile without timestamps (so segments are easy
// to write), with a fixed key and the ISNs of the RFC's figures: 100 for
// the side at addrA, 300 for addrB.
func testConfig() *Config {
	cfg := DefaultConfig()
	cfg.Timestamps = false
	cfg.ISNKey = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	cfg.isnFunc = func(local, remote netip.AddrPort) seq.Value {
		if local == addrA {
			return 100
		}
		return 300
	}
	return cfg
}

// harness drives Conns and a Listener by hand, on an explicit clock.
type harness struct {
	t   *testing.T
	cfg *Config
	rec *recorder
	now time.Time
}

func newHarness(t *testing.T, cfg *Config) *harness {
	if cfg == nil {
		cfg = testConfig()
	}
	cfg.init(t0)
	return &harness{t: t, cfg: cfg, rec: &recorder{}, now: t0}
}

// advance moves the clock by d and ticks the given connections.
func (h *harness) advance(d time.Duration, cs ...*Conn) {
	h.now = h.now.Add(d)
	for _, c := range cs {
		c.Tick(h.now)
	}
}

// runTo moves the clock to c's deadline and ticks it; it fails if there is
// none.
func (h *harness) runTo(c *Conn) time.Duration {
	h.t.Helper()
	d := c.Deadline()
	if d.IsZero() {
		h.t.Fatalf("no timer armed (state %v)", c.State())
	}
	step := d.Sub(h.now)
	h.now = d
	c.Tick(h.now)
	return step
}

// connect makes an active-open Conn from addrA to addrB and checks its SYN.
func (h *harness) connect() *Conn {
	h.t.Helper()
	c := Connect(h.now, h.cfg, addrA, addrB, 1460, h.rec)
	h.expect("<SEQ=100><CTL=SYN>")
	return c
}

// in feeds the segment written as spec into c.
func (h *harness) in(c *Conn, spec string, opts ...func(*Segment)) {
	h.t.Helper()
	s := parseSeg(h.t, spec)
	for _, o := range opts {
		o(&s)
	}
	c.Input(h.now, &s)
}

// expect checks that exactly the given segments went out since the last
// check, in order. No arguments means nothing was sent.
func (h *harness) expect(want ...string) []sent {
	h.t.Helper()
	got := h.rec.take()
	var gs []string
	for _, s := range got {
		gs = append(gs, fmtSeg(&s.seg, strings.Contains(strings.Join(want, ""), "<WIN=")))
	}
	if strings.Join(gs, "\n") != strings.Join(want, "\n") {
		h.t.Fatalf("sent:\n\t%s\nwant:\n\t%s", orNothing(gs), orNothing(want))
	}
	return got
}

func orNothing(s []string) string {
	if len(s) == 0 {
		return "(nothing)"
	}
	return strings.Join(s, "\n\t")
}

var ctlNames = []struct {
	f    wire.TCPFlags
	name string
}{{wire.FlagSYN, "SYN"}, {wire.FlagFIN, "FIN"}, {wire.FlagRST, "RST"}, {wire.FlagACK, "ACK"}}

// fmtSeg writes s as the RFC does. PSH is left out: it carries no meaning
// the figures show.
func fmtSeg(s *Segment, win bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<SEQ=%d>", s.Seq)
	if s.Flags&wire.FlagACK != 0 {
		fmt.Fprintf(&b, "<ACK=%d>", s.Ack)
	}
	var ctl []string
	for _, c := range ctlNames {
		if s.Flags&c.f != 0 {
			ctl = append(ctl, c.name)
		}
	}
	if len(ctl) > 0 {
		fmt.Fprintf(&b, "<CTL=%s>", strings.Join(ctl, ","))
	}
	if len(s.Payload) > 0 {
		fmt.Fprintf(&b, "<DATA=%d>", len(s.Payload))
	}
	if s.Options.NumSACK > 0 {
		var bl []string
		for _, k := range s.Options.SACK[:sackOnWire(&s.Options)] {
			bl = append(bl, fmt.Sprintf("%d-%d", k.Left, k.Right))
		}
		fmt.Fprintf(&b, "<SACK=%s>", strings.Join(bl, ","))
	}
	if win {
		fmt.Fprintf(&b, "<WIN=%d>", s.Window)
	}
	return b.String()
}

// sackOnWire is how many of o's SACK blocks fit beside its other options,
// so how many wire.TCPOptions.Emit writes.
func sackOnWire(o *wire.TCPOptions) int {
	fixed := 0
	if o.MSS != 0 {
		fixed += 4
	}
	if o.HasTimestamp || o.SACKPermitted {
		fixed += 4
	}
	if o.HasTimestamp {
		fixed += 8
	}
	if o.HasWindowScale {
		fixed += 4
	}
	return min(int(o.NumSACK), (wire.TCPMaxOptionsLen-fixed-4)/8)
}

// parseSeg reads the notation of fmtSeg. <DATA=n> makes n bytes of a
// pattern that depends on the sequence number, so byte checks can tell
// segments apart; a missing <WIN> means 65535.
func parseSeg(t *testing.T, spec string) Segment {
	t.Helper()
	s := Segment{Window: 65535}
	rest := spec
	for rest != "" {
		if rest[0] != '<' {
			t.Fatalf("bad segment %q", spec)
		}
		end := strings.IndexByte(rest, '>')
		field := rest[1:end]
		rest = rest[end+1:]
		k, v, _ := strings.Cut(field, "=")
		switch k {
		case "CTL":
			for _, n := range strings.Split(v, ",") {
				found := false
				for _, c := range ctlNames {
					if c.name == n {
						s.Flags |= c.f
						found = true
					}
				}
				if n == "PSH" {
					s.Flags |= wire.FlagPSH
					found = true
				}
				if !found {
					t.Fatalf("bad CTL %q", n)
				}
			}
		case "SACK":
			for _, bl := range strings.Split(v, ",") {
				l, r, _ := strings.Cut(bl, "-")
				lv, err1 := strconv.ParseUint(l, 10, 32)
				rv, err2 := strconv.ParseUint(r, 10, 32)
				if err1 != nil || err2 != nil || int(s.Options.NumSACK) == len(s.Options.SACK) {
					t.Fatalf("bad SACK %q in %q", v, spec)
				}
				s.Options.SACK[s.Options.NumSACK] = wire.SACKBlock{Left: uint32(lv), Right: uint32(rv)}
				s.Options.NumSACK++
			}
		default:
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				t.Fatalf("bad field %q in %q", field, spec)
			}
			switch k {
			case "SEQ":
				s.Seq = seq.Value(n)
			case "ACK":
				s.Ack = seq.Value(n)
			case "WIN":
				s.Window = uint16(n)
			case "DATA":
				s.Payload = pattern(s.Seq, int(n))
			default:
				t.Fatalf("bad field %q in %q", field, spec)
			}
		}
	}
	return s
}

// pattern is n bytes that depend on the sequence number of each byte.
func pattern(start seq.Value, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(uint32(start)+uint32(i)) ^ 0x5a
	}
	return p
}

// Segment option setters for h.in.
func withMSS(m uint16) func(*Segment) { return func(s *Segment) { s.Options.MSS = m } }
func withWScale(w uint8) func(*Segment) {
	return func(s *Segment) { s.Options.HasWindowScale, s.Options.WindowScale = true, w }
}
func withTS(val, ecr uint32) func(*Segment) {
	return func(s *Segment) { s.Options.HasTimestamp, s.Options.TSVal, s.Options.TSEcr = true, val, ecr }
}

// establish runs the handshake of Figure 6 for an active open and returns
// the ESTABLISHED Conn (ISN 100, peer ISN 300).
func (h *harness) establish() *Conn {
	h.t.Helper()
	c := h.connect()
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460))
	h.expect("<SEQ=101><ACK=301><CTL=ACK>")
	if c.State() != StateEstablished {
		h.t.Fatalf("state %v after handshake", c.State())
	}
	c.TakeEvents()
	return c
}

// listen makes a listener at addrB.
func (h *harness) listen(backlog int) *Listener {
	return NewListener(h.cfg, addrB, backlog, 1460, h.rec)
}

// accept runs a passive handshake on l with a peer at addrA whose ISN is
// 100 and returns the accepted ESTABLISHED Conn (our ISN 300).
func (h *harness) accept(l *Listener) *Conn {
	h.t.Helper()
	s := parseSeg(h.t, "<SEQ=100><CTL=SYN>")
	s.Options.MSS = 1460
	c := l.Input(h.now, addrA, addrB, &s)
	if c == nil {
		h.t.Fatal("listener made no connection")
	}
	h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.in(c, "<SEQ=101><ACK=301><CTL=ACK>")
	h.expect()
	if got := l.Accept(); got != c {
		h.t.Fatalf("Accept = %p, want %p", got, c)
	}
	c.TakeEvents()
	return c
}

// mustState fails unless c is in state s.
func mustState(t *testing.T, c *Conn, s State) {
	t.Helper()
	if c.State() != s {
		t.Fatalf("state %v, want %v", c.State(), s)
	}
}

// near reports d == want to within a millisecond: RTOs carry SRTT, which a
// zero-delay handshake leaves at a microsecond, and timestamps tick in ms.
func near(d, want time.Duration) bool {
	return d >= want-time.Millisecond && d <= want+time.Millisecond
}
