package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ICMPv6HeaderLen is the length of the ICMPv6 header berth reads: type,
// code, checksum (RFC 4443 §2.1) and the 4 bytes every message it parses
// has next. Error messages have exactly these 4 bytes of type-specific data
// before the quoted packet (RFC 4443 Appendix A, item 4, as corrected), so
// the quote of an error of unknown type is found as well.
const ICMPv6HeaderLen = 8

// ICMPv6 message types. Types 0–127 are errors, 128–255 informational
// (RFC 4443 §2.1).
const (
	ICMPv6DestUnreachable uint8 = 1   // RFC 4443 §3.1
	ICMPv6PacketTooBig    uint8 = 2   // RFC 4443 §3.2
	ICMPv6TimeExceeded    uint8 = 3   // RFC 4443 §3.3
	ICMPv6ParamProblem    uint8 = 4   // RFC 4443 §3.4
	ICMPv6EchoRequest     uint8 = 128 // RFC 4443 §4.1
	ICMPv6EchoReply       uint8 = 129 // RFC 4443 §4.2
)

// Multicast Listener Discovery message types (RFC 2710 §3, RFC 3810 §5).
// berth parses none of them; the constants let the IP layer count them.
const (
	ICMPv6MLDQuery    uint8 = 130
	ICMPv6MLDReport   uint8 = 131
	ICMPv6MLDDone     uint8 = 132
	ICMPv6MLDv2Report uint8 = 143
)

// Neighbor Discovery message types (RFC 4861 §4). berth parses none of
// them yet; the constants let the IP layer recognise them.
const (
	ICMPv6RouterSolicitation    uint8 = 133
	ICMPv6RouterAdvertisement   uint8 = 134
	ICMPv6NeighborSolicitation  uint8 = 135
	ICMPv6NeighborAdvertisement uint8 = 136
	ICMPv6Redirect              uint8 = 137
)

// Destination Unreachable codes (RFC 4443 §3.1).
const (
	ICMPv6NoRoute             uint8 = 0 // no route to destination
	ICMPv6AdminProhibited     uint8 = 1 // communication administratively prohibited
	ICMPv6BeyondScope         uint8 = 2 // beyond scope of source address
	ICMPv6AddrUnreachable     uint8 = 3 // address unreachable
	ICMPv6PortUnreachable     uint8 = 4 // port unreachable
	ICMPv6SrcAddrFailedPolicy uint8 = 5 // source address failed ingress/egress policy
	ICMPv6RejectRoute         uint8 = 6 // reject route to destination
)

// Time Exceeded codes (RFC 4443 §3.3).
const (
	ICMPv6HopLimitExceeded       uint8 = 0 // hop limit exceeded in transit
	ICMPv6ReassemblyTimeExceeded uint8 = 1 // fragment reassembly time exceeded
)

// Parameter Problem codes: 0–2 from RFC 4443 §3.4, 3 from RFC 7112 §5.
const (
	ICMPv6ParamHeaderField     uint8 = 0 // erroneous header field encountered
	ICMPv6ParamNextHeader      uint8 = 1 // unrecognized Next Header type encountered
	ICMPv6ParamOption          uint8 = 2 // unrecognized IPv6 option encountered
	ICMPv6ParamIncompleteChain uint8 = 3 // first fragment has incomplete header chain
)

// ICMPv6 is a view of an ICMPv6 message (RFC 4443 §2.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    depends on the type: identifier + sequence number (echo),  |
//	|    MTU (packet too big), pointer (parameter problem),         |
//	|    unused (other errors)                                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  echo data, or as much of the invoking packet as fits 1280 ...|
//
// The checksum covers an IPv6 pseudo-header (RFC 4443 §2.3), so the
// methods that compute or verify it take the addresses. The accessors for
// type-specific fields read their bytes whatever the type; it is the
// caller's business to ask the right ones.
type ICMPv6 []byte

// NewICMPv6 checks that b holds at least the 8-byte header. The view covers
// all of b: the IP layer has already cut b to the upper-layer packet.
func NewICMPv6(b []byte) (ICMPv6, error) {
	if len(b) < ICMPv6HeaderLen {
		return nil, ErrTruncated
	}
	return ICMPv6(b), nil
}

// Type returns the message type.
func (v ICMPv6) Type() uint8 { return v[0] }

// Code returns the message code.
func (v ICMPv6) Code() uint8 { return v[1] }

// Checksum returns the Checksum field.
func (v ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(v[2:]) }

// ID returns the identifier of an echo request or reply.
func (v ICMPv6) ID() uint16 { return binary.BigEndian.Uint16(v[4:]) }

// Seq returns the sequence number of an echo request or reply.
func (v ICMPv6) Seq() uint16 { return binary.BigEndian.Uint16(v[6:]) }

// MTU returns the MTU of a Packet Too Big message: that of the next-hop
// link (RFC 4443 §3.2).
func (v ICMPv6) MTU() uint32 { return binary.BigEndian.Uint32(v[4:]) }

// Pointer returns the offset in the quoted packet at which a Parameter
// Problem message points (RFC 4443 §3.4).
func (v ICMPv6) Pointer() uint32 { return binary.BigEndian.Uint32(v[4:]) }

// Payload returns the bytes after the 8-byte header: echo data, or the
// quoted packet. They alias the view.
func (v ICMPv6) Payload() []byte { return v[ICMPv6HeaderLen:] }

// ChecksumValid reports whether the checksum verifies over the IPv6
// pseudo-header of src and dst and the whole message (RFC 4443 §2.3). It
// is false unless both addresses are IPv6: ICMPv6 travels in IPv6 alone.
func (v ICMPv6) ChecksumValid(src, dst netip.Addr) bool {
	if !src.Is6() || !dst.Is6() {
		return false
	}
	return Sum(v, PseudoHeaderSumIPv6(ProtoICMPv6, src, dst, len(v))) == 0xffff
}

// SetType sets the message type.
func (v ICMPv6) SetType(t uint8) { v[0] = t }

// SetCode sets the message code.
func (v ICMPv6) SetCode(c uint8) { v[1] = c }

// SetChecksum sets the Checksum field.
func (v ICMPv6) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v[2:], c) }

// SetID sets the identifier of an echo message.
func (v ICMPv6) SetID(id uint16) { binary.BigEndian.PutUint16(v[4:], id) }

// SetSeq sets the sequence number of an echo message.
func (v ICMPv6) SetSeq(seq uint16) { binary.BigEndian.PutUint16(v[6:], seq) }

// SetMTU sets the MTU of a Packet Too Big message.
func (v ICMPv6) SetMTU(mtu uint32) { binary.BigEndian.PutUint32(v[4:], mtu) }

// SetPointer sets the pointer of a Parameter Problem message.
func (v ICMPv6) SetPointer(p uint32) { binary.BigEndian.PutUint32(v[4:], p) }

// UpdateChecksum recomputes the checksum over the pseudo-header of src and
// dst and the whole message. It panics unless both are IPv6 addresses.
func (v ICMPv6) UpdateChecksum(src, dst netip.Addr) {
	if !src.Is6() || !dst.Is6() {
		panic(fmt.Sprintf("wire: ICMPv6 checksum over %v > %v: not IPv6 addresses", src, dst))
	}
	v.SetChecksum(0)
	v.SetChecksum(^Sum(v, PseudoHeaderSumIPv6(ProtoICMPv6, src, dst, len(v))))
}

// IsICMPv6Error reports whether messages of type t are errors, which quote
// the packet that caused them: types 0–127 (RFC 4443 §2.1). RFC 4443
// §2.4(e) forbids sending an error about one of them.
func IsICMPv6Error(t uint8) bool { return t < 128 }

// IsICMPv6NDP reports whether t is one of the Neighbor Discovery message
// types (RFC 4861 §4): router and neighbor solicitation and advertisement,
// redirect.
func IsICMPv6NDP(t uint8) bool {
	return t >= ICMPv6RouterSolicitation && t <= ICMPv6Redirect
}

// ICMPv6Repr is an ICMPv6 error or echo message as plain values. Only the
// fields of its type are used: ID and Seq for echo request and reply, MTU
// for Packet Too Big, Pointer for Parameter Problem.
//
// Data is the echo data, or for error messages the quoted invoking packet:
// its IPv6 header and as much of the rest as the sender put in (RFC 4443
// §2.4(c)). Parsing makes Data alias the view; Emit copies it.
type ICMPv6Repr struct {
	Type, Code uint8
	ID, Seq    uint16
	MTU        uint32
	Pointer    uint32
	Data       []byte
}

// ParseICMPv6 reads v into a Repr. It accepts echo request and reply and
// every error type, known or not: RFC 4443 §2.4(a) has an error of unknown
// type passed up to the upper-layer process whose packet caused it, which
// the quote identifies; the 4 bytes of an unknown error after the checksum
// are not kept. It rejects other informational types (NDP, MLD, unknown
// ones: §2.4(b) has those silently discarded) with ErrUnsupportedType, and
// errors whose quote is not an IPv6 fixed header followed by at least 8
// bytes of its payload (or all of it if there was less) with ErrBadQuote.
// The checksum is not verified (see ChecksumValid).
func ParseICMPv6(v ICMPv6) (ICMPv6Repr, error) {
	r := ICMPv6Repr{Type: v.Type(), Code: v.Code(), Data: v.Payload()}
	switch r.Type {
	case ICMPv6EchoRequest, ICMPv6EchoReply:
		r.ID, r.Seq = v.ID(), v.Seq()
		return r, nil
	case ICMPv6PacketTooBig:
		r.MTU = v.MTU()
	case ICMPv6ParamProblem:
		r.Pointer = v.Pointer()
	}
	if !IsICMPv6Error(r.Type) {
		return ICMPv6Repr{}, ErrUnsupportedType
	}
	if !quote6OK(r.Data) {
		return ICMPv6Repr{}, ErrBadQuote
	}
	return r, nil
}

// quote6OK reports whether b starts with an IPv6 fixed header followed by
// at least 8 bytes of its payload, or all of it if there was less.
func quote6OK(b []byte) bool {
	q, err := NewQuotedIPv6(b)
	if err != nil {
		return false
	}
	return len(q) >= IPv6HeaderLen+min(q.PayloadLen(), 8)
}

// Len returns the length of the message Emit writes: 8 + len(Data).
func (r *ICMPv6Repr) Len() int { return ICMPv6HeaderLen + len(r.Data) }

// Emit writes exactly Len() bytes into b: the header for r.Type, Data, and
// the checksum over the pseudo-header of src and dst. Data may already sit
// at b[8:]. Emit does not shorten a quote: the caller keeps the whole
// message within IPv6MinMTU (RFC 4443 §2.4(c)). It panics if b is too short
// or src or dst is not an IPv6 address.
func (r *ICMPv6Repr) Emit(b []byte, src, dst netip.Addr) {
	v := ICMPv6(b[:r.Len()])
	v[0], v[1] = r.Type, r.Code
	clear(v[4:8])
	switch r.Type {
	case ICMPv6EchoRequest, ICMPv6EchoReply:
		v.SetID(r.ID)
		v.SetSeq(r.Seq)
	case ICMPv6PacketTooBig:
		v.SetMTU(r.MTU)
	case ICMPv6ParamProblem:
		v.SetPointer(r.Pointer)
	}
	copy(v[ICMPv6HeaderLen:], r.Data)
	v.UpdateChecksum(src, dst)
}

// String formats the message for logs, e.g. "echo request id 1 seq 2 len
// 56", "destination unreachable: port unreachable", "packet too big mtu
// 1280".
func (r ICMPv6Repr) String() string {
	s := ICMPv6TypeString(r.Type)
	switch {
	case r.Type == ICMPv6EchoRequest || r.Type == ICMPv6EchoReply:
		return fmt.Sprintf("%s id %d seq %d len %d", s, r.ID, r.Seq, len(r.Data))
	case !IsICMPv6Error(r.Type):
		return fmt.Sprintf("%s code %d", s, r.Code)
	case r.Type == ICMPv6PacketTooBig:
		if r.Code != 0 {
			s += fmt.Sprintf(" code %d", r.Code)
		}
		return s + fmt.Sprintf(" mtu %d", r.MTU)
	}
	s += ": " + ICMPv6CodeString(r.Type, r.Code)
	if r.Type == ICMPv6ParamProblem {
		s += fmt.Sprintf(" pointer %d", r.Pointer)
	}
	return s
}

var icmpv6TypeNames = map[uint8]string{
	ICMPv6DestUnreachable:       "destination unreachable",
	ICMPv6PacketTooBig:          "packet too big",
	ICMPv6TimeExceeded:          "time exceeded",
	ICMPv6ParamProblem:          "parameter problem",
	ICMPv6EchoRequest:           "echo request",
	ICMPv6EchoReply:             "echo reply",
	ICMPv6MLDQuery:              "multicast listener query",
	ICMPv6MLDReport:             "multicast listener report",
	ICMPv6MLDDone:               "multicast listener done",
	ICMPv6RouterSolicitation:    "router solicitation",
	ICMPv6RouterAdvertisement:   "router advertisement",
	ICMPv6NeighborSolicitation:  "neighbor solicitation",
	ICMPv6NeighborAdvertisement: "neighbor advertisement",
	ICMPv6Redirect:              "redirect",
	ICMPv6MLDv2Report:           "multicast listener report v2",
}

// ICMPv6TypeString names an ICMPv6 type, e.g. "packet too big"; unknown
// types read "type N".
func ICMPv6TypeString(t uint8) string {
	if s, ok := icmpv6TypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type %d", t)
}

var icmpv6UnreachNames = [...]string{
	ICMPv6NoRoute:             "no route to destination",
	ICMPv6AdminProhibited:     "communication administratively prohibited",
	ICMPv6BeyondScope:         "beyond scope of source address",
	ICMPv6AddrUnreachable:     "address unreachable",
	ICMPv6PortUnreachable:     "port unreachable",
	ICMPv6SrcAddrFailedPolicy: "source address failed ingress/egress policy",
	ICMPv6RejectRoute:         "reject route to destination",
}

var icmpv6TimeExceededNames = [...]string{
	ICMPv6HopLimitExceeded:       "hop limit exceeded in transit",
	ICMPv6ReassemblyTimeExceeded: "fragment reassembly time exceeded",
}

var icmpv6ParamNames = [...]string{
	ICMPv6ParamHeaderField:     "erroneous header field",
	ICMPv6ParamNextHeader:      "unrecognized next header",
	ICMPv6ParamOption:          "unrecognized option",
	ICMPv6ParamIncompleteChain: "incomplete header chain in first fragment",
}

// ICMPv6CodeString names the code c of an ICMPv6 message of type t, e.g.
// "port unreachable"; codes without a name read "code N".
func ICMPv6CodeString(t, c uint8) string {
	var names []string
	switch t {
	case ICMPv6DestUnreachable:
		names = icmpv6UnreachNames[:]
	case ICMPv6TimeExceeded:
		names = icmpv6TimeExceededNames[:]
	case ICMPv6ParamProblem:
		names = icmpv6ParamNames[:]
	}
	if int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("code %d", c)
}
