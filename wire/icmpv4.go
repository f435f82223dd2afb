package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ICMPv4HeaderLen is the length of the fixed ICMPv4 header: type, code,
// checksum and 4 bytes whose meaning depends on the type (RFC 792).
const ICMPv4HeaderLen = 8

// ICMPv4 message types (RFC 792).
const (
	ICMPv4EchoReply       uint8 = 0
	ICMPv4DestUnreachable uint8 = 3
	ICMPv4Redirect        uint8 = 5
	ICMPv4Echo            uint8 = 8
	ICMPv4TimeExceeded    uint8 = 11
	ICMPv4ParamProblem    uint8 = 12
)

// Destination Unreachable codes: 0–5 from RFC 792, 6–12 from RFC 1122
// §3.2.2.1, 13–15 from RFC 1812 §5.2.7.1.
const (
	ICMPv4NetUnreachable          uint8 = 0
	ICMPv4HostUnreachable         uint8 = 1
	ICMPv4ProtoUnreachable        uint8 = 2
	ICMPv4PortUnreachable         uint8 = 3
	ICMPv4FragNeeded              uint8 = 4 // and DF set; carries the next-hop MTU (RFC 1191 §4)
	ICMPv4SourceRouteFailed       uint8 = 5
	ICMPv4NetUnknown              uint8 = 6
	ICMPv4HostUnknown             uint8 = 7
	ICMPv4HostIsolated            uint8 = 8
	ICMPv4NetProhibited           uint8 = 9
	ICMPv4HostProhibited          uint8 = 10
	ICMPv4NetTOS                  uint8 = 11
	ICMPv4HostTOS                 uint8 = 12
	ICMPv4AdminProhibited         uint8 = 13
	ICMPv4HostPrecedenceViolation uint8 = 14
	ICMPv4PrecedenceCutoff        uint8 = 15
)

// Time Exceeded codes (RFC 792).
const (
	ICMPv4TTLExceeded            uint8 = 0 // time to live exceeded in transit
	ICMPv4ReassemblyTimeExceeded uint8 = 1 // fragment reassembly time exceeded
)

// Redirect codes (RFC 792).
const (
	ICMPv4RedirectNet     uint8 = 0
	ICMPv4RedirectHost    uint8 = 1
	ICMPv4RedirectNetTOS  uint8 = 2
	ICMPv4RedirectHostTOS uint8 = 3
)

// Parameter Problem codes: 0 from RFC 792, 1 from RFC 1108, 2 from RFC 1812
// §5.2.7.2.
const (
	ICMPv4ParamPointer       uint8 = 0 // the pointer indicates the error
	ICMPv4ParamMissingOption uint8 = 1 // a required option is missing
	ICMPv4ParamBadLength     uint8 = 2
)

// ICMPv4 is a view of an ICMPv4 message (RFC 792):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    depends on the type: identifier + sequence number (echo),  |
//	|    pointer (parameter problem), next-hop MTU (frag needed),   |
//	|    gateway address (redirect), unused (other errors)          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     echo data, or the IP header + 8 bytes of the datagram ... |
//
// The accessors for type-specific fields read their bytes whatever the
// type; it is the caller's business to ask the right ones.
type ICMPv4 []byte

// NewICMPv4 checks that b holds at least the 8-byte ICMP header. The view
// covers all of b: the IP layer has already cut b to the datagram.
func NewICMPv4(b []byte) (ICMPv4, error) {
	if len(b) < ICMPv4HeaderLen {
		return nil, ErrTruncated
	}
	return ICMPv4(b), nil
}

// Type returns the message type.
func (v ICMPv4) Type() uint8 { return v[0] }

// Code returns the message code.
func (v ICMPv4) Code() uint8 { return v[1] }

// Checksum returns the Checksum field.
func (v ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(v[2:]) }

// ID returns the identifier of an echo or echo reply.
func (v ICMPv4) ID() uint16 { return binary.BigEndian.Uint16(v[4:]) }

// Seq returns the sequence number of an echo or echo reply.
func (v ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(v[6:]) }

// Pointer returns the octet a parameter problem points at in the quoted
// header.
func (v ICMPv4) Pointer() uint8 { return v[4] }

// NextHopMTU returns the next-hop MTU of a fragmentation-needed message
// (RFC 1191 §4); 0 from routers older than RFC 1191.
func (v ICMPv4) NextHopMTU() uint16 { return binary.BigEndian.Uint16(v[6:]) }

// Gateway returns the gateway address of a redirect.
func (v ICMPv4) Gateway() netip.Addr { return netip.AddrFrom4([4]byte(v[4:8])) }

// Payload returns the bytes after the 8-byte header. They alias the view.
func (v ICMPv4) Payload() []byte { return v[ICMPv4HeaderLen:] }

// ChecksumValid reports whether the checksum over the whole message
// verifies (RFC 792: computed from the ICMP type on, no pseudo-header).
func (v ICMPv4) ChecksumValid() bool { return Sum(v, 0) == 0xffff }

// SetType sets the message type.
func (v ICMPv4) SetType(t uint8) { v[0] = t }

// SetCode sets the message code.
func (v ICMPv4) SetCode(c uint8) { v[1] = c }

// SetChecksum sets the Checksum field.
func (v ICMPv4) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v[2:], c) }

// SetID sets the identifier of an echo message.
func (v ICMPv4) SetID(id uint16) { binary.BigEndian.PutUint16(v[4:], id) }

// SetSeq sets the sequence number of an echo message.
func (v ICMPv4) SetSeq(seq uint16) { binary.BigEndian.PutUint16(v[6:], seq) }

// UpdateChecksum recomputes the checksum over the whole message.
func (v ICMPv4) UpdateChecksum() {
	v.SetChecksum(0)
	v.SetChecksum(Checksum(v))
}

// IsICMPv4Error reports whether messages of type t are ICMP error messages,
// which quote the datagram that caused them. RFC 1122 §3.2.2 forbids sending
// an error about one of them.
func IsICMPv4Error(t uint8) bool {
	switch t {
	case ICMPv4DestUnreachable, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

// ICMPv4Repr is an ICMPv4 message of one of the types above as plain
// values. Only the fields of its type are used: ID and Seq for echo and
// echo reply, NextHopMTU for destination unreachable with code FragNeeded,
// Pointer for parameter problem, Gateway for redirect.
//
// Data is the echo data, or for error messages (destination unreachable,
// redirect, time exceeded, parameter problem) the quoted original
// datagram: its IP header and at least the first 8 bytes of its data
// (RFC 792; RFC 1812 §4.3.2.3 allows more). It holds every byte after the
// ICMP header, so RFC 4884 extensions, if any, follow the quote in it.
// Parsing makes Data alias the view; Emit copies it.
type ICMPv4Repr struct {
	Type, Code uint8
	ID, Seq    uint16
	Pointer    uint8
	NextHopMTU uint16
	Data       []byte
	Gateway    netip.Addr // redirect only; added beside the shared API for RFC 792's redirect
}

// ParseICMPv4 reads v into a Repr. It rejects types other than those above
// with ErrUnsupportedType (RFC 1122 §3.2.2: an unknown type is silently
// discarded), and error messages whose quote is not an IPv4 header plus the
// first 8 bytes of data (or the whole datagram if it was shorter) with
// ErrBadQuote: such a quote cannot be matched to the socket that sent the
// datagram. The checksum is not verified (see ChecksumValid).
func ParseICMPv4(v ICMPv4) (ICMPv4Repr, error) {
	r := ICMPv4Repr{Type: v.Type(), Code: v.Code(), Data: v.Payload()}
	switch r.Type {
	case ICMPv4EchoReply, ICMPv4Echo:
		r.ID, r.Seq = v.ID(), v.Seq()
		return r, nil
	case ICMPv4DestUnreachable:
		if r.Code == ICMPv4FragNeeded {
			r.NextHopMTU = v.NextHopMTU()
		}
	case ICMPv4Redirect:
		r.Gateway = v.Gateway()
	case ICMPv4TimeExceeded:
	case ICMPv4ParamProblem:
		r.Pointer = v.Pointer()
	default:
		return ICMPv4Repr{}, ErrUnsupportedType
	}
	if IsICMPv4Error(r.Type) && !quoteOK(r.Data) {
		return ICMPv4Repr{}, ErrBadQuote
	}
	return r, nil
}

// quoteOK reports whether b starts with an IPv4 header followed by at least
// 8 bytes of its data, or all of its data if there was less.
func quoteOK(b []byte) bool {
	q, err := NewQuotedIPv4(b)
	if err != nil {
		return false
	}
	return len(q) >= min(q.TotalLen(), q.HeaderLen()+8)
}

// Len returns the length of the message Emit writes: 8 + len(Data).
func (r *ICMPv4Repr) Len() int { return ICMPv4HeaderLen + len(r.Data) }

// Emit writes exactly Len() bytes into b: the header for r.Type, Data, and
// the checksum. Data may already sit at b[8:] (the copy is then a no-op
// move). Emit does not shorten a quote: the caller chooses how much of the
// offending datagram to return (RFC 1812 §4.3.2.3: up to 576 bytes in all).
func (r *ICMPv4Repr) Emit(b []byte) {
	v := ICMPv4(b[:r.Len()])
	v[0], v[1] = r.Type, r.Code
	v.SetChecksum(0)
	clear(v[4:8])
	switch r.Type {
	case ICMPv4EchoReply, ICMPv4Echo:
		v.SetID(r.ID)
		v.SetSeq(r.Seq)
	case ICMPv4DestUnreachable:
		if r.Code == ICMPv4FragNeeded {
			binary.BigEndian.PutUint16(v[6:], r.NextHopMTU)
		}
	case ICMPv4Redirect:
		if r.Gateway.Is4() {
			g := r.Gateway.As4()
			copy(v[4:8], g[:])
		}
	case ICMPv4ParamProblem:
		v[4] = r.Pointer
	}
	copy(v[ICMPv4HeaderLen:], r.Data)
	v.UpdateChecksum()
}

// String formats the message for logs, e.g. "echo request id 1 seq 2 len 56"
// or "destination unreachable: port unreachable".
func (r ICMPv4Repr) String() string {
	s := ICMPv4TypeString(r.Type)
	switch r.Type {
	case ICMPv4EchoReply, ICMPv4Echo:
		return fmt.Sprintf("%s id %d seq %d len %d", s, r.ID, r.Seq, len(r.Data))
	}
	if !IsICMPv4Error(r.Type) {
		return fmt.Sprintf("%s code %d", s, r.Code)
	}
	s += ": " + ICMPv4CodeString(r.Type, r.Code)
	switch {
	case r.Type == ICMPv4DestUnreachable && r.Code == ICMPv4FragNeeded:
		s += fmt.Sprintf(" mtu %d", r.NextHopMTU)
	case r.Type == ICMPv4Redirect:
		s += fmt.Sprintf(" to %v", r.Gateway)
	case r.Type == ICMPv4ParamProblem:
		s += fmt.Sprintf(" pointer %d", r.Pointer)
	}
	return s
}

var icmpv4TypeNames = [...]string{
	ICMPv4EchoReply:       "echo reply",
	ICMPv4DestUnreachable: "destination unreachable",
	4:                     "source quench",
	ICMPv4Redirect:        "redirect",
	ICMPv4Echo:            "echo request",
	9:                     "router advertisement",
	10:                    "router solicitation",
	ICMPv4TimeExceeded:    "time exceeded",
	ICMPv4ParamProblem:    "parameter problem",
	13:                    "timestamp request",
	14:                    "timestamp reply",
	15:                    "information request",
	16:                    "information reply",
	17:                    "address mask request",
	18:                    "address mask reply",
}

// ICMPv4TypeString names an ICMPv4 type, e.g. "destination unreachable";
// unknown types read "type N".
func ICMPv4TypeString(t uint8) string {
	if int(t) < len(icmpv4TypeNames) && icmpv4TypeNames[t] != "" {
		return icmpv4TypeNames[t]
	}
	return fmt.Sprintf("type %d", t)
}

var icmpv4UnreachNames = [...]string{
	ICMPv4NetUnreachable:          "net unreachable",
	ICMPv4HostUnreachable:         "host unreachable",
	ICMPv4ProtoUnreachable:        "protocol unreachable",
	ICMPv4PortUnreachable:         "port unreachable",
	ICMPv4FragNeeded:              "fragmentation needed and DF set",
	ICMPv4SourceRouteFailed:       "source route failed",
	ICMPv4NetUnknown:              "destination network unknown",
	ICMPv4HostUnknown:             "destination host unknown",
	ICMPv4HostIsolated:            "source host isolated",
	ICMPv4NetProhibited:           "network administratively prohibited",
	ICMPv4HostProhibited:          "host administratively prohibited",
	ICMPv4NetTOS:                  "network unreachable for TOS",
	ICMPv4HostTOS:                 "host unreachable for TOS",
	ICMPv4AdminProhibited:         "communication administratively prohibited",
	ICMPv4HostPrecedenceViolation: "host precedence violation",
	ICMPv4PrecedenceCutoff:        "precedence cutoff in effect",
}

var icmpv4TimeExceededNames = [...]string{
	ICMPv4TTLExceeded:            "time to live exceeded in transit",
	ICMPv4ReassemblyTimeExceeded: "fragment reassembly time exceeded",
}

var icmpv4RedirectNames = [...]string{
	ICMPv4RedirectNet:     "redirect for network",
	ICMPv4RedirectHost:    "redirect for host",
	ICMPv4RedirectNetTOS:  "redirect for TOS and network",
	ICMPv4RedirectHostTOS: "redirect for TOS and host",
}

var icmpv4ParamNames = [...]string{
	ICMPv4ParamPointer:       "pointer indicates the error",
	ICMPv4ParamMissingOption: "missing a required option",
	ICMPv4ParamBadLength:     "bad length",
}

// ICMPv4CodeString names the code c of an ICMPv4 message of type t, e.g.
// "port unreachable"; codes without a name read "code N".
func ICMPv4CodeString(t, c uint8) string {
	var names []string
	switch t {
	case ICMPv4DestUnreachable:
		names = icmpv4UnreachNames[:]
	case ICMPv4TimeExceeded:
		names = icmpv4TimeExceededNames[:]
	case ICMPv4Redirect:
		names = icmpv4RedirectNames[:]
	case ICMPv4ParamProblem:
		names = icmpv4ParamNames[:]
	}
	if int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("code %d", c)
}
