package wire

import "errors"

// Reasons a checked constructor or parser rejects bytes. They are plain
// sentinel values, so callers compare with == or errors.Is, count drops by
// reason, and rejecting a packet never allocates.
var (
	// ErrTruncated: the buffer is shorter than the header's minimum or than
	// a length the header claims (IHL, total length, data offset, UDP
	// length, IPv6 Payload Length, an IPv6 extension header's length).
	ErrTruncated = errors.New("wire: truncated")
	// ErrBadVersion: the IP version field is not the constructor's: 4 for
	// NewIPv4, 6 for NewIPv6.
	ErrBadVersion = errors.New("wire: bad IP version")
	// ErrBadHeaderLen: a header length field is below its minimum
	// (IPv4 IHL < 5, TCP data offset < 5).
	ErrBadHeaderLen = errors.New("wire: bad header length")
	// ErrBadLength: a total-length field is smaller than the header it
	// belongs to (IPv4 total length < IHL*4, UDP length < 8).
	ErrBadLength = errors.New("wire: bad length field")
	// ErrBadOption: an IPv4, TCP or IPv6 option is malformed: a length byte
	// below 2 or past the end of the option space, or a known option whose
	// length is not the one its RFC fixes. (An IPv6 option, RFC 8200 §4.2,
	// is malformed only when it runs past the end of its header.)
	ErrBadOption = errors.New("wire: malformed option")
	// ErrUnsupportedType: ParseICMPv4 or ParseICMPv6 was given an ICMP type
	// it has no Repr for (the view still gives access to the bytes).
	ErrUnsupportedType = errors.New("wire: unsupported ICMP type")
	// ErrBadQuote: an ICMP error message does not quote an IP header and the
	// first 8 bytes of its data (RFC 792, RFC 1122 §3.2.2, RFC 4443 §2.4(c)).
	ErrBadQuote = errors.New("wire: bad datagram quoted in ICMP error")
	// ErrBadChecksum is not returned by this package, whose parsers leave
	// checksums to the ChecksumValid methods; it is here so the layers above
	// share one value when they count checksum drops.
	ErrBadChecksum = errors.New("wire: bad checksum")

	// The errors of IPv6.Transport's walk of the extension headers; its
	// documentation says what IPv6Transport.Pointer holds for each.

	// ErrHopByHopNotFirst: a Hop-by-Hop Options header does not follow the
	// fixed header (RFC 8200 §4.1).
	ErrHopByHopNotFirst = errors.New("wire: IPv6 hop-by-hop options header not first")
	// ErrRoutingHeader: a Routing header with Segments Left non-zero, whose
	// Routing Type a host that forwards no source routes cannot recognise
	// (RFC 8200 §4.4).
	ErrRoutingHeader = errors.New("wire: IPv6 routing header with segments left")
	// ErrUnknownOption: an IPv6 option of a type not recognised whose
	// action bits say to discard the packet (RFC 8200 §4.2).
	ErrUnknownOption = errors.New("wire: unrecognised IPv6 option")
	// ErrTooManyExtHeaders: more than IPv6MaxExtHeaders extension headers.
	ErrTooManyExtHeaders = errors.New("wire: too many IPv6 extension headers")
)
