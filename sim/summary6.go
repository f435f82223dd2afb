package sim

import (
	"strconv"

	"berth/wire"
)

// appendSummary6 is appendSummary for an IPv6 packet. It walks the
// extension headers to the upper layer (RFC 8200 §4) and ends with the
// hop limit, and the flow label when there is one, in place of IPv4's ID
// and TTL.
func (n *Network) appendSummary6(b []byte, pkt []byte) []byte {
	ip, err := wire.NewIPv6(pkt)
	if err != nil {
		b = append(b, "malformed6 len="...)
		return strconv.AppendInt(b, int64(len(pkt)), 10)
	}
	src, dst := n.addrName(ip.Src()), n.addrName(ip.Dst())
	t, err := ip.Transport()
	if err != nil {
		b = append(b, "IP6 "...)
		b = appendPair(b, src, dst)
		b = append(b, " bad-ext next="...)
		b = strconv.AppendUint(b, uint64(ip.NextHeader()), 10)
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(len(ip.Payload())), 10)
		return appendIP6Tail(b, ip)
	}
	if t.HasFragment() && (t.Fragment.FragmentOffset != 0 || t.Fragment.MoreFragments) {
		b = append(b, "IP6 "...)
		b = appendPair(b, src, dst)
		b = append(b, " frag proto="...)
		b = strconv.AppendUint(b, uint64(t.Fragment.NextHeader), 10)
		b = append(b, " off="...)
		b = strconv.AppendInt(b, int64(t.Fragment.FragmentOffset), 10)
		if t.Fragment.MoreFragments {
			b = append(b, "+"...)
		}
		b = append(b, " fid="...)
		b = strconv.AppendUint(b, uint64(t.Fragment.ID), 10)
		return appendIP6Tail(b, ip)
	}
	upper := ip[t.Offset:]
	switch t.Proto {
	case wire.ProtoTCP:
		tc, err := wire.NewTCP(upper)
		if err != nil {
			break
		}
		b = append(b, "TCP6 "...)
		b = appendHostPort(b, src, tc.SrcPort())
		b = append(b, " > "...)
		b = appendHostPort(b, dst, tc.DstPort())
		b = append(b, " ["...)
		b = append(b, tc.Flags().String()...)
		b = append(b, "] seq="...)
		b = strconv.AppendUint(b, uint64(tc.Seq()), 10)
		if tc.Flags()&wire.FlagACK != 0 {
			b = append(b, " ack="...)
			b = strconv.AppendUint(b, uint64(tc.Ack()), 10)
		}
		b = append(b, " win="...)
		b = strconv.AppendUint(b, uint64(tc.Window()), 10)
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(len(tc.Payload())), 10)
		if !tc.ChecksumValid(ip.Src(), ip.Dst()) {
			b = append(b, " [bad csum]"...)
		}
		return appendIP6Tail(b, ip)
	case wire.ProtoUDP:
		u, err := wire.NewUDP(upper)
		if err != nil {
			break
		}
		b = append(b, "UDP6 "...)
		b = appendHostPort(b, src, u.SrcPort())
		b = append(b, " > "...)
		b = appendHostPort(b, dst, u.DstPort())
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(len(u.Payload())), 10)
		if !u.ChecksumValid(ip.Src(), ip.Dst()) {
			b = append(b, " [bad csum]"...)
		}
		return appendIP6Tail(b, ip)
	case wire.ProtoICMPv6:
		m, err := wire.NewICMPv6(upper)
		if err != nil {
			break
		}
		b = append(b, "ICMP6 "...)
		b = appendPair(b, src, dst)
		b = append(b, ' ')
		b = append(b, wire.ICMPv6TypeString(m.Type())...)
		switch m.Type() {
		case wire.ICMPv6EchoRequest, wire.ICMPv6EchoReply:
			b = append(b, " id="...)
			b = strconv.AppendUint(b, uint64(m.ID()), 10)
			b = append(b, " seq="...)
			b = strconv.AppendUint(b, uint64(m.Seq()), 10)
		case wire.ICMPv6PacketTooBig:
			b = append(b, " mtu="...)
			b = strconv.AppendUint(b, uint64(m.MTU()), 10)
		default:
			b = append(b, " code="...)
			b = strconv.AppendUint(b, uint64(m.Code()), 10)
		}
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(len(m.Payload())), 10)
		if !m.ChecksumValid(ip.Src(), ip.Dst()) {
			b = append(b, " [bad csum]"...)
		}
		return appendIP6Tail(b, ip)
	}
	b = append(b, "IP6 "...)
	b = appendPair(b, src, dst)
	b = append(b, " proto="...)
	b = strconv.AppendUint(b, uint64(t.Proto), 10)
	b = append(b, " len="...)
	b = strconv.AppendInt(b, int64(len(upper)), 10)
	return appendIP6Tail(b, ip)
}

// appendIP6Tail ends an IPv6 summary with the flow label, if any, and the
// hop limit.
func appendIP6Tail(b []byte, ip wire.IPv6) []byte {
	if fl := ip.FlowLabel(); fl != 0 {
		b = append(b, " flow="...)
		b = strconv.AppendUint(b, uint64(fl), 10)
	}
	b = append(b, " hlim="...)
	return strconv.AppendUint(b, uint64(ip.HopLimit()), 10)
}

func appendPair(b []byte, src, dst string) []byte {
	b = append(b, src...)
	b = append(b, " > "...)
	return append(b, dst...)
}
