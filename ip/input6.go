package ip

import (
	"time"

	"berth/wire"
)

// input6 takes an IPv6 packet, from a link or (ifc nil) from this host.
func (l *Layer) input6(now time.Time, ifc *Interface, pkt []byte) {
	s := &l.Stats6
	s.InReceives++
	if ifc == nil {
		s.InLoopback++
	}
	h, err := wire.NewIPv6(pkt)
	if err != nil { // the version is 6: a length is what is wrong
		s.InHdrErrors++
		s.InTruncated++
		return
	}
	// RFC 4291 §2.7: a multicast address is never a source. §2.5.3: the
	// loopback address never comes from a link. §2.5.5.2: an IPv4-mapped
	// address stands for an IPv4 node, which sends no IPv6 packet.
	src := h.Src()
	if src.IsMulticast() || src.Is4In6() || (ifc != nil && src.IsLoopback()) {
		s.InHdrErrors++
		s.InBadSource++
		return
	}
	if !l.accepts6(ifc, h.Dst()) {
		// berth is a host, not a router (RFC 8200 §1 calls a node that
		// does not forward packets a host): not ours, dropped.
		s.InAddrErrors++
		return
	}
	t, err := h.Transport()
	if err != nil {
		l.badChain6(now, h, t, err)
		return
	}
	// RFC 6946 §4: an atomic fragment (offset 0, M clear) is a whole
	// packet, processed at once and never mixed with a reassembly; the walk
	// has gone past its Fragment header.
	if t.HasFragment() && (t.Fragment.FragmentOffset != 0 || t.Fragment.MoreFragments) {
		if !l.checkFragment6(now, h, t) {
			return
		}
		s.ReasmReqds++
		whole := l.reassemble6(now, h, t)
		if whole == nil {
			return
		}
		defer whole.Release()
		h = wire.IPv6(whole.Bytes()) // built by the reassembler: lengths agree
		if t, err = h.Transport(); err != nil {
			l.badChain6(now, h, t, err)
			return
		}
		if t.HasFragment() {
			// A fragment inside a reassembled packet: nothing sends that,
			// and taking it would let a packet recurse.
			s.InHdrErrors++
			s.InBadHeaderChain++
			return
		}
	}
	l.deliver6(now, ifc, h, t)
}

// badChain6 counts a packet whose extension headers the walk rejected
// and answers it as RFC 8200 §4 and RFC 4443 §3.4 say; t.Pointer is where
// the Parameter Problem points (see wire.IPv6.Transport).
func (l *Layer) badChain6(now time.Time, h wire.IPv6, t wire.IPv6Transport, err error) {
	s := &l.Stats6
	s.InHdrErrors++
	ptr := uint32(t.Pointer)
	switch err {
	case wire.ErrTruncated:
		if t.HasFragment() && t.Fragment.FragmentOffset == 0 {
			// RFC 8200 §4.5, RFC 7112 §5: a first fragment must hold the
			// whole header chain; code 3, pointer zero.
			s.InBadFragment++
			l.SendError6(now, h, wire.ICMPv6ParamProblem, wire.ICMPv6ParamIncompleteChain, 0)
			return
		}
		s.InTruncated++
	case wire.ErrHopByHopNotFirst:
		// RFC 8200 §4.1: Hop-by-Hop Options only straight after the fixed
		// header; elsewhere its Next Header value is unrecognised (code
		// 1, as Linux and gVisor send).
		s.InBadHeaderChain++
		l.SendError6(now, h, wire.ICMPv6ParamProblem, wire.ICMPv6ParamNextHeader, ptr)
	case wire.ErrRoutingHeader:
		// RFC 8200 §4.4: a Routing header still to be followed, whose type
		// a host that routes nothing does not recognise: code 0 at the
		// Routing Type.
		s.InBadHeaderChain++
		l.SendError6(now, h, wire.ICMPv6ParamProblem, wire.ICMPv6ParamHeaderField, ptr)
	case wire.ErrTooManyExtHeaders:
		// RFC 8883 lets a node that limits the chain say so; berth
		// drops such packets silently.
		s.InBadHeaderChain++
	case wire.ErrBadOption:
		// RFC 4443 §3.4: an erroneous field in an extension header, code 0
		// at the option that runs past its header.
		s.InBadOption++
		l.SendError6(now, h, wire.ICMPv6ParamProblem, wire.ICMPv6ParamHeaderField, ptr)
	case wire.ErrUnknownOption:
		// RFC 8200 §4.2: the option type's two high-order bits say what
		// to do. 01: discard silently; 10: discard and send code 2 even
		// to a multicast destination (RFC 4443 §2.4(e.3)); 11: the same
		// unless the destination is multicast.
		s.InUnknownOption++
		switch h[t.Pointer] >> 6 {
		case 2:
			l.SendError6(now, h, wire.ICMPv6ParamProblem, wire.ICMPv6ParamOption, ptr)
		case 3:
			if !h.Dst().IsMulticast() {
				l.SendError6(now, h, wire.ICMPv6ParamProblem, wire.ICMPv6ParamOption, ptr)
			}
		}
	default:
		s.InBadHeaderChain++
	}
}

// checkFragment6 applies RFC 8200 §4.5's rules for one fragment (not an
// atomic one) before reassembly takes it, answering a bad one with a
// Parameter Problem. It reports whether the fragment may go on.
func (l *Layer) checkFragment6(now time.Time, h wire.IPv6, t wire.IPv6Transport) bool {
	s := &l.Stats6
	fr := t.Fragment
	n := len(h) - t.FragmentAt - wire.IPv6FragmentHeaderLen
	var ptr uint32
	code := wire.ICMPv6ParamHeaderField
	switch {
	case fr.MoreFragments && n%8 != 0:
		// Not the last, yet not a multiple of 8 bytes: code 0 pointing to
		// the Payload Length field.
		ptr = 4
	case t.FragmentAt-wire.IPv6HeaderLen+fr.FragmentOffset+n > 0xffff:
		// The packet reassembled from it would exceed 65535 bytes: code 0
		// pointing to the Fragment Offset field.
		ptr = uint32(t.FragmentAt + 2)
	case fr.FragmentOffset == 0 && len(h)-t.Offset < upperHeaderLen(t.Proto):
		// The first fragment must hold the upper-layer header too (RFC
		// 7112 §5): code 3, pointer zero.
		code = wire.ICMPv6ParamIncompleteChain
	default:
		return true
	}
	s.InHdrErrors++
	s.InBadFragment++
	l.SendError6(now, h, wire.ICMPv6ParamProblem, code, ptr)
	return false
}

// upperHeaderLen is how much of an upper-layer header a first fragment
// must hold (as Linux's ipv6_frag_thdr_truncated): TCP's and UDP's fixed
// headers and ICMPv6's type, code, checksum and first word.
func upperHeaderLen(proto uint8) int {
	switch proto {
	case wire.ProtoTCP:
		return wire.TCPMinHeaderLen
	case wire.ProtoUDP:
		return wire.UDPHeaderLen
	case wire.ProtoICMPv6:
		return wire.ICMPv6HeaderLen
	}
	return 0
}

// deliver6 hands a whole IPv6 packet to raw sockets and its upper layer;
// t is its walk. Raw sockets match on the Next Header that ends the chain,
// as Linux's raw6_local_deliver does, and see the packet before the layer
// answers an echo request, as on IPv4.
func (l *Layer) deliver6(now time.Time, ifc *Interface, h wire.IPv6, t wire.IPv6Transport) {
	s := &l.Stats6
	p := &l.pkt // lent, as in deliver
	*p = Packet{Now: now, Iface: ifc, Header6: h, Payload: h[t.Offset:], Protocol: t.Proto}
	defer func() { *p = Packet{} }()
	taken := false
	if l.rawTap != nil {
		taken = l.rawTap(p)
	}
	switch proto := t.Proto; {
	case proto == wire.ProtoICMPv6:
		s.InDelivers++
		l.icmp6Input(p)
	case proto == wire.ProtoNoNextHeader:
		// RFC 8200 §4.7: nothing follows, and any bytes that do are
		// ignored. The packet is consumed, as Linux consumes it.
		s.InDelivers++
	case l.handlers6[proto] != nil:
		s.InDelivers++
		l.handlers6[proto].HandlePacket(p)
	case taken:
		// A raw socket serves the protocol: the packet is delivered, and
		// no Parameter Problem says otherwise.
		s.InDelivers++
	default:
		// RFC 8200 §4: an unrecognised Next Header value is answered with
		// Parameter Problem code 1 pointing at it.
		s.InUnknownProtos++
		l.SendError6(now, h, wire.ICMPv6ParamProblem, wire.ICMPv6ParamNextHeader, uint32(t.Pointer))
	}
}
