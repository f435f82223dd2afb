package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"time"
)

// capture writes a pcap file (LINKTYPE_RAW, nanosecond timestamps, the
// format link/pcap writes and Wireshark reads): a 24-byte file header, then
// a 16-byte record header and the bare IP packet per record. Records are
// written only by whoever holds n.mu, in schedule order, so the file is the
// same on every run with the same seed.
type capture struct {
	w       io.Writer
	err     error
	scratch []byte
}

const (
	pcapMagicNano = 0xa1b23c4d
	pcapSnaplen   = 65535
	linkTypeRaw   = 101
)

func newCapture(w io.Writer) (*capture, error) {
	c := &capture{w: w}
	b := binary.LittleEndian.AppendUint32(nil, pcapMagicNano)
	b = binary.LittleEndian.AppendUint16(b, 2) // version 2.4
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0) // thiszone: UTC
	b = binary.LittleEndian.AppendUint32(b, 0) // sigfigs
	b = binary.LittleEndian.AppendUint32(b, pcapSnaplen)
	b = binary.LittleEndian.AppendUint32(b, linkTypeRaw)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *capture) record(ts time.Time, pkt []byte) {
	if c.err != nil {
		return
	}
	incl := min(len(pkt), pcapSnaplen)
	b := c.scratch[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(ts.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts.Nanosecond()))
	b = binary.LittleEndian.AppendUint32(b, uint32(incl))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(pkt)))
	b = append(b, pkt[:incl]...)
	c.scratch = b
	_, c.err = c.w.Write(b)
}

func (c *capture) flush() {
	if f, ok := c.w.(interface{ Flush() error }); ok && c.err == nil {
		c.err = f.Flush()
	}
}

// tracer keeps the text trace: one line per packet event, hashed as it is
// written, so that the hash names the run.
type tracer struct {
	w    io.Writer // may be nil: hash only
	err  error
	h    hash.Hash
	line []byte
	n    uint64
}

func newTracer(w io.Writer) *tracer { return &tracer{w: w, h: sha256.New()} }

// begin starts a line: virtual time (seconds since the network started,
// to the nanosecond), what happened, and the path.
func (t *tracer) begin(at int64, verb string, from, to string) []byte {
	b := t.line[:0]
	b = appendSeconds(b, at)
	b = append(b, ' ')
	b = append(b, verb...)
	b = append(b, ' ')
	for i := len(verb); i < 17; i++ {
		b = append(b, ' ')
	}
	b = append(b, from...)
	b = append(b, '>')
	b = append(b, to...)
	b = append(b, ' ')
	return b
}

// end finishes and writes a line begun with begin.
func (t *tracer) end(b []byte) {
	b = append(b, '\n')
	t.line = b
	t.n++
	t.h.Write(b)
	if t.w != nil && t.err == nil {
		_, t.err = t.w.Write(b)
	}
}

func (t *tracer) sum() string { return hex.EncodeToString(t.h.Sum(nil)) }

// appendSeconds writes ns nanoseconds as seconds with nine decimals.
func appendSeconds(b []byte, ns int64) []byte {
	b = strconv.AppendInt(b, ns/1e9, 10)
	b = append(b, '.')
	frac := strconv.AppendInt(nil, ns%1e9+1e9, 10)
	return append(b, frac[1:]...)
}
