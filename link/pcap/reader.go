package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrFormat reports bytes that are not a pcap file berth can read.
var ErrFormat = errors.New("pcap: bad format")

// maxRecord bounds one record's captured length, as libpcap does, so a
// hostile length cannot make the reader allocate gigabytes.
const maxRecord = 262144

// Record is one captured packet.
type Record struct {
	Time    time.Time
	OrigLen int    // the packet's length on the link
	Data    []byte // the captured bytes, at most the snaplen
}

// Reader reads a classic pcap file of either byte order and either
// timestamp precision.
type Reader struct {
	r        io.Reader
	order    binary.ByteOrder
	nano     bool
	snaplen  uint32
	linkType uint32
	hdr      [recordHeaderLen]byte
	buf      []byte
}

// NewReader reads the file header from r.
func NewReader(r io.Reader) (*Reader, error) {
	var h [fileHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("pcap: reading file header: %w", err)
	}
	rd := &Reader{r: r}
	switch {
	case binary.LittleEndian.Uint32(h[:]) == magicMicro:
		rd.order = binary.LittleEndian
	case binary.LittleEndian.Uint32(h[:]) == magicNano:
		rd.order, rd.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h[:]) == magicMicro:
		rd.order = binary.BigEndian
	case binary.BigEndian.Uint32(h[:]) == magicNano:
		rd.order, rd.nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("%w: magic %x", ErrFormat, h[:4])
	}
	if major := rd.order.Uint16(h[4:]); major != versionMajor {
		return nil, fmt.Errorf("%w: version %d.%d", ErrFormat, major, rd.order.Uint16(h[6:]))
	}
	rd.snaplen = rd.order.Uint32(h[16:])
	// The top bits of the link-type field carry FCS information
	// (draft-ietf-opsawg-pcap, "LinkType and additional information").
	rd.linkType = rd.order.Uint32(h[20:]) & 0x0fffffff
	return rd, nil
}

// Nanoseconds reports whether the file's timestamps are in nanoseconds.
func (r *Reader) Nanoseconds() bool { return r.nano }

// Snaplen returns the file's snapshot length.
func (r *Reader) Snaplen() uint32 { return r.snaplen }

// LinkType returns the file's link type (101 for raw IP).
func (r *Reader) LinkType() uint32 { return r.linkType }

// Next returns the next record. Its Data is valid until the next call. At
// the end of the file Next returns io.EOF; a record cut short gives
// io.ErrUnexpectedEOF.
func (r *Reader) Next() (Record, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return Record{}, err // io.EOF only when no byte of a header was there
	}
	sec := r.order.Uint32(r.hdr[0:])
	frac := r.order.Uint32(r.hdr[4:])
	incl := r.order.Uint32(r.hdr[8:])
	orig := r.order.Uint32(r.hdr[12:])
	limit := uint32(1e6)
	if r.nano {
		limit = 1e9
	}
	if frac >= limit {
		return Record{}, fmt.Errorf("%w: timestamp fraction %d out of range", ErrFormat, frac)
	}
	if incl > maxRecord {
		return Record{}, fmt.Errorf("%w: record of %d bytes", ErrFormat, incl)
	}
	if cap(r.buf) < int(incl) {
		r.buf = make([]byte, incl)
	}
	r.buf = r.buf[:incl]
	if _, err := io.ReadFull(r.r, r.buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, err
	}
	ns := int64(frac)
	if !r.nano {
		ns *= 1000
	}
	return Record{
		Time:    time.Unix(int64(sec), ns).UTC(),
		OrigLen: int(orig),
		Data:    r.buf,
	}, nil
}
