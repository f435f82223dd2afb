package port

import "net/netip"

// perturbSize is the length of RFC 6056 algorithm 4's table of counters
// (a power of two; Linux uses 2^16 entries, the RFC's example 10).
const perturbSize = 1024

// rangeLen is the number of ports in the ephemeral range.
func (m *Manager) rangeLen() uint32 {
	return uint32(m.cfg.EphemeralMax) - uint32(m.cfg.EphemeralMin) + 1
}

// pickUnconnected is RFC 6056 §3.3.1, algorithm 1 ("Simple Port
// Randomization"), for bind to port 0 and unconnected UDP: a random start,
// then step by one through the range. Only a port nobody holds is suitable
// (a wildcard bind on it must not conflict), and never a reserved one.
func (m *Manager) pickUnconnected(proto Protocol) (uint16, bool) {
	n := m.rangeLen()
	off := m.rng.Uint32N(n)
	sp := m.spaces[proto]
	for i := uint32(0); i < n; i++ {
		p := m.cfg.EphemeralMin + uint16((off+i)%n)
		if m.isReserved(p) {
			continue
		}
		if sp != nil && sp.ports.get(p) != nil {
			continue
		}
		return p, true
	}
	return 0, false
}

// pickConnected is RFC 6056 §3.3.4, algorithm 4 ("Double-Hash Port
// Selection"), as Linux's __inet_hash_connect implements it:
//
//	offset = F(local IP, remote IP, remote port, secret key)   (SipHash-2-4)
//	index  = G(same)                                            (other half)
//	port   = min + (offset + table[index] + i) % num_ephemeral
//
// Even offsets are tried first, then odd ones (Linux leaves odd ports to
// bind(0)). A port is suitable unless it is reserved, held by an explicit
// bind or a listener, or already carries this exact 4-tuple; so one local
// port serves many destinations. After a success the counter advances past
// the port plus a small random step, so the next port is hard to guess
// (Linux: max(i, random(8)*2) + 2).
func (m *Manager) pickConnected(proto Protocol, laddr netip.Addr, remote netip.AddrPort) (uint16, bool) {
	h := m.portHash(proto, laddr, remote)
	idx := (h >> 32) & (perturbSize - 1)
	n := m.rangeLen()
	off := (uint32(h) + m.perturb[idx]) % n
	off &^= 1
	sp := m.spaces[proto]
	for pass := 0; pass < 2; pass++ {
		for i := uint32(0); i < n; i += 2 {
			p := m.cfg.EphemeralMin + uint16((off+i)%n)
			if !m.connectSuitable(sp, p, laddr, remote) {
				continue
			}
			step := i
			if r := 2 * m.rng.Uint32N(8); r > step {
				step = r
			}
			m.perturb[idx] += step + 2
			return p, true
		}
		off++
		if n == 1 {
			break
		}
	}
	return 0, false
}

func (m *Manager) connectSuitable(sp *space, p uint16, laddr netip.Addr, remote netip.AddrPort) bool {
	if m.isReserved(p) {
		return false
	}
	if sp == nil {
		return true
	}
	bk := sp.ports.get(p)
	switch {
	case bk == nil:
		return true
	case bk.explicit > 0:
		return false
	case len(bk.members) <= 8:
		// Only connect's bindings are here, all connected: comparing a
		// few is cheaper than hashing the 4-tuple.
		for _, h := range bk.members {
			if h.remote == remote && h.local.Addr() == laddr {
				return false
			}
		}
		return true
	}
	return sp.conns[tuple{netip.AddrPortFrom(laddr, p), remote}] == nil
}
