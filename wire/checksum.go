package wire

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Sum returns the Internet checksum's ones'-complement sum of b (RFC 1071),
// added to initial, folded to 16 bits and NOT complemented.
//
// b is read as big-endian 16-bit words; an odd trailing byte is padded with
// a zero byte on the right. initial is 0 or an earlier Sum, so a checksum
// over several buffers is Sum(c, Sum(b, Sum(a, 0))) — provided every buffer
// but the last has even length: the sum is taken over 16-bit words, and a
// buffer of odd length would pad its last byte where the next buffer's first
// byte belongs. Join such buffers first, or split them at even offsets.
//
// The result is never 0 unless every byte and initial are 0 (ones'
// complement addition of non-zero values never gives +0), so 0xffff, not 0,
// stands for "the sum is zero" in a message that verifies.
func Sum(b []byte, initial uint16) uint16 {
	// Sum 32-bit words into four 64-bit accumulators: no carry chain ties the
	// additions together, so the CPU runs them in parallel, and the carries
	// pile up in the upper 32 bits to be folded in once at the end
	// (RFC 1071 §2(C), deferred carries). Each accumulator can take 2^32
	// words before it could overflow, so very large buffers go in chunks.
	//
	// The words are loaded little-endian, which is the native order on the
	// machines we care about and lets the compiler use plain loads. By
	// RFC 1071 §2(B) (byte order independence) the sum of byte-swapped words
	// is the byte-swapped sum, so we swap initial in and the result out.
	return bits.ReverseBytes16(sumLE(b, bits.ReverseBytes16(initial)))
}

// maxChunk bounds one call of sumLE: 4 accumulators × 2^32 words × 4 bytes
// would overflow, 1 GiB is far below that. It must be even (see Sum). A
// variable so that a test can exercise the chunking with small buffers.
var maxChunk = 1 << 30

// sumLE is Sum in little-endian word order: initial and result are swapped.
func sumLE(b []byte, initial uint16) uint16 {
	for len(b) > maxChunk {
		initial = sumLE(b[:maxChunk], initial)
		b = b[maxChunk:]
	}
	a0 := uint64(initial)
	var a1, a2, a3 uint64
	n := len(b) &^ 127
	for i := 0; i < n; i += 128 {
		x := b[i : i+128 : i+128]
		a0 += uint64(binary.LittleEndian.Uint32(x[0:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[4:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[8:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[12:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[16:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[20:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[24:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[28:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[32:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[36:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[40:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[44:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[48:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[52:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[56:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[60:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[64:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[68:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[72:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[76:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[80:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[84:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[88:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[92:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[96:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[100:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[104:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[108:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[112:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[116:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[120:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[124:]))
	}
	b = b[n:]
	if len(b) >= 64 {
		x := b[:64:64]
		a0 += uint64(binary.LittleEndian.Uint32(x[0:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[4:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[8:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[12:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[16:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[20:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[24:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[28:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[32:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[36:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[40:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[44:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[48:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[52:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[56:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[60:]))
		b = b[64:]
	}
	if len(b) >= 32 {
		x := b[:32:32]
		a0 += uint64(binary.LittleEndian.Uint32(x[0:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[4:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[8:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[12:]))
		a0 += uint64(binary.LittleEndian.Uint32(x[16:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[20:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[24:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[28:]))
		b = b[32:]
	}
	if len(b) >= 16 {
		x := b[:16:16]
		a0 += uint64(binary.LittleEndian.Uint32(x[0:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[4:]))
		a2 += uint64(binary.LittleEndian.Uint32(x[8:]))
		a3 += uint64(binary.LittleEndian.Uint32(x[12:]))
		b = b[16:]
	}
	if len(b) >= 8 {
		x := b[:8:8]
		a0 += uint64(binary.LittleEndian.Uint32(x[0:]))
		a1 += uint64(binary.LittleEndian.Uint32(x[4:]))
		b = b[8:]
	}
	if len(b) >= 4 {
		a2 += uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		a3 += uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		// The pad byte goes on the right of the big-endian word: in
		// little-endian order the lone byte is the low byte.
		a0 += uint64(b[0])
	}
	return fold(a0 + a1 + a2 + a3)
}

// fold reduces a 64-bit sum to 16 bits with end-around carries.
func fold(s uint64) uint16 {
	lo, c := bits.Add32(uint32(s), uint32(s>>32), 0)
	lo += c // cannot carry again: lo <= 0xfffffffe when c == 1
	x := lo>>16 + lo&0xffff
	x = x>>16 + x&0xffff
	return uint16(x)
}

// Checksum returns the Internet checksum of b: the ones' complement of
// Sum(b, 0). Writing it into a zeroed checksum field makes Sum over the
// whole message 0xffff.
func Checksum(b []byte) uint16 {
	return ^Sum(b, 0)
}

// add16 is ones'-complement addition of two 16-bit values.
func add16(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}

// PseudoHeaderSum returns the Sum of the pseudo-header that TCP and UDP
// checksums cover, for either family: the IPv4 one (RFC 9293 §3.1, RFC 768:
// source, destination, zero, protocol, 16-bit length) when both addresses
// are IPv4 (not IPv4-mapped IPv6), the IPv6 one of PseudoHeaderSumIPv6
// otherwise. length is the TCP or UDP length: header plus data.
//
// The family is chosen by the addresses, so the TCP and UDP checksum
// functions serve both without a parameter of their own.
func PseudoHeaderSum(proto uint8, src, dst netip.Addr, length int) uint16 {
	if src.Is4() && dst.Is4() {
		a, b := src.As4(), dst.As4()
		return fold(uint64(binary.BigEndian.Uint32(a[:])) + uint64(binary.BigEndian.Uint32(b[:])) +
			uint64(proto) + uint64(uint16(length)))
	}
	return PseudoHeaderSumIPv6(proto, src, dst, length)
}

// PseudoHeaderSumIPv6 returns the Sum of the IPv6 pseudo-header (RFC 8200
// §8.1) that the TCP, UDP and ICMPv6 (RFC 4443 §2.3) checksums cover:
//
//	source address (16 bytes), destination address (16 bytes),
//	upper-layer packet length (32 bits), three zero bytes, next header
//
// next is the upper-layer protocol (ProtoTCP, ProtoUDP, ProtoICMPv6), not
// the Next Header of the fixed header when extension headers come between;
// length is the upper-layer packet's, without those headers. The
// destination is the final one: RFC 8200 §8.1 takes the last address of a
// Routing header, which a host that forwards no source routes never sees
// with Segments Left non-zero. Addresses are used in their 16-byte form, so
// an IPv4 address counts as IPv4-mapped.
func PseudoHeaderSumIPv6(next uint8, src, dst netip.Addr, length int) uint16 {
	a, b := src.As16(), dst.As16()
	s := uint64(binary.BigEndian.Uint32(a[0:])) + uint64(binary.BigEndian.Uint32(a[4:])) +
		uint64(binary.BigEndian.Uint32(a[8:])) + uint64(binary.BigEndian.Uint32(a[12:])) +
		uint64(binary.BigEndian.Uint32(b[0:])) + uint64(binary.BigEndian.Uint32(b[4:])) +
		uint64(binary.BigEndian.Uint32(b[8:])) + uint64(binary.BigEndian.Uint32(b[12:]))
	return fold(s + uint64(next) + uint64(uint32(length)))
}

// UpdateChecksum16 returns the checksum field check after a 16-bit word of
// the covered data changed from old to new, without summing the data again:
// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'). Unlike eqn. 2 it never turns a
// correct checksum into the -0 form (RFC 1624 §3).
func UpdateChecksum16(check, old, new uint16) uint16 {
	return ^add16(add16(^check, ^old), new)
}

// UpdateChecksum32 is UpdateChecksum16 for a 32-bit field on a 16-bit
// boundary, such as an IPv4 address or a TCP sequence number.
func UpdateChecksum32(check uint16, old, new uint32) uint16 {
	s := add16(^check, ^uint16(old>>16))
	s = add16(s, ^uint16(old))
	s = add16(s, uint16(new>>16))
	s = add16(s, uint16(new))
	return ^s
}
