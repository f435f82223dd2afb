package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv6 Next Header values (the same IANA numbers as ProtoTCP, ...) of the
// extension headers RFC 8200 §4 defines, of IPsec's two (RFC 4303, RFC
// 4302), and of ICMPv6 (RFC 4443).
const (
	ProtoHopByHop     uint8 = 0
	ProtoRouting      uint8 = 43
	ProtoFragment     uint8 = 44
	ProtoESP          uint8 = 50
	ProtoAH           uint8 = 51
	ProtoICMPv6       uint8 = 58
	ProtoNoNextHeader uint8 = 59
	ProtoDstOpts      uint8 = 60
)

// IPv6HeaderLen is the length of the fixed IPv6 header (RFC 8200 §3).
const IPv6HeaderLen = 40

// IPv6MinMTU is the smallest MTU an IPv6 link may have (RFC 8200 §5). An
// ICMPv6 error quotes no more than fits a packet of this size (RFC 4443
// §2.4(c)).
const IPv6MinMTU = 1280

// IPv6 is a view of an IPv6 fixed header and its payload (RFC 8200 §3):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                         Source Address                        +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                      Destination Address                      +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The payload holds the extension headers, if any, then the upper-layer
// data; Transport walks them. There is no header checksum: the upper
// layers cover the addresses with their pseudo-header (RFC 8200 §8.1).
//
// Obtain one from untrusted bytes only through NewIPv6 or NewQuotedIPv6;
// then no accessor panics.
type IPv6 []byte

// NewIPv6 checks that b starts with an IPv6 header and returns a view of
// the packet cut to 40 + Payload Length: bytes after it are link padding.
//
// It checks the version (6) and the lengths a view relies on: at least 40
// bytes, and 40 + Payload Length <= len(b). A Payload Length of 0 is an
// empty payload. (A jumbogram, RFC 2675, says 0 and carries its length in a
// Hop-by-Hop option; berth does not support them, and Transport rejects one
// as truncated, since its Hop-by-Hop header lies outside a payload of 0.)
// Addresses and extension headers are not checked here.
func NewIPv6(b []byte) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, ErrTruncated
	}
	v := IPv6(b)
	if b[0]>>4 != 6 {
		return nil, ErrBadVersion
	}
	n := IPv6HeaderLen + v.PayloadLen()
	if n > len(b) {
		return nil, ErrTruncated
	}
	return v[:n], nil
}

// NewQuotedIPv6 is NewIPv6 for the packet quoted in an ICMPv6 error
// message, which holds as much of it as fits a minimum-MTU packet
// (RFC 4443 §2.4(c)), so 40 + Payload Length may exceed len(b). The fixed
// header itself must be complete. The view is cut to 40 + Payload Length
// when that is shorter than b.
func NewQuotedIPv6(b []byte) (IPv6, error) {
	if len(b) < IPv6HeaderLen {
		return nil, ErrTruncated
	}
	v := IPv6(b)
	if b[0]>>4 != 6 {
		return nil, ErrBadVersion
	}
	return v[:min(IPv6HeaderLen+v.PayloadLen(), len(b))], nil
}

// TrafficClass returns the Traffic Class byte: DSCP and ECN (RFC 2474,
// RFC 3168).
func (v IPv6) TrafficClass() uint8 { return uint8(binary.BigEndian.Uint16(v[0:]) >> 4) }

// FlowLabel returns the 20-bit Flow Label (RFC 6437).
func (v IPv6) FlowLabel() uint32 { return binary.BigEndian.Uint32(v[0:]) & 0xfffff }

// PayloadLen returns the Payload Length field: the bytes after the fixed
// header, extension headers included.
func (v IPv6) PayloadLen() int { return int(binary.BigEndian.Uint16(v[4:])) }

// NextHeader returns the type of the header after the fixed header: an
// extension header (ProtoHopByHop, ...) or an upper-layer protocol.
func (v IPv6) NextHeader() uint8 { return v[6] }

// HopLimit returns the Hop Limit.
func (v IPv6) HopLimit() uint8 { return v[7] }

// Src returns the source address.
func (v IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(v[8:24])) }

// Dst returns the destination address.
func (v IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(v[24:40])) }

// Payload returns the bytes after the fixed header, extension headers
// included. They alias the view.
func (v IPv6) Payload() []byte { return v[IPv6HeaderLen:] }

// SetTrafficClass sets the Traffic Class byte.
func (v IPv6) SetTrafficClass(tc uint8) {
	w := binary.BigEndian.Uint32(v[0:])
	binary.BigEndian.PutUint32(v[0:], w&^(0xff<<20)|uint32(tc)<<20)
}

// SetFlowLabel sets the Flow Label; it panics if fl does not fit 20 bits.
func (v IPv6) SetFlowLabel(fl uint32) {
	if fl > 0xfffff {
		panic(fmt.Sprintf("wire: IPv6 flow label %#x exceeds 20 bits", fl))
	}
	w := binary.BigEndian.Uint32(v[0:])
	binary.BigEndian.PutUint32(v[0:], w&^0xfffff|fl)
}

// SetPayloadLen sets the Payload Length field; it does not resize the view.
func (v IPv6) SetPayloadLen(n int) { binary.BigEndian.PutUint16(v[4:], uint16(n)) }

// SetNextHeader sets the Next Header field.
func (v IPv6) SetNextHeader(p uint8) { v[6] = p }

// SetHopLimit sets the Hop Limit.
func (v IPv6) SetHopLimit(h uint8) { v[7] = h }

// SetSrc sets the source address; it panics unless a is an IPv6 address
// (an IPv4-mapped one counts as IPv6; a zone is dropped).
func (v IPv6) SetSrc(a netip.Addr) { putAddr6(v[8:24], a) }

// SetDst sets the destination address, like SetSrc.
func (v IPv6) SetDst(a netip.Addr) { putAddr6(v[24:40], a) }

func putAddr6(b []byte, a netip.Addr) {
	if !a.Is6() {
		// As16 would write an IPv4 address as IPv4-mapped without a word:
		// a caller handing one to an IPv6 header has mixed up families.
		panic(fmt.Sprintf("wire: %v is not an IPv6 address", a))
	}
	s := a.As16()
	copy(b, s[:])
}

// IPv6Repr is an IPv6 fixed header as plain values; the version is
// implied. It is comparable.
type IPv6Repr struct {
	TrafficClass uint8
	FlowLabel    uint32 // 20 bits
	NextHeader   uint8
	HopLimit     uint8
	Src, Dst     netip.Addr
	PayloadLen   int // bytes after the fixed header, extension headers included
}

// ParseIPv6 reads v into a Repr. PayloadLen comes from the header, so for
// a view from NewQuotedIPv6 it is the original packet's, not what the quote
// holds.
func ParseIPv6(v IPv6) IPv6Repr {
	return IPv6Repr{
		TrafficClass: v.TrafficClass(),
		FlowLabel:    v.FlowLabel(),
		NextHeader:   v.NextHeader(),
		HopLimit:     v.HopLimit(),
		Src:          v.Src(),
		Dst:          v.Dst(),
		PayloadLen:   v.PayloadLen(),
	}
}

// HeaderLen returns the length of the header Emit writes: always 40. The
// extension headers, if any, are the caller's to write after it.
func (r *IPv6Repr) HeaderLen() int { return IPv6HeaderLen }

// Emit writes exactly 40 bytes of header into b. It panics if b is too
// short, FlowLabel exceeds 20 bits, PayloadLen is outside 0–65535, or Src
// or Dst is not an IPv6 address: all are mistakes of the caller, never of
// received data.
func (r *IPv6Repr) Emit(b []byte) {
	if r.PayloadLen < 0 || r.PayloadLen > 0xffff {
		panic(fmt.Sprintf("wire: IPv6 payload length %d out of range", r.PayloadLen))
	}
	if r.FlowLabel > 0xfffff {
		panic(fmt.Sprintf("wire: IPv6 flow label %#x exceeds 20 bits", r.FlowLabel))
	}
	v := IPv6(b[:IPv6HeaderLen])
	binary.BigEndian.PutUint32(v[0:], 6<<28|uint32(r.TrafficClass)<<20|r.FlowLabel)
	v.SetPayloadLen(r.PayloadLen)
	v[6] = r.NextHeader
	v[7] = r.HopLimit
	v.SetSrc(r.Src)
	v.SetDst(r.Dst)
}

// String formats the header for logs and test failures, e.g.
// "2001:2::1 > 2001:2::2 next 58 hlim 64 len 104"; a traffic class or flow
// label is shown when not zero ("tc 0xb8 flow 0x12345").
func (r IPv6Repr) String() string {
	s := fmt.Sprintf("%v > %v next %d hlim %d", r.Src, r.Dst, r.NextHeader, r.HopLimit)
	if r.TrafficClass != 0 {
		s += fmt.Sprintf(" tc %#02x", r.TrafficClass)
	}
	if r.FlowLabel != 0 {
		s += fmt.Sprintf(" flow %#05x", r.FlowLabel)
	}
	return s + fmt.Sprintf(" len %d", IPv6HeaderLen+r.PayloadLen)
}
