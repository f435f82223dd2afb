package wire

import (
	"encoding/binary"
	"net/netip"
)

// UDPHeaderLen is the length of the UDP header (RFC 768).
const UDPHeaderLen = 8

// UDP is a view of a UDP datagram (RFC 768):
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
//	|          data octets ...
type UDP []byte

// NewUDP checks that b holds a UDP header whose Length field is at least 8
// and at most len(b), and returns a view cut to Length: bytes past it are
// not the datagram's (RFC 768: Length covers header and data).
func NewUDP(b []byte) (UDP, error) {
	if len(b) < UDPHeaderLen {
		return nil, ErrTruncated
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	if n < UDPHeaderLen {
		return nil, ErrBadLength
	}
	if n > len(b) {
		return nil, ErrTruncated
	}
	return UDP(b[:n]), nil
}

// SrcPort returns the source port.
func (v UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(v[0:]) }

// DstPort returns the destination port.
func (v UDP) DstPort() uint16 { return binary.BigEndian.Uint16(v[2:]) }

// Length returns the Length field: header plus data, in bytes.
func (v UDP) Length() int { return int(binary.BigEndian.Uint16(v[4:])) }

// Checksum returns the Checksum field.
func (v UDP) Checksum() uint16 { return binary.BigEndian.Uint16(v[6:]) }

// Payload returns the data after the header. It aliases the view.
func (v UDP) Payload() []byte { return v[UDPHeaderLen:] }

// SetSrcPort sets the source port.
func (v UDP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(v[0:], p) }

// SetDstPort sets the destination port.
func (v UDP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(v[2:], p) }

// SetLength sets the Length field; it does not resize the view.
func (v UDP) SetLength(n int) { binary.BigEndian.PutUint16(v[4:], uint16(n)) }

// SetChecksum sets the Checksum field.
func (v UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v[6:], c) }

// ChecksumValid reports whether the checksum verifies over the pseudo-header
// of src and dst, the header and the data. A zero checksum means the sender
// computed none (RFC 768), which is valid over IPv4 only: IPv6 makes the
// checksum mandatory (RFC 8200 §8.1).
func (v UDP) ChecksumValid(src, dst netip.Addr) bool {
	if v.Checksum() == 0 {
		return src.Is4() && dst.Is4()
	}
	return Sum(v, PseudoHeaderSum(ProtoUDP, src, dst, len(v))) == 0xffff
}

// UDPRepr is a UDP header as plain values; Length and Checksum are derived
// when emitting.
type UDPRepr struct {
	SrcPort, DstPort uint16
}

// ParseUDP reads v into a Repr. The checksum is not verified (see
// ChecksumValid).
func ParseUDP(v UDP) UDPRepr {
	return UDPRepr{SrcPort: v.SrcPort(), DstPort: v.DstPort()}
}

// Emit writes the 8-byte header into b[:8] for a payload of payloadLen
// bytes that is already in place at b[8:8+payloadLen], and computes the
// checksum over the pseudo-header of src and dst (IPv4 or IPv6, chosen by
// their family, see PseudoHeaderSum), header and payload. A computed
// checksum of zero is sent as 0xffff, since zero means "no checksum"
// (RFC 768; RFC 8200 §8.1 for IPv6). It panics if b is shorter than 8+payloadLen or the
// datagram would exceed 65535 bytes.
func (r UDPRepr) Emit(b []byte, payloadLen int, src, dst netip.Addr) {
	n := UDPHeaderLen + payloadLen
	if payloadLen < 0 || n > 0xffff {
		panic("wire: UDP length out of range")
	}
	v := UDP(b[:n])
	v.SetSrcPort(r.SrcPort)
	v.SetDstPort(r.DstPort)
	v.SetLength(n)
	v.SetChecksum(0)
	c := ^Sum(v, PseudoHeaderSum(ProtoUDP, src, dst, n))
	if c == 0 {
		c = 0xffff
	}
	v.SetChecksum(c)
}
