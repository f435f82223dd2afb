package port

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// sipHash5 is SipHash-2-4 (Aumasson and Bernstein, 2012) of the 40-byte
// message m0..m4 (each word little-endian), with key k0, k1. A keyed hash
// keeps RFC 6056's F() unpredictable to an off-path attacker (§3.3.4) and
// spreads SO_REUSEPORT flows without letting a peer aim at one member.
func sipHash5(k0, k1, m0, m1, m2, m3, m4 uint64) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	for _, m := range [...]uint64{m0, m1, m2, m3, m4, 40 << 56} {
		v3 ^= m
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
		v0 ^= m
	}
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

func addrWords(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// portHash is RFC 6056's F (low 32 bits) and G (high 32 bits) over the
// local address, remote address and remote port.
func (m *Manager) portHash(proto Protocol, laddr netip.Addr, remote netip.AddrPort) uint64 {
	l0, l1 := addrWords(laddr)
	r0, r1 := addrWords(remote.Addr())
	return sipHash5(m.k0, m.k1, l0, l1, r0, r1, uint64(remote.Port())|uint64(proto)<<16)
}

// flowHash hashes a whole 4-tuple for SO_REUSEPORT selection; bit 40 keeps
// its domain apart from portHash's.
func (m *Manager) flowHash(proto Protocol, local, remote netip.AddrPort) uint64 {
	l0, l1 := addrWords(local.Addr())
	r0, r1 := addrWords(remote.Addr())
	w := uint64(local.Port()) | uint64(remote.Port())<<16 | uint64(proto)<<32 | 1<<40
	return sipHash5(m.k0, m.k1, l0, l1, r0, r1, w)
}
