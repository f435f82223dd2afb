package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// TCPMinHeaderLen is the length of a TCP header without options
// (RFC 9293 §3.1, data offset 5).
const TCPMinHeaderLen = 20

// TCPFlags are the control bits of a TCP header (RFC 9293 §3.1; ECE and
// CWR from RFC 3168 §6.1).
type TCPFlags uint8

// The control bits, as they sit in byte 13 of the header.
const (
	FlagFIN TCPFlags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// String writes the flags as tcpdump and packetdrill do: one letter per bit
// in tcpdump's order F S R P . U E W, with "." for ACK, so "S", "S.", "P.",
// "F.", "R.". No flags at all read "none".
func (f TCPFlags) String() string {
	if f == 0 {
		return "none"
	}
	const letters = "FSRP.UEW"
	var buf [8]byte
	n := 0
	for i := range 8 {
		if f&(1<<i) != 0 {
			buf[n] = letters[i]
			n++
		}
	}
	return string(buf[:n])
}

// TCP is a view of a TCP segment (RFC 9293 §3.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|          Source Port          |       Destination Port        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                        Sequence Number                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Acknowledgment Number                      |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data |       |C|E|U|A|P|R|S|F|                               |
//	| Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
//	|       |       |R|E|G|K|H|T|N|N|                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           Checksum            |         Urgent Pointer        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           [Options]                           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                             data                              |
//
// The view covers the whole segment: TCP has no length field, the IP layer
// gives it.
type TCP []byte

// NewTCP checks that b holds a TCP header: at least 20 bytes, a data offset
// of at least 5 words that lies within b, and options that parse (see
// ParseTCPOptions; malformed lengths give ErrBadOption).
func NewTCP(b []byte) (TCP, error) {
	if len(b) < TCPMinHeaderLen {
		return nil, ErrTruncated
	}
	v := TCP(b)
	off := v.DataOffset()
	if off < TCPMinHeaderLen {
		return nil, ErrBadHeaderLen
	}
	if off > len(b) {
		return nil, ErrTruncated
	}
	if _, err := ParseTCPOptions(v.Options()); err != nil {
		return nil, err
	}
	return v, nil
}

// SrcPort returns the source port.
func (v TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(v[0:]) }

// DstPort returns the destination port.
func (v TCP) DstPort() uint16 { return binary.BigEndian.Uint16(v[2:]) }

// Seq returns the sequence number.
func (v TCP) Seq() uint32 { return binary.BigEndian.Uint32(v[4:]) }

// Ack returns the acknowledgment number.
func (v TCP) Ack() uint32 { return binary.BigEndian.Uint32(v[8:]) }

// DataOffset returns the header length in bytes, options included.
func (v TCP) DataOffset() int { return int(v[12]>>4) * 4 }

// Flags returns the control bits.
func (v TCP) Flags() TCPFlags { return TCPFlags(v[13]) }

// Window returns the Window field, unscaled.
func (v TCP) Window() uint16 { return binary.BigEndian.Uint16(v[14:]) }

// Checksum returns the Checksum field.
func (v TCP) Checksum() uint16 { return binary.BigEndian.Uint16(v[16:]) }

// Urgent returns the Urgent Pointer field.
func (v TCP) Urgent() uint16 { return binary.BigEndian.Uint16(v[18:]) }

// Options returns the option bytes, padding included. They alias the view.
func (v TCP) Options() []byte { return v[TCPMinHeaderLen:v.DataOffset()] }

// Payload returns the data after the header. It aliases the view.
func (v TCP) Payload() []byte { return v[v.DataOffset():] }

// ChecksumValid reports whether the checksum verifies over the
// pseudo-header of src and dst and the whole segment (RFC 9293 §3.1; over
// IPv6 the pseudo-header of RFC 8200 §8.1, chosen by the addresses' family
// as PseudoHeaderSum does).
func (v TCP) ChecksumValid(src, dst netip.Addr) bool {
	return Sum(v, PseudoHeaderSum(ProtoTCP, src, dst, len(v))) == 0xffff
}

// SetSrcPort sets the source port.
func (v TCP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(v[0:], p) }

// SetDstPort sets the destination port.
func (v TCP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(v[2:], p) }

// SetSeq sets the sequence number.
func (v TCP) SetSeq(s uint32) { binary.BigEndian.PutUint32(v[4:], s) }

// SetAck sets the acknowledgment number.
func (v TCP) SetAck(a uint32) { binary.BigEndian.PutUint32(v[8:], a) }

// SetFlags sets the control bits.
func (v TCP) SetFlags(f TCPFlags) { v[13] = uint8(f) }

// SetWindow sets the Window field.
func (v TCP) SetWindow(w uint16) { binary.BigEndian.PutUint16(v[14:], w) }

// SetChecksum sets the Checksum field.
func (v TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(v[16:], c) }

// SetUrgent sets the Urgent Pointer field.
func (v TCP) SetUrgent(u uint16) { binary.BigEndian.PutUint16(v[18:], u) }

// UpdateChecksum recomputes the checksum over the pseudo-header of src and
// dst and the whole segment.
func (v TCP) UpdateChecksum(src, dst netip.Addr) {
	v.SetChecksum(0)
	v.SetChecksum(^Sum(v, PseudoHeaderSum(ProtoTCP, src, dst, len(v))))
}

// TCPRepr is a TCP header as plain values; the data offset and checksum
// are derived when emitting. It is comparable. The reserved bits (and the
// historic NS bit, RFC 3540) are neither parsed nor emitted.
type TCPRepr struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            TCPFlags
	Window           uint16
	Urgent           uint16
	Options          TCPOptions
}

// ParseTCP reads v into a Repr. The checksum is not verified (see
// ChecksumValid). The error is that of ParseTCPOptions; a view from NewTCP
// never has one.
func ParseTCP(v TCP) (TCPRepr, error) {
	o, err := ParseTCPOptions(v.Options())
	if err != nil {
		return TCPRepr{}, err
	}
	return TCPRepr{
		SrcPort: v.SrcPort(),
		DstPort: v.DstPort(),
		Seq:     v.Seq(),
		Ack:     v.Ack(),
		Flags:   v.Flags(),
		Window:  v.Window(),
		Urgent:  v.Urgent(),
		Options: o,
	}, nil
}

// HeaderLen returns the length of the header Emit writes: 20 bytes plus
// Options.Len().
func (r *TCPRepr) HeaderLen() int { return TCPMinHeaderLen + r.Options.Len() }

// Emit writes the header into b[:HeaderLen()] for a payload of payloadLen
// bytes already in place at b[HeaderLen():], and computes the checksum over
// the pseudo-header of src and dst, header and payload. It panics if b is
// shorter than HeaderLen()+payloadLen.
func (r *TCPRepr) Emit(b []byte, payloadLen int, src, dst netip.Addr) {
	hl := r.HeaderLen()
	v := TCP(b[:hl+payloadLen])
	v.SetSrcPort(r.SrcPort)
	v.SetDstPort(r.DstPort)
	v.SetSeq(r.Seq)
	v.SetAck(r.Ack)
	v[12] = uint8(hl/4) << 4
	v[13] = uint8(r.Flags)
	v.SetWindow(r.Window)
	v.SetUrgent(r.Urgent)
	r.Options.Emit(v[TCPMinHeaderLen:hl])
	v.UpdateChecksum(src, dst)
}

// String formats the header like tcpdump and packetdrill, e.g.
// "S. seq 100 ack 201 win 65535 <mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7>".
// The ack is shown only with the ACK flag, the urgent pointer only with
// URG, the options only when there are some.
func (r TCPRepr) String() string {
	s := fmt.Sprintf("%v seq %d", r.Flags, r.Seq)
	if r.Flags&FlagACK != 0 {
		s += fmt.Sprintf(" ack %d", r.Ack)
	}
	s += fmt.Sprintf(" win %d", r.Window)
	if r.Flags&FlagURG != 0 {
		s += fmt.Sprintf(" urg %d", r.Urgent)
	}
	if o := r.Options.String(); o != "" {
		s += " <" + o + ">"
	}
	return s
}
