package port

import (
	"net/netip"
	"syscall"
)

// overlap reports whether two local addresses can receive the same packet:
// equal addresses, or a wildcard of the same family. Across families only a
// dual-stack IPv6 wildcard (IPV6_V6ONLY off, RFC 3493 §5.3) covers IPv4.
// Addresses are unmapped. Linux is asymmetric in one corner (an IPv4
// wildcard bound after a specific dual-stack IPv6 address conflicts, the
// other order does not); berth treats both orders as not overlapping,
// since no packet can reach both.
func overlap(a netip.Addr, aV6Only bool, b netip.Addr, bV6Only bool) bool {
	if a.Is4() == b.Is4() {
		return a == b || a.IsUnspecified() || b.IsUnspecified()
	}
	if a.Is6() {
		return a.IsUnspecified() && !aV6Only
	}
	return b.IsUnspecified() && !bV6Only
}

// candidate is a socket asking for a port.
type candidate struct {
	addr netip.Addr
	opts Options
}

// shares reports whether c may hold the port beside h, the rule of Linux's
// inet_bind_conflict (TCP) and udp_lib_lport_inuse (UDP):
//   - different addresses that cannot overlap never conflict;
//   - SO_REUSEPORT on both: they form a group;
//   - SO_REUSEADDR on both: allowed unless h listens (connection-oriented
//     protocols only; for UDP both flags suffice). A TIME-WAIT holder is
//     not listening, so SO_REUSEADDR on both lets a server restart.
func shares(proto Protocol, c candidate, h *Binding) bool {
	if !overlap(c.addr, c.opts.V6Only, h.local.Addr(), h.opts.V6Only) {
		return true
	}
	if c.opts.ReusePort && h.opts.ReusePort {
		return true
	}
	if c.opts.ReuseAddr && h.opts.ReuseAddr {
		return !proto.connectionOriented() || h.state != Listening
	}
	return false
}

// checkShare returns a *BindError wrapping EADDRINUSE when c may not join
// the holders of port, nil otherwise. self is skipped (listen re-checks a
// binding already in the bucket).
func (m *Manager) checkShare(op string, proto Protocol, port uint16, c candidate, self *Binding) error {
	sp := m.spaces[proto]
	if sp == nil {
		return nil
	}
	bk := sp.ports.get(port)
	if bk == nil {
		return nil
	}
	var first *Binding
	others := 0
	reuseAddrWouldDo := true
	for _, h := range bk.members {
		if h == self || shares(proto, c, h) {
			continue
		}
		if first == nil {
			first = h
		} else {
			others++
		}
		if proto.connectionOriented() && h.state == Listening {
			reuseAddrWouldDo = false
		}
	}
	if first == nil {
		return nil
	}
	hint := hintReusePort
	if reuseAddrWouldDo {
		hint = hintReuseAddr
	}
	return &BindError{
		Op: op, Proto: proto, Local: netip.AddrPortFrom(c.addr, port), Err: syscall.EADDRINUSE,
		Holder: first.holder(), Others: others, Hint: hint,
	}
}
