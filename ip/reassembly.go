package ip

import (
	"net/netip"
	"slices"
	"time"

	"berth/buf"
	"berth/wire"
)

// Reassembly of fragments, one reassembler for both families: IPv4's
// (RFC 791 §3.2, RFC 815) and IPv6's (RFC 8200 §4.5, reassembly6.go).
//
// Untrusted fragments are held under bounds: per source address (bytes and
// datagrams in progress) and in total, each datagram for at most the
// reassembly timeout after its first fragment. A fragment that overlaps
// another of the same datagram discards the whole datagram, as RFC 5722
// requires for IPv6 and Linux does for IPv4 since FragmentSmack; an exact
// duplicate (a link that duplicates) is dropped alone.

// fragKey names the datagram a fragment belongs to. The addresses tell the
// families apart. IPv4 keys on the protocol too (RFC 791 §3.2); IPv6 on
// source, destination and the 32-bit identification alone (RFC 8200 §4.5),
// with proto 0.
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type fragPiece struct {
	off, end int // payload bytes [off, end)
	b        *buf.Buffer
}

type datagram struct {
	key    fragKey
	pieces []fragPiece // sorted by off, never overlapping
	held   int
	total  int // payload length once the last fragment is in, else -1
	// header holds the headers of the fragment at offset 0, once it is in:
	// IPv4's header, or IPv6's headers through the Fragment header. It
	// points into inline when they fit.
	header   []byte
	inline   [inlineHeader]byte
	fragAt   int // IPv6: offset of the Fragment header in header
	nextAt   int // IPv6: offset of the Next Header field that names it
	deadline time.Time
}

// inlineHeader is room for the longest IPv4 header and for IPv6 headers
// without extension headers before the Fragment header.
const inlineHeader = 60

type srcUse struct{ bytes, count int }

type reassembler struct {
	timeout   time.Duration // IPv4
	timeout6  time.Duration
	perSource int
	maxPerSrc int
	limit     int

	dgrams map[fragKey]*datagram
	bySrc  map[netip.Addr]srcUse
	queue  []*datagram // by ascending deadline
	held   int
}

func (r *reassembler) init(cfg Config) {
	r.timeout = cfg.ReasmTimeout
	if r.timeout == 0 {
		r.timeout = 30 * time.Second
	}
	r.timeout6 = cfg.ReasmTimeout6
	if r.timeout6 == 0 {
		r.timeout6 = 60 * time.Second
	}
	r.perSource = cfg.ReasmPerSource
	if r.perSource == 0 {
		r.perSource = 256 << 10
	}
	r.maxPerSrc = cfg.ReasmMaxPerSrc
	if r.maxPerSrc == 0 {
		r.maxPerSrc = 64
	}
	r.limit = cfg.ReasmTotal
	if r.limit == 0 {
		r.limit = 4 << 20
	}
	r.dgrams = make(map[fragKey]*datagram)
	r.bySrc = make(map[netip.Addr]srcUse)
}

// frag is one fragment as the reassembler takes it, after its family
// checked what is its own to check.
type frag struct {
	key     fragKey
	off     int    // of data in the datagram's payload (IPv6: fragmentable part)
	data    []byte // the fragment's share of it
	more    bool
	head    []byte // at offset 0: the headers reassembly keeps
	fragAt  int    // IPv6: where the Fragment header is in head
	nextAt  int    // IPv6: the Next Header field naming it
	timeout time.Duration
}

// reasmVerdict is what became of a fragment, for the caller to count.
type reasmVerdict uint8

const (
	reasmHeld    reasmVerdict = iota // kept, or an exact duplicate dropped; the datagram is not whole yet
	reasmWhole                       // the fragment completed the datagram
	reasmFailed                      // the datagram or the fragment was dropped
	reasmOverlap                     // the datagram was dropped: the fragment overlapped another (RFC 5722)
)

// add takes one fragment and returns its datagram with reasmWhole when
// the fragment completes it; the caller then builds it with assemble.
func (r *reassembler) add(now time.Time, f *frag) (*datagram, reasmVerdict) {
	end := f.off + len(f.data)
	n := len(f.data)
	if f.off == 0 && len(f.head) > inlineHeader {
		n += len(f.head) // headers that do not fit inline take memory of their own
	}
	key := f.key
	d := r.dgrams[key]
	if d == nil {
		use := r.bySrc[key.src]
		if use.count >= r.maxPerSrc || use.bytes+n > r.perSource || r.held+n > r.limit {
			return nil, reasmFailed
		}
		d = &datagram{key: key, total: -1, deadline: now.Add(f.timeout)}
		r.dgrams[key] = d
		r.enqueue(d)
		use.count++
		r.bySrc[key.src] = use
	} else {
		use := r.bySrc[key.src]
		if use.bytes+n > r.perSource || r.held+n > r.limit {
			r.discard(d)
			return nil, reasmFailed
		}
	}
	if !f.more {
		if (d.total >= 0 && d.total != end) || (len(d.pieces) > 0 && d.pieces[len(d.pieces)-1].end > end) {
			r.discard(d)
			return nil, reasmFailed
		}
		d.total = end
	} else if d.total >= 0 && end > d.total {
		r.discard(d)
		return nil, reasmFailed
	}
	i, _ := slices.BinarySearchFunc(d.pieces, f.off, func(p fragPiece, off int) int { return p.off - off })
	for _, nb := range [2]int{i - 1, i} {
		if nb < 0 || nb >= len(d.pieces) {
			continue
		}
		p := d.pieces[nb]
		if f.off < p.end && p.off < end {
			if p.off == f.off && p.end == end {
				return d, reasmHeld // exact duplicate: keep the first copy
			}
			r.discard(d)
			return nil, reasmOverlap
		}
	}
	d.pieces = slices.Insert(d.pieces, i, fragPiece{off: f.off, end: end, b: buf.From(0, f.data)})
	d.held += n
	r.held += n
	use := r.bySrc[key.src]
	use.bytes += n
	r.bySrc[key.src] = use
	if f.off == 0 {
		if len(f.head) <= len(d.inline) {
			d.header = d.inline[:copy(d.inline[:], f.head)]
		} else {
			d.header = slices.Clone(f.head)
		}
		d.fragAt, d.nextAt = f.fragAt, f.nextAt
	}
	if d.total < 0 || d.header == nil {
		return d, reasmHeld
	}
	next := 0
	for _, p := range d.pieces {
		if p.off != next {
			return d, reasmHeld
		}
		next = p.end
	}
	if next != d.total {
		return d, reasmHeld
	}
	return d, reasmWhole
}

// assemble builds a whole datagram, its first hlen header bytes and the
// pieces' payload, and forgets it. The caller fixes the header's fields
// and releases the buffer.
func (r *reassembler) assemble(d *datagram, hlen int) *buf.Buffer {
	whole := buf.New(buf.Headroom, hlen+d.total)
	copy(whole.Extend(hlen), d.header[:hlen])
	for _, p := range d.pieces {
		whole.Append(p.b.Bytes())
	}
	r.discard(d)
	return whole
}

// enqueue places d in the queue by its deadline, after those due no later:
// the two families' timeouts differ, so arrival order is not enough.
func (r *reassembler) enqueue(d *datagram) {
	i, _ := slices.BinarySearchFunc(r.queue, d.deadline, func(x *datagram, t time.Time) int {
		if x.deadline.After(t) {
			return 1
		}
		return -1
	})
	r.queue = slices.Insert(r.queue, i, d)
}

// discard forgets a datagram and frees what it held.
func (r *reassembler) discard(d *datagram) {
	for _, p := range d.pieces {
		p.b.Release()
	}
	r.held -= d.held
	use := r.bySrc[d.key.src]
	use.bytes -= d.held
	use.count--
	if use.count <= 0 {
		delete(r.bySrc, d.key.src)
	} else {
		r.bySrc[d.key.src] = use
	}
	delete(r.dgrams, d.key)
	if i := slices.Index(r.queue, d); i >= 0 {
		r.queue = slices.Delete(r.queue, i, i+1)
	}
	d.pieces = nil
}

// reassemble4 takes an IPv4 fragment and returns the whole datagram when
// this fragment completes it. The caller releases the returned buffer.
func (l *Layer) reassemble4(now time.Time, h wire.IPv4) *buf.Buffer {
	payload := h.Payload()
	off := h.FragmentOffset()
	mf := h.MoreFragments()
	// Every fragment but the last carries a multiple of 8 bytes, and no
	// datagram exceeds 65535 bytes.
	if (mf && (len(payload) == 0 || len(payload)%8 != 0)) || off+len(payload)+h.HeaderLen() > 65535 {
		l.Stats.ReasmFails++
		return nil
	}
	f := frag{
		key: fragKey{src: h.Src(), dst: h.Dst(), id: uint32(h.ID()), proto: h.Protocol()},
		off: off, data: payload, more: mf, timeout: l.reasm.timeout,
	}
	if off == 0 {
		f.head = h[:h.HeaderLen()]
	}
	d, v := l.reasm.add(now, &f)
	switch v {
	case reasmHeld:
		return nil
	case reasmFailed:
		l.Stats.ReasmFails++
		return nil
	case reasmOverlap:
		l.Stats.ReasmFails++
		l.Stats.ReasmOverlaps++
		return nil
	}
	whole := l.reasm.assemble(d, len(d.header))
	wh := wire.IPv4(whole.Bytes())
	wh.SetTotalLen(whole.Len())
	wh.SetFragment(wh.DontFragment(), false, 0)
	wh.UpdateChecksum()
	l.Stats.ReasmOKs++
	return whole
}

// NextDeadline reports when Tick must next run, zero when nothing waits.
func (l *Layer) NextDeadline() time.Time {
	if len(l.reasm.queue) == 0 {
		return time.Time{}
	}
	return l.reasm.queue[0].deadline
}

// Tick expires datagrams whose reassembly timed out. When the first
// fragment arrived, its source hears so, quoting it: "fragment reassembly
// time exceeded" (RFC 792, RFC 1122 §3.2.2.4; for IPv6 RFC 8200 §4.5,
// ICMPv6 Time Exceeded code 1).
func (l *Layer) Tick(now time.Time) {
	l.depth++
	for len(l.reasm.queue) > 0 && !l.reasm.queue[0].deadline.After(now) {
		d := l.reasm.queue[0]
		if d.key.src.Is6() {
			l.Stats6.ReasmTimeout++
			l.Stats6.ReasmFails++
			if d.header != nil {
				l.reassemblyTimeExceeded6(now, d)
			}
			l.reasm.discard(d)
			continue
		}
		l.Stats.ReasmTimeout++
		l.Stats.ReasmFails++
		if d.header != nil {
			hlen := len(d.header)
			q := make([]byte, hlen+min(8, d.pieces[0].end))
			copy(q, d.header)
			copy(q[hlen:], d.pieces[0].b.Bytes())
			if oh, err := wire.NewQuotedIPv4(q); err == nil {
				l.SendError(now, oh, wire.ICMPv4TimeExceeded, wire.ICMPv4ReassemblyTimeExceeded, 0)
			}
		}
		l.reasm.discard(d)
	}
	l.leave(now)
}

// ReasmHeld reports the bytes and datagrams held for reassembly.
func (l *Layer) ReasmHeld() (bytes, datagrams int) { return l.reasm.held, len(l.reasm.dgrams) }
