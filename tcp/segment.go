package tcp

import (
	"net/netip"

	"berth/seq"
	"berth/wire"
)

// Segment is a TCP segment as the core sees it: the header fields that
// matter to the state machine, parsed options, and the payload. The stack
// fills one from a checked wire.TCP and emits one with wire.TCPRepr.
type Segment struct {
	Seq, Ack seq.Value
	Flags    wire.TCPFlags
	Window   uint16 // as on the wire: unscaled
	Options  wire.TCPOptions
	// IPID is the IPv4 identification for the datagram carrying the
	// segment. A connection numbers its own datagrams from a value taken
	// from its ISS (per flow, RFC 6864 §4.1, as Linux's inet_id), so its IDs
	// do not depend on what other connections send; segments sent without
	// a connection (RSTs to closed ports, SYN cookies) have 0, which RFC
	// 6864 §4.2 allows for atomic datagrams.
	IPID uint16
	// Payload is valid only during the call that carries the segment:
	// the core copies what it keeps, and an Output must not retain it.
	Payload []byte
}

// Len is the segment's length in sequence space (RFC 9293 §3.4, SEG.LEN):
// its payload plus one for each of SYN and FIN.
func (s *Segment) Len() seq.Size {
	n := seq.Size(len(s.Payload))
	if s.Flags&wire.FlagSYN != 0 {
		n++
	}
	if s.Flags&wire.FlagFIN != 0 {
		n++
	}
	return n
}

// Output carries segments from the core to the network. The stack supplies
// it. SendSegment must not retain seg or seg.Payload after it returns (both
// are reused), and must not call back into any Conn or Listener sharing the
// Config (queue instead).
type Output interface {
	SendSegment(local, remote netip.AddrPort, seg *Segment)
}

// RSTFor returns the reset that answers seg when no connection exists for
// it (RFC 9293 §3.10.7.1, CLOSED state; also §3.5.2 rule 1), and false when
// no reset is due: a reset is never answered with a reset.
//
//	If the ACK bit is off:  <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
//	If the ACK bit is on:   <SEQ=SEG.ACK><CTL=RST>
//
// payloadLen is the length of the segment's payload, given separately so
// the stack can answer without building a full Segment.
func RSTFor(seg *Segment, payloadLen int) (Segment, bool) {
	if seg.Flags&wire.FlagRST != 0 {
		return Segment{}, false
	}
	if seg.Flags&wire.FlagACK != 0 {
		return Segment{Seq: seg.Ack, Flags: wire.FlagRST}, true
	}
	n := seq.Size(payloadLen)
	if seg.Flags&wire.FlagSYN != 0 {
		n++
	}
	if seg.Flags&wire.FlagFIN != 0 {
		n++
	}
	return Segment{Ack: seg.Seq.Add(n), Flags: wire.FlagRST | wire.FlagACK}, true
}
