package wire

import "errors"

// Reasons a checked constructor or parser rejects bytes. They are plain
// sentinel values, so callers compare with == or errors.Is, count drops by
// reason, and rejecting a packet never allocates.
var (
	// ErrTruncated: the buffer is shorter than the header's minimum or than
	// a length the header claims (IHL, total length, data offset, UDP length).
	ErrTruncated = errors.New("wire: truncated")
	// ErrBadVersion: the IP version field is not 4.
	ErrBadVersion = errors.New("wire: bad IP version")
	// ErrBadHeaderLen: a header length field is below its minimum
	// (IPv4 IHL < 5, TCP data offset < 5).
	ErrBadHeaderLen = errors.New("wire: bad header length")
	// ErrBadLength: a total-length field is smaller than the header it
	// belongs to (IPv4 total length < IHL*4, UDP length < 8).
	ErrBadLength = errors.New("wire: bad length field")
	// ErrBadOption: an IPv4 or TCP option is malformed: a length byte below
	// 2 or past the end of the option space, or a known option whose length
	// is not the one its RFC fixes.
	ErrBadOption = errors.New("wire: malformed option")
	// ErrUnsupportedType: ParseICMPv4 was given an ICMP type it has no Repr
	// for (the view still gives access to the bytes).
	ErrUnsupportedType = errors.New("wire: unsupported ICMP type")
	// ErrBadQuote: an ICMP error message does not quote an IPv4 header and
	// the first 8 bytes of its data (RFC 792, RFC 1122 §3.2.2).
	ErrBadQuote = errors.New("wire: bad datagram quoted in ICMP error")
	// ErrBadChecksum is not returned by this package, whose parsers leave
	// checksums to the ChecksumValid methods; it is here so the layers above
	// share one value when they count checksum drops.
	ErrBadChecksum = errors.New("wire: bad checksum")
)
