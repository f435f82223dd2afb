package ip

import (
	"net/netip"
	"time"

	"berth/buf"
	"berth/wire"
)

// icmp6Input handles an ICMPv6 message addressed to this host (RFC 4443).
func (l *Layer) icmp6Input(p *Packet) {
	st := &l.ICMP6
	st.InMsgs++
	h := p.Header6
	m, err := wire.NewICMPv6(p.Payload)
	if err != nil {
		st.InErrors++
		return
	}
	// RFC 4443 §2.3: the checksum covers the pseudo-header; a message whose
	// checksum fails is discarded.
	if !m.ChecksumValid(h.Src(), h.Dst()) {
		st.InErrors++
		st.InCsumErrors++
		return
	}
	switch t := m.Type(); t {
	case wire.ICMPv6EchoRequest:
		st.InEchos++
		l.echoReply6(p, m)
	case wire.ICMPv6EchoReply:
		st.InEchoReplies++
		if hd := l.handlers6[wire.ProtoICMPv6]; hd != nil {
			hd.HandlePacket(p) // the pinging side
		}
	case wire.ICMPv6DestUnreachable:
		st.InDestUnreachs++
		l.dispatchError6(p, m)
	case wire.ICMPv6PacketTooBig:
		st.InPktTooBigs++
		l.dispatchError6(p, m)
	case wire.ICMPv6TimeExceeded:
		st.InTimeExcds++
		l.dispatchError6(p, m)
	case wire.ICMPv6ParamProblem:
		st.InParmProblems++
		l.dispatchError6(p, m)
	// Neighbor Discovery (RFC 4861) and MLD (RFC 2710, RFC 3810) are
	// counted and dropped. NDP resolves and checks link-layer addresses,
	// and berth's links have none: RFC 4861 §3.1 leaves point-to-point
	// links without them out (no address resolution, no unreachability
	// detection, no redirects), and a host that acts on no router
	// advertisement has no use for the rest. MLD reports groups to
	// multicast routers; berth joins none that are reported (RFC 3810 §6:
	// never the all-nodes group).
	case wire.ICMPv6MLDQuery:
		st.InGroupMembQueries++
	case wire.ICMPv6MLDReport:
		st.InGroupMembResponses++
	case wire.ICMPv6MLDDone:
		st.InGroupMembReductions++
	case wire.ICMPv6MLDv2Report:
		st.InMLDv2Reports++
	case wire.ICMPv6RouterSolicitation:
		st.InRouterSolicits++
	case wire.ICMPv6RouterAdvertisement:
		st.InRouterAdvertisements++
	case wire.ICMPv6NeighborSolicitation:
		st.InNeighborSolicits++
	case wire.ICMPv6NeighborAdvertisement:
		st.InNeighborAdvertisements++
	case wire.ICMPv6Redirect:
		st.InRedirects++
	default:
		st.InOtherTypes++
		// RFC 4443 §2.4(a): an error of unknown type goes to the upper
		// layer whose packet caused it; §2.4(b): an informational message
		// of unknown type is silently discarded.
		if wire.IsICMPv6Error(t) {
			l.dispatchError6(p, m)
		}
	}
}

// echoReply6 answers an echo request (RFC 4443 §4.2): same identifier,
// sequence number and data, "returned entirely and unmodified".
func (l *Layer) echoReply6(p *Packet, m wire.ICMPv6) {
	h := p.Header6
	src, dst := h.Dst(), h.Src()
	if dst.IsUnspecified() {
		return // nobody to answer
	}
	b := buf.From(buf.Headroom, m)
	r := wire.ICMPv6(b.Bytes())
	if src.IsMulticast() {
		// RFC 4443 §4.2: a reply to a multicast request comes from a
		// unicast address of the interface the request arrived on.
		src = l.source6(p.Iface, dst)
		if !src.IsValid() {
			b.Release()
			l.ICMP6.OutErrors++
			return
		}
		r.SetType(wire.ICMPv6EchoReply)
		r.UpdateChecksum(src, dst)
	} else {
		// Only the type differs from the request: the pseudo-header holds
		// the same two addresses, swapped, which leaves its sum alone. So
		// the checksum is updated incrementally (RFC 1624).
		old := uint16(r.Type())<<8 | uint16(r.Code())
		r.SetType(wire.ICMPv6EchoReply)
		r.SetChecksum(wire.UpdateChecksum16(r.Checksum(), old, uint16(r.Type())<<8|uint16(r.Code())))
	}
	// The reply keeps the request's traffic class, as Linux's does.
	l.send6(p.Now, b, Header{Src: src, Dst: dst, Protocol: wire.ProtoICMPv6, TOS: h.TrafficClass()})
	b.Release()
}

// source6 is the address to send to dst from: one of ifc's, or (ifc nil)
// the routed interface's. It is invalid when there is none.
func (l *Layer) source6(ifc *Interface, dst netip.Addr) netip.Addr {
	if ifc != nil {
		return ifc.source6(dst)
	}
	_, src, err := l.Route(dst)
	if err != nil {
		return netip.Addr{}
	}
	return src
}

// dispatchError6 passes an ICMPv6 error up to the transport of the packet
// it quotes (RFC 4443 §3: "MUST" notify the upper-layer process). The
// quote is walked to find its upper-layer protocol; a quoted non-first
// fragment starts no upper-layer header and identifies nobody.
func (l *Layer) dispatchError6(p *Packet, m wire.ICMPv6) {
	q, err := wire.NewQuotedIPv6(m.Payload())
	if err != nil {
		l.ICMP6.InErrors++
		return
	}
	t, err := q.Transport()
	if err != nil {
		l.ICMP6.InErrors++
		return
	}
	if t.HasFragment() && t.Fragment.FragmentOffset != 0 {
		return
	}
	hd := l.handlers6[t.Proto]
	if hd == nil {
		return
	}
	e := ICMPError{
		Now: p.Now, From: p.Header6.Src(), Type: m.Type(), Code: m.Code(),
		Original6: q, OrigPayload: q[t.Offset:],
	}
	switch m.Type() {
	case wire.ICMPv6PacketTooBig:
		e.MTU = m.MTU()
	case wire.ICMPv6ParamProblem:
		e.Pointer = m.Pointer()
	}
	hd.HandleError(&e)
}

// maxQuote6 keeps an ICMPv6 error within the minimum MTU, quoting as much
// of the invoking packet as fits (RFC 4443 §2.4(c)).
const maxQuote6 = wire.IPv6MinMTU - wire.IPv6HeaderLen - wire.ICMPv6HeaderLen

// SendError6 reports a problem with packet orig to its source; orig is as
// much of the packet as the caller has, its fixed header at least. It
// sends nothing where RFC 4443 §2.4(e) forbids an error: about an ICMPv6
// error message, about a packet to a multicast address (except Packet Too
// Big and Parameter Problem code 2, §2.4(e.3)), or to a source that is not
// one node (unspecified or multicast). Errors are rate limited (§2.4(f))
// by the token bucket ICMPv4's errors use. param is the Pointer of a
// Parameter Problem or the MTU of a Packet Too Big.
func (l *Layer) SendError6(now time.Time, orig wire.IPv6, typ, code uint8, param uint32) {
	if len(orig) < wire.IPv6HeaderLen {
		return
	}
	dst, src := orig.Src(), orig.Dst()
	if dst.IsUnspecified() || dst.IsMulticast() || dst.Is4In6() {
		return
	}
	if src.IsMulticast() && typ != wire.ICMPv6PacketTooBig &&
		(typ != wire.ICMPv6ParamProblem || code != wire.ICMPv6ParamOption) {
		return
	}
	if quotesICMPv6Error(orig) {
		return
	}
	if !l.limiter.take(now) {
		l.ICMP6.OutRateLimited++
		return
	}
	if !l.IsLocal(src) {
		// RFC 4443 §2.2: not sent to one of our unicast addresses, so the
		// error comes from an address of the interface that routes it.
		var err error
		if _, src, err = l.Route(dst); err != nil {
			l.ICMP6.OutErrors++
			return
		}
	}
	rep := wire.ICMPv6Repr{Type: typ, Code: code, Data: orig[:min(len(orig), maxQuote6)]}
	switch typ {
	case wire.ICMPv6ParamProblem:
		rep.Pointer = param
	case wire.ICMPv6PacketTooBig:
		rep.MTU = param
	}
	b := buf.New(buf.Headroom, rep.Len())
	rep.Emit(b.Extend(rep.Len()), src, dst)
	l.send6(now, b, Header{Src: src, Dst: dst, Protocol: wire.ProtoICMPv6})
	b.Release()
}

// quotesICMPv6Error reports whether packet orig carries an ICMPv6 error
// message, about which no error is sent (RFC 4443 §2.4(e.1)). A packet
// whose headers cannot be walked, or a non-first fragment, shows no ICMPv6
// header and is not one; an ICMPv6 header cut before its type is taken to
// be one, as Linux's is_ineligible does.
func quotesICMPv6Error(orig wire.IPv6) bool {
	t, err := orig.Transport()
	if err != nil || t.Proto != wire.ProtoICMPv6 || (t.HasFragment() && t.Fragment.FragmentOffset != 0) {
		return false
	}
	return t.Offset >= len(orig) || wire.IsICMPv6Error(orig[t.Offset])
}

// countOut6 counts an ICMPv6 message that left (err nil) or failed to.
func (l *Layer) countOut6(msg []byte, err error) {
	st := &l.ICMP6
	if err != nil {
		st.OutErrors++
		return
	}
	st.OutMsgs++
	if len(msg) == 0 {
		return
	}
	switch msg[0] {
	case wire.ICMPv6DestUnreachable:
		st.OutDestUnreachs++
	case wire.ICMPv6PacketTooBig:
		st.OutPktTooBigs++
	case wire.ICMPv6TimeExceeded:
		st.OutTimeExcds++
	case wire.ICMPv6ParamProblem:
		st.OutParmProblems++
	case wire.ICMPv6EchoRequest:
		st.OutEchos++
	case wire.ICMPv6EchoReply:
		st.OutEchoReplies++
	}
}
