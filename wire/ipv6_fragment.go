package wire

import (
	"encoding/binary"
	"fmt"
)

// IPv6FragmentHeaderLen is the length of the Fragment header
// (RFC 8200 §4.5); it has no length field.
const IPv6FragmentHeaderLen = 8

// ipv6FragOffMask keeps the 13-bit Fragment Offset of the header's second
// word, which counts 8-byte units: masked, the word is the offset in bytes.
const ipv6FragOffMask = 0xfff8

// IPv6Fragment is a view of an IPv6 Fragment header (RFC 8200 §4.5):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Identification                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Next Header names the first header of the fragmentable part, which
// follows the Fragment header in the first fragment only.
type IPv6Fragment []byte

// NewIPv6Fragment checks that b holds the 8 bytes of a Fragment header and
// returns a view of exactly them.
func NewIPv6Fragment(b []byte) (IPv6Fragment, error) {
	if len(b) < IPv6FragmentHeaderLen {
		return nil, ErrTruncated
	}
	return IPv6Fragment(b[:IPv6FragmentHeaderLen]), nil
}

// NextHeader returns the type of the header that starts the fragmentable
// part.
func (v IPv6Fragment) NextHeader() uint8 { return v[0] }

// FragmentOffset returns the fragment's offset in the fragmentable part of
// the original packet, in bytes (the field counts 8-byte units).
func (v IPv6Fragment) FragmentOffset() int {
	return int(binary.BigEndian.Uint16(v[2:]) & ipv6FragOffMask)
}

// MoreFragments reports the M flag: more fragments follow.
func (v IPv6Fragment) MoreFragments() bool { return v[3]&1 != 0 }

// ID returns the Identification field.
func (v IPv6Fragment) ID() uint32 { return binary.BigEndian.Uint32(v[4:]) }

// SetNextHeader sets the Next Header field.
func (v IPv6Fragment) SetNextHeader(p uint8) { v[0] = p }

// SetFragment sets the fragment offset, given in bytes, and the M flag, and
// clears the reserved bits between them. It panics if offsetBytes is
// negative, not a multiple of 8, or past the 13-bit field: RFC 8200 §4.5
// cuts fragments at 8-byte boundaries.
func (v IPv6Fragment) SetFragment(offsetBytes int, more bool) {
	if offsetBytes < 0 || offsetBytes&^ipv6FragOffMask != 0 {
		panic(fmt.Sprintf("wire: bad IPv6 fragment offset %d", offsetBytes))
	}
	w := uint16(offsetBytes)
	if more {
		w |= 1
	}
	binary.BigEndian.PutUint16(v[2:], w)
}

// SetID sets the Identification field.
func (v IPv6Fragment) SetID(id uint32) { binary.BigEndian.PutUint32(v[4:], id) }

// IPv6FragmentRepr is a Fragment header as plain values. The reserved
// fields are neither parsed nor emitted: RFC 8200 §4.5 has them sent as
// zero and ignored on reception. It is comparable.
type IPv6FragmentRepr struct {
	NextHeader     uint8
	FragmentOffset int // in bytes, a multiple of 8
	MoreFragments  bool
	ID             uint32
}

// ParseIPv6Fragment reads v into a Repr.
func ParseIPv6Fragment(v IPv6Fragment) IPv6FragmentRepr {
	return IPv6FragmentRepr{
		NextHeader:     v.NextHeader(),
		FragmentOffset: v.FragmentOffset(),
		MoreFragments:  v.MoreFragments(),
		ID:             v.ID(),
	}
}

// Emit writes the 8-byte header into b. It panics if b is shorter or
// FragmentOffset is not a multiple of 8 that fits the field.
func (r *IPv6FragmentRepr) Emit(b []byte) {
	v := IPv6Fragment(b[:IPv6FragmentHeaderLen])
	v[0], v[1] = r.NextHeader, 0
	v.SetFragment(r.FragmentOffset, r.MoreFragments)
	v.SetID(r.ID)
}

// String formats the header for logs, e.g. "frag id 0x1234 off 1448 M next 17".
func (r IPv6FragmentRepr) String() string {
	s := fmt.Sprintf("frag id %#x off %d", r.ID, r.FragmentOffset)
	if r.MoreFragments {
		s += " M"
	}
	return s + fmt.Sprintf(" next %d", r.NextHeader)
}
