package ip

import (
	"net/netip"
	"syscall"

	"berth/wire"
)

// AddAddress gives ifc another address: an IPv6 one (any number), or an
// IPv4 one if it has none yet. The address's prefix becomes an on-link
// route. Errors: EINVAL for an address that cannot be an interface's
// (unspecified, multicast, loopback, IPv4-mapped) or an IPv6 address on a
// link whose MTU is below 1280, which IPv6 requires of every link (RFC 8200
// §5); EEXIST for an address the interface already has.
func (l *Layer) AddAddress(ifc *Interface, p netip.Prefix) error {
	a := p.Addr()
	if !p.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() || a.Is4In6() || a.Zone() != "" {
		return syscall.EINVAL
	}
	if a.Is4() {
		if ifc.Addr.IsValid() {
			return syscall.EEXIST
		}
		ifc.Addr = p
		l.routes.Add(Route{Dst: p.Masked(), Iface: ifc})
		return nil
	}
	if ifc.MTU() < wire.IPv6MinMTU {
		return syscall.EINVAL
	}
	if ifc.has6(a) {
		return syscall.EEXIST
	}
	ifc.Addrs6 = append(ifc.Addrs6, p)
	l.routes.Add(Route{Dst: p.Masked(), Iface: ifc})
	return nil
}

// has6 reports whether a is one of the interface's IPv6 addresses.
func (i *Interface) has6(a netip.Addr) bool {
	for _, p := range i.Addrs6 {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// source6 picks the interface's IPv6 address to send to dst from: the one
// sharing the longest prefix with dst (RFC 6724 §5, rule 8, which also
// keeps link-local destinations on link-local sources), the first on a tie.
// It is invalid when the interface has no IPv6 address.
func (i *Interface) source6(dst netip.Addr) netip.Addr {
	var best netip.Addr
	bestLen := -1
	for _, p := range i.Addrs6 {
		if n := commonPrefixLen(p.Addr(), dst); n > bestLen {
			best, bestLen = p.Addr(), n
		}
	}
	return best
}

func commonPrefixLen(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	for i := range x {
		if d := x[i] ^ y[i]; d != 0 {
			n := i * 8
			for d&0x80 == 0 {
				n++
				d <<= 1
			}
			return n
		}
	}
	return 128
}

// Multicast groups every IPv6 node listens to (RFC 4291 §2.8): the
// all-nodes addresses of interface-local and link-local scope.
var (
	allNodesIfaceLocal = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x01, 15: 1})
	allNodesLinkLocal  = netip.AddrFrom16([16]byte{0: 0xff, 1: 0x02, 15: 1})
)

// solicitedNode is the prefix of the solicited-node multicast addresses,
// ff02::1:ff00:0/104 (RFC 4291 §2.7.1): one per unicast address, its low
// 24 bits appended.
var solicitedNode = netip.MustParsePrefix("ff02::1:ff00:0/104")

// accepts6 reports whether a packet to dst that arrived on ifc (nil: this
// host sent it) is for this host.
func (l *Layer) accepts6(ifc *Interface, dst netip.Addr) bool {
	if !dst.IsMulticast() {
		if dst.IsLoopback() {
			// RFC 4291 §2.5.3: a packet that arrives on an interface
			// for the loopback address must be dropped.
			return ifc == nil
		}
		return l.IsLocal(dst)
	}
	switch dst.As16()[1] & 0x0f { // the scope (RFC 4291 §2.7)
	case 0:
		return false // reserved scope: "silently dropped" (RFC 4291 §2.7)
	case 1:
		if ifc != nil {
			return false // interface-local scope never arrives from a link (RFC 4291 errata 3480)
		}
	}
	if dst == allNodesLinkLocal || dst == allNodesIfaceLocal {
		return true
	}
	if !solicitedNode.Contains(dst) {
		return false // berth joins no other group
	}
	d := dst.As16()
	for _, i := range l.ifaces {
		if ifc != nil && i != ifc {
			continue
		}
		for _, p := range i.Addrs6 {
			if a := p.Addr().As16(); a[13] == d[13] && a[14] == d[14] && a[15] == d[15] {
				return true
			}
		}
	}
	return false
}

// errno6 maps an ICMPv6 error to what a socket reports, as Linux's
// icmpv6_err_convert does.
func errno6(typ, code uint8) syscall.Errno {
	switch typ {
	case wire.ICMPv6DestUnreachable:
		switch code {
		case wire.ICMPv6NoRoute:
			return syscall.ENETUNREACH
		case wire.ICMPv6AdminProhibited, wire.ICMPv6SrcAddrFailedPolicy, wire.ICMPv6RejectRoute:
			return syscall.EACCES
		case wire.ICMPv6PortUnreachable:
			return syscall.ECONNREFUSED
		case wire.ICMPv6BeyondScope, wire.ICMPv6AddrUnreachable:
			return syscall.EHOSTUNREACH
		}
		return syscall.EPROTO
	case wire.ICMPv6PacketTooBig:
		return syscall.EMSGSIZE
	case wire.ICMPv6TimeExceeded:
		return syscall.EHOSTUNREACH
	}
	return syscall.EPROTO
}
