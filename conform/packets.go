package conform

import (
	"fmt"
	"time"

	"berth/wire"
)

// inject builds the script's inbound packet in live space and delivers it.
//
// Sequence numbers: the script's are relative to its own ISN (RemoteISN);
// its acknowledgment numbers are relative to berth's ISN, learnt from the
// first SYN or SYN-ACK berth sent (0 before that). A timestamp echo reply
// names one of berth's TS vals in script space and is mapped back.
func (r *runner) inject(ev *Event, p *Packet) {
	if p.AnyOptions {
		r.fail(ev, "an inbound packet needs its options spelt out, not <...>")
		return
	}
	ack := p.Ack
	if p.Flags&wire.FlagACK != 0 {
		ack += r.localISN
	}
	win := uint16(65535)
	if p.HasWin {
		win = p.Win
	}
	var ecrErr error
	opts := encodeOptions(p.Options, func(ecr uint32) uint32 {
		if p.Flags&wire.FlagACK == 0 {
			return ecr
		}
		live, err := r.liveEcr(ecr)
		if err != nil {
			ecrErr = err
		}
		return live
	}, r.localISN)
	if ecrErr != nil {
		r.fail(ev, "%v", ecrErr)
		return
	}
	tcpLen := wire.TCPMinHeaderLen + len(opts) + p.Len
	ipr := wire.IPv4Repr{ID: r.ipID, DontFragment: true, TTL: 64, Protocol: wire.ProtoTCP,
		Src: PeerAddr, Dst: HostAddr, PayloadLen: tcpLen}
	r.ipID++
	pkt := make([]byte, ipr.HeaderLen()+tcpLen)
	ipr.Emit(pkt)
	t := wire.TCP(pkt[ipr.HeaderLen():])
	t.SetSrcPort(r.peerPort)
	t.SetDstPort(r.localPort)
	t.SetSeq(p.Seq + r.remoteISN)
	t.SetAck(ack)
	t[12] = uint8((wire.TCPMinHeaderLen+len(opts))/4) << 4
	t.SetFlags(p.Flags)
	t.SetWindow(win)
	copy(t[wire.TCPMinHeaderLen:], opts)
	t.UpdateChecksum(PeerAddr, HostAddr)
	if !r.link.Inject(pkt) {
		r.fail(ev, "the host's link is not attached")
		return
	}
	r.poll()
}

// liveEcr maps a TS ecr of the script (a TS val of berth's, in script
// space) to the live value berth sent, as packetdrill does.
func (r *runner) liveEcr(ecr uint32) (uint32, error) {
	if v, ok := r.tsMap[ecr]; ok {
		return v, nil
	}
	if ecr == 0 {
		return 0, nil
	}
	return 0, fmt.Errorf("unable to infer the live TS ecr for script TS ecr %d: no outbound packet with that TS val", ecr)
}

// outPkt is a packet berth sent, decoded.
type outPkt struct {
	at      time.Duration
	src     wire.IPv4
	tcp     wire.TCP
	opts    []Option
	optLen  int
	payload []byte
}

// decodeOut checks and decodes a captured packet: a valid IPv4 header with
// a correct checksum carrying a TCP segment with a correct checksum.
func decodeOut(s Sent, start time.Time) (*outPkt, error) {
	ip, err := wire.NewIPv4(s.Pkt)
	if err != nil {
		return nil, fmt.Errorf("not an IPv4 packet: %v", err)
	}
	if !ip.ChecksumValid() {
		return nil, fmt.Errorf("bad IPv4 header checksum")
	}
	if ip.Protocol() != wire.ProtoTCP {
		return nil, fmt.Errorf("IP protocol %d, not TCP", ip.Protocol())
	}
	if ip.TotalLen() != len(s.Pkt) {
		return nil, fmt.Errorf("IPv4 total length %d for a %d-byte packet", ip.TotalLen(), len(s.Pkt))
	}
	t, err := wire.NewTCP(ip.Payload())
	if err != nil {
		return nil, fmt.Errorf("bad TCP header: %v", err)
	}
	if !t.ChecksumValid(ip.Src(), ip.Dst()) {
		return nil, fmt.Errorf("bad TCP checksum")
	}
	opts, err := parseOptions(t.Options())
	if err != nil {
		return nil, err
	}
	return &outPkt{at: s.At.Sub(start), src: ip, tcp: t, opts: opts, optLen: len(t.Options()), payload: t.Payload()}, nil
}

// forFlow reports whether o belongs to the connection under test.
func (r *runner) forFlow(o *outPkt) bool {
	return o.src.Src() == HostAddr && o.src.Dst() == PeerAddr &&
		o.tcp.SrcPort() == r.localPort && o.tcp.DstPort() == r.peerPort
}

// scriptView is o in script space, as a packet line.
func (r *runner) scriptView(o *outPkt) Packet {
	f := o.tcp.Flags()
	p := Packet{Dir: Outbound, Flags: f, Len: len(o.payload), HasWin: true, Win: o.tcp.Window()}
	p.Seq = o.tcp.Seq() - r.localISN
	p.End = p.Seq + uint32(p.Len)
	if f&wire.FlagACK != 0 {
		p.HasAck, p.Ack = true, o.tcp.Ack()-r.remoteISN
	} else if a := o.tcp.Ack(); a != 0 {
		p.HasAck, p.Ack = true, a
	}
	if len(o.opts) > 0 {
		p.Options = make([]Option, len(o.opts))
		for i, x := range o.opts {
			switch x.Kind {
			case OptTimestamp:
				if r.tsBase {
					x.Val = r.tsScript + (x.Val - r.tsLive)
				}
			case OptSACK:
				bs := make([]SACKBlock, len(x.Blocks))
				for k, b := range x.Blocks {
					bs[k] = SACKBlock{b.Left - r.remoteISN, b.Right - r.remoteISN}
				}
				x.Blocks = bs
			}
			p.Options[i] = x
		}
	}
	return p
}

// outbound waits for the packet ev expects and compares it field by field.
func (r *runner) outbound(ev *Event, when, end, tol time.Duration) {
	want := ev.Packet
	deadline := end + tol
	if ev.Time.Kind == TimeAny {
		deadline = r.now() + maxAnyWait
	}
	first := r.nextOut(ev, deadline)
	if r.err != nil {
		return
	}
	if first == nil {
		msg := fmt.Sprintf("berth sent nothing by %s%s", fmtTime(r.now()), connState(r.under))
		// Look further ahead, so the report says what came instead
		// and when; the run ends here anyway.
		actual := "(no packet)"
		if later := r.nextOut(ev, r.now()+lookAhead); r.err == nil && later != nil {
			actual = fmtTime(later.at) + " " + r.scriptView(later).String()
			msg += "; its next packet came at " + fmtTime(later.at)
		}
		r.failPacket(ev, msg, expectedLine(ev, want, when, end), actual)
		return
	}
	// berth learns its ISN from its first SYN: the script's SYN seq is
	// the ISN in script space (packetdrill's local_isn).
	if first.tcp.Flags()&wire.FlagSYN != 0 && want.Flags&wire.FlagSYN != 0 && !r.haveLocalISN {
		r.localISN, r.haveLocalISN = first.tcp.Seq()-want.Seq, true
	}
	r.tracef("%s   berth sent %s", fmtTime(first.at), r.scriptView(first).String())
	got := first
	if len(first.payload) < want.Len && first.tcp.Flags()&(wire.FlagSYN|wire.FlagRST) == 0 {
		got = r.merge(ev, first, want.Len, deadline)
		if r.err != nil {
			return
		}
	}
	r.match(ev, want, got, when, end, tol)
}

// nextOut returns the next packet of the flow under test, firing timers up
// to deadline while none is queued. Packets of other flows are noted and
// passed over, as packetdrill's sniffer passes them over.
func (r *runner) nextOut(ev *Event, deadline time.Duration) *outPkt {
	var got *outPkt
	take := func() bool {
		for {
			s, ok := r.link.Take()
			if !ok {
				return false
			}
			o, err := decodeOut(s, r.start)
			if err != nil {
				r.fail(ev, "berth sent a malformed packet at %s: %v (% x)", fmtTime(s.At.Sub(r.start)), err, s.Pkt)
				return true
			}
			if !r.forFlow(o) {
				r.note(ev.Line, Info, "passed over a packet of another flow: %s:%d > %s:%d %s",
					o.src.Src(), o.tcp.SrcPort(), o.src.Dst(), o.tcp.DstPort(), r.scriptView(o).String())
				continue
			}
			got = o
			return true
		}
	}
	if !r.stepUntil(deadline, take) && r.err == nil {
		// No timer is due before the deadline: nothing happens until
		// then, so the clock moves there at once.
		if r.now() < deadline {
			r.clk.Set(r.start.Add(deadline))
			r.poll()
		}
		if r.err == nil {
			take()
		}
	}
	return got
}

// merge appends the segments that follow first until their payload adds up
// to want bytes: where Linux hands the NIC one large TSO segment, berth
// sends MSS-sized ones (packetdrill's remote mode aggregates them the same
// way). Only contiguous segments with the same header (bar PSH and FIN,
// which the merged segment takes from the last) are merged.
func (r *runner) merge(ev *Event, first *outPkt, want int, deadline time.Duration) *outPkt {
	payload := append([]byte(nil), first.payload...)
	flags := first.tcp.Flags()
	last := first
	for len(payload) < want {
		next := r.nextOut(ev, deadline)
		if r.err != nil {
			return nil
		}
		if next == nil {
			break
		}
		const loose = wire.FlagPSH | wire.FlagFIN
		switch {
		case next.tcp.Seq() != last.tcp.Seq()+uint32(len(last.payload)):
			r.failPacket(ev, fmt.Sprintf("segments to merge into one of %d bytes are not contiguous", want),
				r.scriptView(last).String(), r.scriptView(next).String())
			return nil
		case last.tcp.Flags()&wire.FlagFIN != 0 || next.tcp.Flags()&^loose != flags&^loose ||
			next.tcp.Ack() != first.tcp.Ack() || next.tcp.Window() != first.tcp.Window() || next.optLen != first.optLen:
			r.failPacket(ev, fmt.Sprintf("segments to merge into one of %d bytes differ in their headers", want),
				r.scriptView(last).String(), r.scriptView(next).String())
			return nil
		}
		r.tracef("%s   berth sent %s", fmtTime(next.at), r.scriptView(next).String())
		payload = append(payload, next.payload...)
		last = next
	}
	if last == first {
		return first
	}
	// Rebuild one segment: first's header, last's PSH and FIN, all payload.
	hl := first.tcp.DataOffset()
	seg := make([]byte, hl+len(payload))
	copy(seg, first.tcp[:hl])
	copy(seg[hl:], payload)
	t := wire.TCP(seg)
	t.SetFlags(flags&^(wire.FlagPSH|wire.FlagFIN) | last.tcp.Flags()&(wire.FlagPSH|wire.FlagFIN))
	m := *first
	m.tcp, m.payload = t, t.Payload()
	r.note(ev.Line, Emulated, "TSO: merged berth's segments %d:%d into one of %d bytes",
		first.tcp.Seq()-r.localISN, last.tcp.Seq()-r.localISN+uint32(len(last.payload)), len(payload))
	return &m
}

// match compares the packet berth sent with the script's, in the order
// packetdrill's verify_outbound_live_packet does, and fails at the first
// difference.
func (r *runner) match(ev *Event, want *Packet, o *outPkt, when, end, tol time.Duration) {
	f := o.tcp.Flags()
	// TS val: packetdrill does not check berth's values; it remembers the
	// mapping so that the script's later TS ecr can name them.
	var wantTS, gotTS *Option
	for i := range want.Options {
		if want.Options[i].Kind == OptTimestamp {
			wantTS = &want.Options[i]
		}
	}
	for i := range o.opts {
		if o.opts[i].Kind == OptTimestamp {
			gotTS = &o.opts[i]
		}
	}
	if wantTS != nil && gotTS != nil {
		r.tsMap[wantTS.Val] = gotTS.Val
		if !r.tsBase {
			r.tsBase, r.tsScript, r.tsLive = true, wantTS.Val, gotTS.Val
		}
	}
	view := r.scriptView(o)
	expected := expectedLine(ev, want, when, end)
	actual := fmtTime(o.at) + " " + view.String()
	bad := func(format string, args ...any) {
		r.failPacket(ev, fmt.Sprintf(format, args...), expected, actual)
	}
	if f != want.Flags {
		bad("flags: expected %s, berth sent %s", flagString(want.Flags), flagString(f))
		return
	}
	wantOpt := 0
	if !want.AnyOptions {
		wantOpt = paddedLen(want.Options)
	}
	if !want.AnyOptions && o.optLen != wantOpt {
		bad("TCP options: expected %d bytes <%s>, berth sent %d bytes <%s>", wantOpt, optionsString(want.Options), o.optLen, optionsString(view.Options))
		return
	}
	if len(o.payload) != want.Len {
		bad("payload: expected %d bytes, berth sent %d", want.Len, len(o.payload))
		return
	}
	if view.Seq != want.Seq {
		bad("seq: expected %d, berth sent %d", want.Seq, view.Seq)
		return
	}
	// The ACK field is checked even without the ACK flag: Linux sends a
	// bare RST with zero there, and the script says "ack 0" or nothing.
	gotAck := o.tcp.Ack()
	if f&wire.FlagACK != 0 {
		gotAck -= r.remoteISN
	}
	if gotAck != want.Ack {
		bad("ack: expected %d, berth sent %d", want.Ack, gotAck)
		return
	}
	if want.HasWin && o.tcp.Window() != want.Win {
		bad("window: expected %d, berth sent %d", want.Win, o.tcp.Window())
		return
	}
	if o.tcp.Urgent() != 0 {
		bad("urgent pointer: expected 0, berth sent %d", o.tcp.Urgent())
		return
	}
	if !want.AnyOptions {
		if msg := compareOptions(want.Options, view.Options); msg != "" {
			bad("TCP options: %s", msg)
			return
		}
	}
	for _, b := range o.payload {
		if b != 0 {
			bad("payload: berth sent bytes the script did not write (it writes zeros)")
			return
		}
	}
	if ev.Time.Kind != TimeAny && (o.at < when-tol || o.at > end+tol) {
		if when == end {
			bad("timing: expected at %s, berth sent it at %s (tolerance %s)", fmtTime(when), fmtTime(o.at), fmtTime(tol))
		} else {
			bad("timing: expected within %s~%s, berth sent it at %s (tolerance %s)", fmtTime(when), fmtTime(end), fmtTime(o.at), fmtTime(tol))
		}
		return
	}
}

// compareOptions compares option lists kind by kind, in order, as
// packetdrill does (a deterministic order is part of the behaviour). TS val
// is not compared (packetdrill's default); TS ecr must echo what the script
// sent, which packetdrill leaves unchecked but RFC 7323 §3.2 requires.
func compareOptions(want, got []Option) string {
	w := trimEOL(want)
	g := trimEOL(got)
	for i := 0; i < len(w) || i < len(g); i++ {
		if i >= len(w) || i >= len(g) || w[i].Kind != g[i].Kind {
			return fmt.Sprintf("expected <%s>, berth sent <%s>", optionsString(want), optionsString(got))
		}
		a, b := w[i], g[i]
		switch a.Kind {
		case OptTimestamp:
			if a.Ecr != b.Ecr {
				return fmt.Sprintf("TS ecr: expected %d, berth sent %d", a.Ecr, b.Ecr)
			}
		case OptMSS, OptWScale:
			if a.Value != b.Value {
				name := "mss"
				if a.Kind == OptWScale {
					name = "wscale"
				}
				return fmt.Sprintf("%s: expected %d, berth sent %d", name, a.Value, b.Value)
			}
		case OptSACK:
			if fmt.Sprint(a.Blocks) != fmt.Sprint(b.Blocks) {
				return fmt.Sprintf("expected <%s>, berth sent <%s>", a, b)
			}
		}
	}
	return ""
}

// trimEOL drops an End of Option List and what follows: padding.
func trimEOL(opts []Option) []Option {
	for i, o := range opts {
		if o.Kind == OptEOL {
			return opts[:i]
		}
	}
	return opts
}

// expectedLine is the script's packet at its absolute time (or window).
func expectedLine(ev *Event, want *Packet, when, end time.Duration) string {
	switch {
	case ev.Time.Kind == TimeAny:
		return "* " + want.String()
	case end != when:
		return fmtTime(when) + "~" + fmtTime(end) + " " + want.String()
	}
	return fmtTime(when) + " " + want.String()
}
