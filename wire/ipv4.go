package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IP protocol numbers (the IPv4 Protocol and IPv6 Next Header fields, IANA
// "Assigned Internet Protocol Numbers"); ipv6.go adds those of IPv6.
const (
	ProtoICMP uint8 = 1
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
)

// IPv4MinHeaderLen is the length of an IPv4 header without options
// (RFC 791 §3.1, IHL = 5).
const IPv4MinHeaderLen = 20

// IPv4MaxHeaderLen is the longest IPv4 header: IHL = 15.
const IPv4MaxHeaderLen = 60

// Bits of the IPv4 flags and fragment offset word (RFC 791 §3.1).
const (
	ipv4FlagReserved = 0x8000 // must be zero; not interpreted
	ipv4FlagDF       = 0x4000
	ipv4FlagMF       = 0x2000
	ipv4FragOffMask  = 0x1fff // in units of 8 bytes
)

// IPv4 is a view of an IPv4 header and its payload (RFC 791 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Obtain one from untrusted bytes only through NewIPv4 or NewQuotedIPv4;
// then no accessor panics. Setters write the header in place and do not
// update the checksum: call UpdateChecksum, or patch the checksum with
// UpdateChecksum16/UpdateChecksum32.
type IPv4 []byte

// NewIPv4 checks that b starts with a well-formed IPv4 header and returns a
// view of the datagram, cut to its Total Length: bytes after it are link
// padding (an Ethernet frame carries at least 46 bytes), not payload.
//
// It checks what RFC 1122 §3.2.1.1–3.2.1.2 asks a host to check before
// anything else is read, and the lengths a view relies on: version 4,
// IHL >= 5, IHL*4 <= Total Length <= len(b). It does not verify the header
// checksum (see ChecksumValid), addresses, or options.
func NewIPv4(b []byte) (IPv4, error) {
	v, err := checkIPv4Header(b)
	if err != nil {
		return nil, err
	}
	tl := v.TotalLen()
	if tl > len(b) {
		return nil, ErrTruncated
	}
	return v[:tl], nil
}

// NewQuotedIPv4 is NewIPv4 for the datagram quoted in an ICMP error
// message: the quote usually holds only the header and the first 8 bytes of
// data (RFC 792), so Total Length may exceed len(b). The header itself must
// be complete. The view is cut to Total Length when that is shorter than b.
// Payload returns the quoted bytes after the header, however few.
func NewQuotedIPv4(b []byte) (IPv4, error) {
	v, err := checkIPv4Header(b)
	if err != nil {
		return nil, err
	}
	return v[:min(v.TotalLen(), len(b))], nil
}

// checkIPv4Header checks everything NewIPv4 and NewQuotedIPv4 share:
// after it, HeaderLen() <= len(v) and HeaderLen() <= TotalLen().
func checkIPv4Header(b []byte) (IPv4, error) {
	if len(b) < IPv4MinHeaderLen {
		return nil, ErrTruncated
	}
	v := IPv4(b)
	if b[0]>>4 != 4 {
		return nil, ErrBadVersion
	}
	hl := v.HeaderLen()
	if hl < IPv4MinHeaderLen {
		return nil, ErrBadHeaderLen
	}
	if hl > len(b) {
		return nil, ErrTruncated
	}
	if v.TotalLen() < hl {
		return nil, ErrBadLength
	}
	return v, nil
}

// HeaderLen returns the header length in bytes (IHL*4), options included.
func (v IPv4) HeaderLen() int { return int(v[0]&0x0f) * 4 }

// TOS returns the Type of Service byte: DSCP and ECN (RFC 2474, RFC 3168).
func (v IPv4) TOS() uint8 { return v[1] }

// TotalLen returns the Total Length field: header plus data, in bytes.
func (v IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(v[2:])) }

// ID returns the Identification field.
func (v IPv4) ID() uint16 { return binary.BigEndian.Uint16(v[4:]) }

// DontFragment reports the DF flag.
func (v IPv4) DontFragment() bool { return binary.BigEndian.Uint16(v[6:])&ipv4FlagDF != 0 }

// MoreFragments reports the MF flag.
func (v IPv4) MoreFragments() bool { return binary.BigEndian.Uint16(v[6:])&ipv4FlagMF != 0 }

// FragmentOffset returns the fragment's offset in the original datagram's
// data, in bytes (the field counts 8-byte units).
func (v IPv4) FragmentOffset() int {
	return int(binary.BigEndian.Uint16(v[6:])&ipv4FragOffMask) * 8
}

// TTL returns the Time to Live.
func (v IPv4) TTL() uint8 { return v[8] }

// Protocol returns the protocol of the payload (ProtoTCP, ...).
func (v IPv4) Protocol() uint8 { return v[9] }

// Checksum returns the Header Checksum field.
func (v IPv4) Checksum() uint16 { return binary.BigEndian.Uint16(v[10:]) }

// Src returns the source address.
func (v IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(v[12:16])) }

// Dst returns the destination address.
func (v IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(v[16:20])) }

// Options returns the options and padding: the header bytes after the
// first 20. They alias the view.
func (v IPv4) Options() []byte { return v[IPv4MinHeaderLen:v.HeaderLen()] }

// Payload returns the bytes after the header. They alias the view.
func (v IPv4) Payload() []byte { return v[v.HeaderLen():] }

// ChecksumValid reports whether the header checksum verifies: the sum over
// the header, checksum field included, is all ones (RFC 1071 §1).
func (v IPv4) ChecksumValid() bool { return Sum(v[:v.HeaderLen()], 0) == 0xffff }

// SetTOS sets the Type of Service byte.
func (v IPv4) SetTOS(tos uint8) { v[1] = tos }

// SetTotalLen sets the Total Length field; it does not resize the view.
func (v IPv4) SetTotalLen(n int) { binary.BigEndian.PutUint16(v[2:], uint16(n)) }

// SetID sets the Identification field.
func (v IPv4) SetID(id uint16) { binary.BigEndian.PutUint16(v[4:], id) }

// SetFragment sets the DF and MF flags and the fragment offset, given in
// bytes. It panics if offsetBytes is negative, not a multiple of 8, or past
// the 13-bit field: fragmentation code must cut at 8-byte boundaries
// (RFC 791 §3.2).
func (v IPv4) SetFragment(df, mf bool, offsetBytes int) {
	if offsetBytes < 0 || offsetBytes%8 != 0 || offsetBytes/8 > ipv4FragOffMask {
		panic(fmt.Sprintf("wire: bad IPv4 fragment offset %d", offsetBytes))
	}
	binary.BigEndian.PutUint16(v[6:], fragWord(df, mf, offsetBytes))
}

func fragWord(df, mf bool, offsetBytes int) uint16 {
	w := uint16(offsetBytes / 8)
	if df {
		w |= ipv4FlagDF
	}
	if mf {
		w |= ipv4FlagMF
	}
	return w
}

// SetTTL sets the Time to Live.
func (v IPv4) SetTTL(ttl uint8) { v[8] = ttl }

// SetProtocol sets the Protocol field.
func (v IPv4) SetProtocol(p uint8) { v[9] = p }

// SetChecksum sets the Header Checksum field.
func (v IPv4) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v[10:], c) }

// SetSrc sets the source address; it panics unless a is an IPv4 address.
func (v IPv4) SetSrc(a netip.Addr) { b := a.As4(); copy(v[12:16], b[:]) }

// SetDst sets the destination address; it panics unless a is an IPv4
// address.
func (v IPv4) SetDst(a netip.Addr) { b := a.As4(); copy(v[16:20], b[:]) }

// UpdateChecksum recomputes the header checksum over the header as it is.
func (v IPv4) UpdateChecksum() {
	v.SetChecksum(0)
	v.SetChecksum(Checksum(v[:v.HeaderLen()]))
}

// IPv4Repr is an IPv4 header as plain values. Total Length, IHL and the
// checksum are derived when emitting; options are carried as bytes, not
// interpreted. It is comparable.
type IPv4Repr struct {
	TOS            uint8
	ID             uint16
	DontFragment   bool
	MoreFragments  bool
	FragmentOffset int // in bytes, a multiple of 8
	TTL            uint8
	Protocol       uint8
	Src, Dst       netip.Addr
	Options        [40]byte
	OptionsLen     uint8 // bytes used in Options; emitted zero-padded to a multiple of 4
	PayloadLen     int   // Total Length minus header length
}

// ParseIPv4 reads v into a Repr. PayloadLen comes from Total Length, so for
// a view from NewQuotedIPv4 it is the original datagram's, not what the
// quote holds. The header checksum is not verified.
func ParseIPv4(v IPv4) IPv4Repr {
	r := IPv4Repr{
		TOS:            v.TOS(),
		ID:             v.ID(),
		DontFragment:   v.DontFragment(),
		MoreFragments:  v.MoreFragments(),
		FragmentOffset: v.FragmentOffset(),
		TTL:            v.TTL(),
		Protocol:       v.Protocol(),
		Src:            v.Src(),
		Dst:            v.Dst(),
		PayloadLen:     v.TotalLen() - v.HeaderLen(),
	}
	r.OptionsLen = uint8(copy(r.Options[:], v.Options()))
	return r
}

// HeaderLen returns the length of the header Emit writes: 20 bytes plus the
// options padded to a multiple of 4.
func (r *IPv4Repr) HeaderLen() int {
	return IPv4MinHeaderLen + (int(r.OptionsLen)+3)&^3
}

// Emit writes exactly HeaderLen() bytes of header into b, with Total
// Length = HeaderLen()+PayloadLen and a correct checksum. Options are
// padded with zero bytes (End of Option List, RFC 791 §3.1). It panics if
// b is too short, OptionsLen exceeds 40, Src or Dst is not IPv4, the total
// length exceeds 65535, or FragmentOffset is not a multiple of 8 that fits
// the field: all are mistakes of the caller, never of received data.
func (r *IPv4Repr) Emit(b []byte) {
	if r.OptionsLen > 40 {
		panic(fmt.Sprintf("wire: IPv4 options length %d > 40", r.OptionsLen))
	}
	hl := r.HeaderLen()
	tl := hl + r.PayloadLen
	if r.PayloadLen < 0 || tl > 0xffff {
		panic(fmt.Sprintf("wire: IPv4 total length %d out of range", tl))
	}
	v := IPv4(b[:hl])
	v[0] = 4<<4 | uint8(hl/4)
	v[1] = r.TOS
	v.SetTotalLen(tl)
	v.SetID(r.ID)
	v.SetFragment(r.DontFragment, r.MoreFragments, r.FragmentOffset)
	v[8] = r.TTL
	v[9] = r.Protocol
	v.SetSrc(r.Src)
	v.SetDst(r.Dst)
	opts := v[IPv4MinHeaderLen:hl]
	n := copy(opts, r.Options[:r.OptionsLen])
	clear(opts[n:])
	v.UpdateChecksum()
}

// String formats the header for logs and test failures, e.g.
// "198.18.0.1 > 198.18.0.2 proto 6 ttl 64 id 7 DF len 40".
func (r IPv4Repr) String() string {
	s := fmt.Sprintf("%v > %v proto %d ttl %d id %d", r.Src, r.Dst, r.Protocol, r.TTL, r.ID)
	if r.DontFragment {
		s += " DF"
	}
	if r.MoreFragments {
		s += " MF"
	}
	if r.FragmentOffset != 0 {
		s += fmt.Sprintf(" off %d", r.FragmentOffset)
	}
	if r.OptionsLen != 0 {
		s += fmt.Sprintf(" opts %x", r.Options[:r.OptionsLen])
	}
	return s + fmt.Sprintf(" len %d", r.HeaderLen()+r.PayloadLen)
}
