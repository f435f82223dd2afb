package pcap

import (
	"encoding/binary"
	"time"
)

// The classic libpcap file format (draft-ietf-opsawg-pcap, "PCAP Capture
// File Format"): a 24-byte file header, then per packet a 16-byte record
// header and the captured bytes. berth writes little-endian; the reader
// takes either byte order.
const (
	magicMicro = 0xa1b2c3d4 // timestamps in seconds and microseconds
	magicNano  = 0xa1b23c4d // timestamps in seconds and nanoseconds

	versionMajor = 2
	versionMinor = 4

	// Snaplen is the most of each packet a capture keeps: all of any IPv4
	// packet, whose Total Length is 16 bits.
	Snaplen = 65535

	// LinkTypeRaw is LINKTYPE_RAW: each record is a bare IPv4 or IPv6
	// packet, told apart by its version nibble — what a TUN or berth's
	// links carry.
	LinkTypeRaw = 101

	fileHeaderLen   = 24
	recordHeaderLen = 16
)

// appendFileHeader appends the 24-byte file header.
func appendFileHeader(b []byte, nano bool, snaplen, linkType uint32) []byte {
	magic := uint32(magicMicro)
	if nano {
		magic = magicNano
	}
	b = binary.LittleEndian.AppendUint32(b, magic)
	b = binary.LittleEndian.AppendUint16(b, versionMajor)
	b = binary.LittleEndian.AppendUint16(b, versionMinor)
	b = binary.LittleEndian.AppendUint32(b, 0) // thiszone: timestamps are UTC
	b = binary.LittleEndian.AppendUint32(b, 0) // sigfigs: always 0
	b = binary.LittleEndian.AppendUint32(b, snaplen)
	return binary.LittleEndian.AppendUint32(b, linkType)
}

// appendRecord appends one record: the header and up to snaplen bytes of
// pkt. Seconds are 32 bits unsigned, so times outside 1970–2106 wrap.
func appendRecord(b []byte, nano bool, snaplen int, ts time.Time, pkt []byte) []byte {
	frac := uint32(ts.Nanosecond())
	if !nano {
		frac /= 1000
	}
	incl := min(len(pkt), snaplen)
	b = binary.LittleEndian.AppendUint32(b, uint32(ts.Unix()))
	b = binary.LittleEndian.AppendUint32(b, frac)
	b = binary.LittleEndian.AppendUint32(b, uint32(incl))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
	return append(b, pkt[:incl]...)
}
