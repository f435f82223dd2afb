package port

import "net/netip"

// group is the set of bindings on one listen key: an SO_REUSEPORT group, or
// sockets sharing an address and port through SO_REUSEADDR (UDP).
type group struct {
	all []*Binding // in bind order
	rp  []*Binding // the SO_REUSEPORT members, in bind order
}

// dualAddr keys dual-stack IPv6 wildcard bindings (IPV6_V6ONLY off), which
// receive both families: the zero Addr, distinct from 0.0.0.0 and [::].
var dualAddr netip.Addr

func listenKey(b *Binding) netip.AddrPort {
	a := b.local.Addr()
	if a.Is6() && a.IsUnspecified() && !b.opts.V6Only {
		a = dualAddr
	}
	return netip.AddrPortFrom(a, b.local.Port())
}

func (m *Manager) addListen(b *Binding) {
	sp := m.spaces[b.proto]
	k := listenKey(b)
	g := sp.listens[k]
	if g == nil {
		g = &group{}
		sp.listens[k] = g
	}
	g.all = append(g.all, b)
	if b.opts.ReusePort {
		g.rp = append(g.rp, b)
	}
	b.inListen = true
}

func (m *Manager) removeListen(b *Binding) {
	if !b.inListen {
		return
	}
	b.inListen = false
	sp := m.spaces[b.proto]
	k := listenKey(b)
	g := sp.listens[k]
	g.all = remove(g.all, b)
	g.rp = remove(g.rp, b)
	if len(g.all) == 0 {
		delete(sp.listens, k)
	}
}

// remove deletes b from s keeping the order (groups are small, and the
// order decides which socket gets a flow).
func remove(s []*Binding, b *Binding) []*Binding {
	for i, x := range s {
		if x == b {
			copy(s[i:], s[i+1:])
			s[len(s)-1] = nil
			return s[:len(s)-1]
		}
	}
	return s
}

// pick chooses the member that receives a flow. An SO_REUSEPORT group
// spreads flows by a keyed hash of the 4-tuple, so one flow always lands on
// the same member while the group is unchanged (Linux: reuseport_select_sock
// with reciprocal_scale). Without SO_REUSEPORT the most recently bound
// socket receives unicast, as on Linux with SO_REUSEADDR.
func (g *group) pick(m *Manager, proto Protocol, local, remote netip.AddrPort) *Binding {
	switch n := len(g.rp); n {
	case 0:
		return g.all[len(g.all)-1]
	case 1:
		return g.rp[0]
	default:
		h := uint32(m.flowHash(proto, local, remote))
		return g.rp[uint64(h)*uint64(n)>>32]
	}
}

// Lookup finds the endpoint for a segment or datagram arriving at local
// from remote: the most specific match wins (Linux's compute_score order):
//
//  1. a connected (or TIME-WAIT) binding with exactly this 4-tuple;
//  2. a binding on local's address and port;
//  3. a binding on the wildcard of local's family and the port;
//  4. a dual-stack IPv6 wildcard binding on the port.
//
// Only bindings that receive new flows count in 2–4: listening ones for
// TCP, bound ones for UDP. It returns nil if nothing matches, and does not
// allocate.
func (m *Manager) Lookup(proto Protocol, local, remote netip.AddrPort) any {
	if b := m.LookupBinding(proto, local, remote); b != nil {
		return b.ep
	}
	return nil
}

// LookupBinding is Lookup returning the Binding itself.
func (m *Manager) LookupBinding(proto Protocol, local, remote netip.AddrPort) *Binding {
	sp := m.spaces[proto]
	if sp == nil {
		return nil
	}
	la := local.Addr().Unmap()
	port := local.Port()
	local = netip.AddrPortFrom(la, port)
	if ra := remote.Addr(); ra.IsValid() {
		remote = netip.AddrPortFrom(ra.Unmap(), remote.Port())
		if b := sp.conns[tuple{local, remote}]; b != nil {
			return b
		}
	}
	if len(sp.listens) == 0 {
		return nil
	}
	if g := sp.listens[local]; g != nil {
		return g.pick(m, proto, local, remote)
	}
	wild := netip.IPv4Unspecified()
	if la.Is6() {
		wild = netip.IPv6Unspecified()
	}
	if la != wild {
		if g := sp.listens[netip.AddrPortFrom(wild, port)]; g != nil {
			return g.pick(m, proto, local, remote)
		}
	}
	if g := sp.listens[netip.AddrPortFrom(dualAddr, port)]; g != nil {
		return g.pick(m, proto, local, remote)
	}
	return nil
}

// LookupAll calls fn with the endpoint of every binding that would accept a
// datagram arriving at local from remote, such as a broadcast or multicast
// datagram, which every matching UDP socket receives (RFC 1122 §4.1.3.5 hands
// the choice to the application; Linux delivers to all, as here). Connected
// bindings match only their own peer. Order is stable but unspecified; fn
// returns false to stop.
func (m *Manager) LookupAll(proto Protocol, local, remote netip.AddrPort, fn func(any) bool) {
	sp := m.spaces[proto]
	if sp == nil {
		return
	}
	bk := sp.ports.get(local.Port())
	if bk == nil {
		return
	}
	la := local.Addr().Unmap()
	local = netip.AddrPortFrom(la, local.Port())
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	for _, b := range bk.members {
		switch {
		case b.remote.IsValid():
			if b.state != Connected || b.local != local || b.remote != remote {
				continue
			}
		case b.inListen:
			if !overlap(b.local.Addr(), b.opts.V6Only, la, false) {
				continue
			}
		default:
			continue
		}
		if !fn(b.ep) {
			return
		}
	}
}
