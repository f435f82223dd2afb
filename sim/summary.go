package sim

import (
	"strconv"

	"berth/wire"
)

// appendSummary appends a one-line description of an IPv4 or IPv6 packet,
// in the manner of tcpdump, with host names for the addresses the network
// knows. It reads the packet only through wire's checked views, so a
// corrupted packet is described as far as it can be, never panics. IPv6
// packets say so: TCP6, UDP6, ICMP6, IP6.
func (n *Network) appendSummary(b []byte, pkt []byte) []byte {
	if isIPv6(pkt) {
		return n.appendSummary6(b, pkt)
	}
	ip, err := wire.NewIPv4(pkt)
	if err != nil {
		b = append(b, "malformed len="...)
		return strconv.AppendInt(b, int64(len(pkt)), 10)
	}
	src, dst := n.addrName(ip.Src()), n.addrName(ip.Dst())
	if !ip.ChecksumValid() {
		b = append(b, "[bad ip csum] "...)
	}
	if ip.MoreFragments() || ip.FragmentOffset() > 0 {
		b = append(b, "IP "...)
		b = append(b, src...)
		b = append(b, " > "...)
		b = append(b, dst...)
		b = append(b, " frag proto="...)
		b = strconv.AppendUint(b, uint64(ip.Protocol()), 10)
		b = append(b, " off="...)
		b = strconv.AppendInt(b, int64(ip.FragmentOffset()), 10)
		if ip.MoreFragments() {
			b = append(b, "+"...)
		}
		return n.appendIPTail(b, ip)
	}
	switch ip.Protocol() {
	case wire.ProtoTCP:
		t, err := wire.NewTCP(ip.Payload())
		if err != nil {
			break
		}
		b = append(b, "TCP "...)
		b = appendHostPort(b, src, t.SrcPort())
		b = append(b, " > "...)
		b = appendHostPort(b, dst, t.DstPort())
		b = append(b, " ["...)
		b = append(b, t.Flags().String()...)
		b = append(b, "] seq="...)
		b = strconv.AppendUint(b, uint64(t.Seq()), 10)
		if t.Flags()&wire.FlagACK != 0 {
			b = append(b, " ack="...)
			b = strconv.AppendUint(b, uint64(t.Ack()), 10)
		}
		b = append(b, " win="...)
		b = strconv.AppendUint(b, uint64(t.Window()), 10)
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(len(t.Payload())), 10)
		if !t.ChecksumValid(ip.Src(), ip.Dst()) {
			b = append(b, " [bad csum]"...)
		}
		return n.appendIPTail(b, ip)
	case wire.ProtoUDP:
		u, err := wire.NewUDP(ip.Payload())
		if err != nil {
			break
		}
		b = append(b, "UDP "...)
		b = appendHostPort(b, src, u.SrcPort())
		b = append(b, " > "...)
		b = appendHostPort(b, dst, u.DstPort())
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(len(u.Payload())), 10)
		return n.appendIPTail(b, ip)
	case wire.ProtoICMP:
		m, err := wire.NewICMPv4(ip.Payload())
		if err != nil {
			break
		}
		b = append(b, "ICMP "...)
		b = append(b, src...)
		b = append(b, " > "...)
		b = append(b, dst...)
		b = append(b, ' ')
		b = append(b, wire.ICMPv4TypeString(m.Type())...)
		if m.Type() == wire.ICMPv4Echo || m.Type() == wire.ICMPv4EchoReply {
			b = append(b, " id="...)
			b = strconv.AppendUint(b, uint64(m.ID()), 10)
			b = append(b, " seq="...)
			b = strconv.AppendUint(b, uint64(m.Seq()), 10)
		} else {
			b = append(b, " code="...)
			b = strconv.AppendUint(b, uint64(m.Code()), 10)
		}
		b = append(b, " len="...)
		b = strconv.AppendInt(b, int64(len(m.Payload())), 10)
		return n.appendIPTail(b, ip)
	}
	b = append(b, "IP "...)
	b = append(b, src...)
	b = append(b, " > "...)
	b = append(b, dst...)
	b = append(b, " proto="...)
	b = strconv.AppendUint(b, uint64(ip.Protocol()), 10)
	b = append(b, " len="...)
	b = strconv.AppendInt(b, int64(len(ip.Payload())), 10)
	return n.appendIPTail(b, ip)
}

// appendIPTail ends a summary with the IP fields that tell packets apart.
func (n *Network) appendIPTail(b []byte, ip wire.IPv4) []byte {
	b = append(b, " id="...)
	b = strconv.AppendUint(b, uint64(ip.ID()), 10)
	b = append(b, " ttl="...)
	b = strconv.AppendUint(b, uint64(ip.TTL()), 10)
	return b
}

func appendHostPort(b []byte, host string, port uint16) []byte {
	b = append(b, host...)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}
