package ip

import (
	"net/netip"
	"time"

	"berth/buf"
	"berth/wire"
)

func (l *Layer) icmpInput(p *Packet) {
	l.ICMP.InMsgs++
	m, err := wire.NewICMPv4(p.Payload)
	if err != nil {
		l.ICMP.InErrors++
		return
	}
	if !m.ChecksumValid() {
		l.ICMP.InErrors++
		l.ICMP.InCsumErrors++
		return
	}
	switch m.Type() {
	case wire.ICMPv4Echo:
		l.ICMP.InEchos++
		// Linux's icmp_echo_ignore_broadcasts=1: broadcast pings go unanswered (smurf amplification).
		if !l.isBroadcast(p.Header.Dst()) {
			l.echoReply(p, m)
		}
	case wire.ICMPv4EchoReply:
		l.ICMP.InEchoReps++ // the raw tap delivered it to the pinging socket
	case wire.ICMPv4DestUnreachable:
		l.ICMP.InDestUnreachs++
		l.dispatchError(p, m)
	case wire.ICMPv4TimeExceeded:
		l.ICMP.InTimeExcds++
		l.dispatchError(p, m)
	case wire.ICMPv4ParamProblem:
		l.ICMP.InParmProbs++
		l.dispatchError(p, m)
	}
}

// echoReply answers an echo request (RFC 792; RFC 1122 §3.2.2.6: the data
// is returned unchanged). Only type and checksum differ from the request, so
// the checksum is updated incrementally (RFC 1624).
func (l *Layer) echoReply(p *Packet, m wire.ICMPv4) {
	b := buf.From(buf.Headroom, m)
	r := wire.ICMPv4(b.Bytes())
	old := uint16(r.Type())<<8 | uint16(r.Code())
	r.SetType(wire.ICMPv4EchoReply)
	r.SetChecksum(wire.UpdateChecksum16(r.Checksum(), old, uint16(r.Code())))
	err := l.send(p.Now, b, Header{Src: p.Header.Dst(), Dst: p.Header.Src(), Protocol: wire.ProtoICMP, TOS: p.Header.TOS()})
	b.Release()
	if err == nil {
		l.ICMP.OutMsgs++
		l.ICMP.OutEchoReps++
	} else {
		l.ICMP.OutErrors++
	}
}

// dispatchError passes an ICMP error up to the transport of the datagram it
// quotes (RFC 1122 §3.2.2.1: "MUST be passed to the transport layer").
func (l *Layer) dispatchError(p *Packet, m wire.ICMPv4) {
	quoted := m.Payload()
	q, err := wire.NewQuotedIPv4(quoted)
	if err != nil {
		l.ICMP.InErrors++
		return
	}
	h := l.handlers[q.Protocol()]
	if h == nil {
		return
	}
	e := ICMPError{
		Now: p.Now, From: p.Header.Src(), Type: m.Type(), Code: m.Code(),
		Original: q, OrigPayload: quoted[q.HeaderLen():],
	}
	switch m.Type() {
	case wire.ICMPv4DestUnreachable:
		e.MTU = uint32(m.NextHopMTU())
	case wire.ICMPv4ParamProblem:
		e.Pointer = uint32(m.Pointer())
	}
	h.HandleError(&e)
}

// maxQuote keeps an ICMP error within 576 bytes, the datagram size every
// host accepts (RFC 1812 §4.3.2.3, as Linux does).
const maxQuote = 576 - wire.IPv4MinHeaderLen - 8

// SendError reports a problem with datagram orig to its source. It sends
// nothing where RFC 1122 §3.2.2 forbids an error: about an ICMP error,
// about a datagram to broadcast or multicast, about a non-initial fragment,
// or to a source that is not one host. Errors are rate limited
// (RFC 1812 §4.3.2.8). param is the pointer of a parameter problem or the
// next-hop MTU of "fragmentation needed".
func (l *Layer) SendError(now time.Time, orig wire.IPv4, typ, code uint8, param uint16) {
	dst, src := orig.Src(), orig.Dst()
	if orig.FragmentOffset() != 0 || dst.IsUnspecified() || dst.IsMulticast() || l.isBroadcast(dst) ||
		src.IsMulticast() || l.isBroadcast(src) {
		return
	}
	if orig.Protocol() == wire.ProtoICMP {
		inner := orig[orig.HeaderLen():]
		if len(inner) < 1 {
			return
		}
		switch inner[0] {
		case wire.ICMPv4Echo, wire.ICMPv4EchoReply, 13, 14: // queries may be answered
		default:
			return
		}
	}
	if !l.limiter.take(now) {
		l.ICMP.OutRateLimited++
		return
	}
	q := orig[:min(len(orig), maxQuote)]
	rep := wire.ICMPv4Repr{Type: typ, Code: code, Data: q}
	switch typ {
	case wire.ICMPv4ParamProblem:
		rep.Pointer = uint8(param)
	case wire.ICMPv4DestUnreachable:
		rep.NextHopMTU = param
	}
	b := buf.New(buf.Headroom, rep.Len())
	rep.Emit(b.Extend(rep.Len()))
	if !l.IsLocal(src) {
		src = netipZero
	}
	err := l.send(now, b, Header{Src: src, Dst: dst, Protocol: wire.ProtoICMP})
	b.Release()
	if err != nil {
		l.ICMP.OutErrors++
		return
	}
	l.ICMP.OutMsgs++
	switch typ {
	case wire.ICMPv4DestUnreachable:
		l.ICMP.OutDestUnreachs++
	case wire.ICMPv4TimeExceeded:
		l.ICMP.OutTimeExcds++
	}
}

// tokenBucket limits ICMP errors: rate per second, up to burst at once.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (t *tokenBucket) take(now time.Time) bool {
	if !t.last.IsZero() {
		if d := now.Sub(t.last); d > 0 {
			t.tokens = min(t.burst, t.tokens+d.Seconds()*t.rate)
		}
	}
	if now.After(t.last) {
		t.last = now
	}
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

var netipZero netip.Addr
