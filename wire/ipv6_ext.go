package wire

// IPv6MaxExtHeaders bounds the extension headers Transport walks in one
// packet. RFC 8200 sets no limit, but a legitimate packet carries a handful
// at most (§4.1 lists six kinds, each once but Destination Options twice),
// and RFC 8883 defines the ICMPv6 errors of a node that stops at such a
// limit. With it a crafted chain costs a bounded number of steps.
const IPv6MaxExtHeaders = 8

// Option types of the Hop-by-Hop and Destination Options headers that
// Transport knows (RFC 8200 §4.2). Every other type is unrecognised, and
// its two high-order bits say what to do with the packet.
const (
	ipv6OptPad1 = 0
	ipv6OptPadN = 1
)

// IPv6Transport is where the walk of an IPv6 extension header chain ended,
// as Transport reports it. Offsets count from the first byte of the fixed
// header, as an ICMPv6 Parameter Problem's pointer does (RFC 4443 §3.4).
type IPv6Transport struct {
	// Proto is the Next Header value that ended the walk: the upper-layer
	// protocol (ProtoTCP, ProtoUDP, ProtoICMPv6, ...), ProtoNoNextHeader,
	// or a header Transport does not walk (ProtoESP, ProtoAH, and any
	// number it does not know).
	Proto uint8
	// Offset is where the header named by Proto starts: v[Offset:] is the
	// upper-layer packet, whose length the TCP, UDP and ICMPv6 checksums
	// put in their pseudo-header (RFC 8200 §8.1).
	Offset int
	// Pointer is the offset of the Next Header field that holds Proto: a
	// host that does not know Proto sends a Parameter Problem, code 1,
	// pointing there (RFC 8200 §4). When Transport returns an error,
	// Pointer is instead where that error's Parameter Problem points; see
	// the errors in Transport's documentation.
	Pointer int
	// ExtHeaders counts the extension headers walked.
	ExtHeaders int
	// FragmentAt is the offset of the first Fragment header, 0 if there is
	// none. FragmentNextHeaderAt is the offset of the Next Header field
	// naming it, which reassembly rewrites to Fragment.NextHeader when it
	// removes the header (RFC 8200 §4.5). Fragment is that header's fields.
	FragmentAt           int
	FragmentNextHeaderAt int
	Fragment             IPv6FragmentRepr
}

// HasFragment reports whether the packet carries a Fragment header, even
// an atomic one (offset 0, M clear: RFC 6946).
func (t IPv6Transport) HasFragment() bool { return t.FragmentAt != 0 }

// Transport walks the extension headers after the fixed header (RFC 8200
// §4): Hop-by-Hop Options (0), Routing (43), Fragment (44) and Destination
// Options (60). It stops at the first other Next Header value, which it
// returns as Proto with its offset: an upper-layer protocol, No Next Header
// (59, RFC 8200 §4.7), or a header it does not walk such as ESP (50) or AH
// (51). Every header must lie within the view.
//
// After a Fragment header with a non-zero offset the walk stops, with the
// Fragment header's Next Header as Proto: what follows is a piece of the
// fragmentable part, not headers (RFC 8200 §4.5). After one with offset 0
// it goes on, since the first fragment carries the whole header chain
// (RFC 7112 §5); a reassembled packet is walked again.
//
// The errors, with what t holds for each (t.Proto and t.Offset name the
// header at fault; t.Pointer is where an ICMPv6 Parameter Problem would
// point):
//
//   - ErrTruncated: a header runs past the end of the view. For a first
//     fragment (t.HasFragment() with offset 0) this is an incomplete header
//     chain, Parameter Problem code 3 (RFC 7112 §5); otherwise a drop.
//     (Whether the upper-layer header after the chain is whole depends on
//     the protocol, and is for the IP layer to check.)
//   - ErrHopByHopNotFirst: a Hop-by-Hop Options header not straight after
//     the fixed header (RFC 8200 §4.1). t.Pointer: the Next Header field
//     naming it, for code 1 as Linux and gVisor send.
//   - ErrRoutingHeader: a Routing header with Segments Left non-zero. A host
//     that routes no source routes recognises no Routing Type, and RFC 8200
//     §4.4 then asks for code 0 pointing at the Routing Type: t.Pointer.
//     (With Segments Left 0 the header is skipped, as §4.4 says.)
//   - ErrBadOption: an option of a Hop-by-Hop or Destination Options header
//     runs past the header's end. t.Pointer: the option's type byte.
//   - ErrUnknownOption: an option whose type is not Pad1 or PadN and whose
//     two high-order bits are not 00 (RFC 8200 §4.2: 01 discard silently,
//     10 discard and send code 2, 11 the same unless the destination is
//     multicast). t.Pointer: the option's type byte, which holds the bits.
//   - ErrTooManyExtHeaders: more than IPv6MaxExtHeaders extension headers.
//
// The walk reads at most IPv6MaxExtHeaders headers and the options in
// them: its cost is bounded by the packet's length.
func (v IPv6) Transport() (IPv6Transport, error) {
	t := IPv6Transport{Proto: v.NextHeader(), Offset: IPv6HeaderLen, Pointer: 6}
	for {
		switch t.Proto {
		case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDstOpts:
		default:
			return t, nil
		}
		at := t.Offset
		if t.Proto == ProtoHopByHop && at != IPv6HeaderLen {
			return t, ErrHopByHopNotFirst
		}
		if t.ExtHeaders == IPv6MaxExtHeaders {
			return t, ErrTooManyExtHeaders
		}
		// Every extension header is a multiple of 8 bytes, at least 8; all
		// but the Fragment header give their length in 8-byte units after
		// the first 8 (RFC 8200 §4.3–§4.6).
		rest := v[at:]
		if len(rest) < 8 {
			return t, ErrTruncated
		}
		n := 8
		if t.Proto != ProtoFragment {
			n = (int(rest[1]) + 1) * 8
		}
		if n > len(rest) {
			return t, ErrTruncated
		}
		h := rest[:n]
		stop := false
		switch t.Proto {
		case ProtoHopByHop, ProtoDstOpts:
			if i, err := checkIPv6Options(h[2:]); err != nil {
				t.Pointer = at + 2 + i
				return t, err
			}
		case ProtoRouting:
			if h[3] != 0 {
				t.Pointer = at + 2
				return t, ErrRoutingHeader
			}
		case ProtoFragment:
			f := ParseIPv6Fragment(IPv6Fragment(h))
			if t.FragmentAt == 0 {
				t.FragmentAt, t.FragmentNextHeaderAt, t.Fragment = at, t.Pointer, f
			}
			stop = f.FragmentOffset != 0
		}
		t.ExtHeaders++
		t.Proto, t.Offset, t.Pointer = h[0], at+n, at
		if stop {
			return t, nil
		}
	}
}

// checkIPv6Options walks the type-length-value options of a Hop-by-Hop or
// Destination Options header (RFC 8200 §4.2); b is the header after its
// Next Header and Hdr Ext Len bytes. On error it returns the offset in b of
// the option at fault.
func checkIPv6Options(b []byte) (int, error) {
	for i := 0; i < len(b); {
		typ := b[i]
		if typ == ipv6OptPad1 { // the one option without length and value
			i++
			continue
		}
		if len(b)-i < 2 || len(b)-i-2 < int(b[i+1]) {
			return i, ErrBadOption
		}
		if typ != ipv6OptPadN && typ>>6 != 0 {
			return i, ErrUnknownOption
		}
		i += 2 + int(b[i+1])
	}
	return 0, nil
}
