package ip

import (
	"net/netip"
	"slices"
	"time"

	"berth/buf"
	"berth/wire"
)

// Reassembly of IPv4 fragments (RFC 791 §3.2, RFC 815).
//
// Untrusted fragments are held under bounds: per source address (bytes and
// datagrams in progress) and in total, each datagram for at most the
// reassembly timeout after its first fragment. A fragment that overlaps
// another of the same datagram discards the whole datagram, as RFC 5722
// requires for IPv6 and Linux does for IPv4 since FragmentSmack; an exact
// duplicate (a link that duplicates) is dropped alone.

type fragKey struct {
	src, dst netip.Addr
	id       uint16
	proto    uint8
}

type fragPiece struct {
	off, end int // payload bytes [off, end)
	b        *buf.Buffer
}

type datagram struct {
	key      fragKey
	pieces   []fragPiece // sorted by off, never overlapping
	held     int
	total    int // payload length once the last fragment is in, else -1
	header   [60]byte
	hlen     int // header of the fragment at offset 0, once it is in
	deadline time.Time
}

type srcUse struct{ bytes, count int }

type reassembler struct {
	timeout   time.Duration
	perSource int
	maxPerSrc int
	limit     int

	dgrams map[fragKey]*datagram
	bySrc  map[netip.Addr]srcUse
	queue  []*datagram // in arrival order, so deadlines are ascending
	held   int
}

func (r *reassembler) init(cfg Config) {
	r.timeout = cfg.ReasmTimeout
	if r.timeout == 0 {
		r.timeout = 30 * time.Second
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

// add takes one fragment and returns the whole datagram when this fragment
// completes it. The caller releases the returned buffer.
func (r *reassembler) add(l *Layer, now time.Time, h wire.IPv4) *buf.Buffer {
	payload := h.Payload()
	off := h.FragmentOffset()
	end := off + len(payload)
	mf := h.MoreFragments()
	// Every fragment but the last carries a multiple of 8 bytes, and no
	// datagram exceeds 65535 bytes.
	if (mf && (len(payload) == 0 || len(payload)%8 != 0)) || end+h.HeaderLen() > 65535 {
		l.Stats.ReasmFails++
		return nil
	}
	key := fragKey{src: h.Src(), dst: h.Dst(), id: h.ID(), proto: h.Protocol()}
	d := r.dgrams[key]
	if d == nil {
		use := r.bySrc[key.src]
		if use.count >= r.maxPerSrc || use.bytes+len(payload) > r.perSource || r.held+len(payload) > r.limit {
			l.Stats.ReasmFails++
			return nil
		}
		d = &datagram{key: key, total: -1, deadline: now.Add(r.timeout)}
		r.dgrams[key] = d
		r.queue = append(r.queue, d)
		use.count++
		r.bySrc[key.src] = use
	} else {
		use := r.bySrc[key.src]
		if use.bytes+len(payload) > r.perSource || r.held+len(payload) > r.limit {
			r.discard(d)
			l.Stats.ReasmFails++
			return nil
		}
	}
	if !mf {
		if (d.total >= 0 && d.total != end) || (len(d.pieces) > 0 && d.pieces[len(d.pieces)-1].end > end) {
			r.discard(d)
			l.Stats.ReasmFails++
			return nil
		}
		d.total = end
	} else if d.total >= 0 && end > d.total {
		r.discard(d)
		l.Stats.ReasmFails++
		return nil
	}
	i, _ := slices.BinarySearchFunc(d.pieces, off, func(p fragPiece, off int) int { return p.off - off })
	for _, nb := range [2]int{i - 1, i} {
		if nb < 0 || nb >= len(d.pieces) {
			continue
		}
		p := d.pieces[nb]
		if off < p.end && p.off < end {
			if p.off == off && p.end == end {
				return nil // exact duplicate: keep the first copy
			}
			r.discard(d)
			l.Stats.ReasmFails++
			l.Stats.ReasmOverlaps++
			return nil
		}
	}
	d.pieces = slices.Insert(d.pieces, i, fragPiece{off: off, end: end, b: buf.From(0, payload)})
	d.held += len(payload)
	r.held += len(payload)
	use := r.bySrc[key.src]
	use.bytes += len(payload)
	r.bySrc[key.src] = use
	if off == 0 {
		d.hlen = copy(d.header[:], h[:h.HeaderLen()])
	}
	if d.total < 0 || d.hlen == 0 {
		return nil
	}
	next := 0
	for _, p := range d.pieces {
		if p.off != next {
			return nil
		}
		next = p.end
	}
	if next != d.total {
		return nil
	}
	whole := buf.New(buf.Headroom, d.hlen+d.total)
	copy(whole.Extend(d.hlen), d.header[:d.hlen])
	for _, p := range d.pieces {
		whole.Append(p.b.Bytes())
	}
	wh := wire.IPv4(whole.Bytes())
	wh.SetTotalLen(whole.Len())
	wh.SetFragment(wh.DontFragment(), false, 0)
	wh.UpdateChecksum()
	r.discard(d)
	l.Stats.ReasmOKs++
	return whole
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

// NextDeadline reports when Tick must next run, zero when nothing waits.
func (l *Layer) NextDeadline() time.Time {
	if len(l.reasm.queue) == 0 {
		return time.Time{}
	}
	return l.reasm.queue[0].deadline
}

// Tick expires datagrams whose reassembly timed out. RFC 792 / RFC 1122
// §3.2.2.4: when the first fragment arrived, the source hears "fragment
// reassembly time exceeded" quoting it.
func (l *Layer) Tick(now time.Time) {
	l.depth++
	for len(l.reasm.queue) > 0 && !l.reasm.queue[0].deadline.After(now) {
		d := l.reasm.queue[0]
		l.Stats.ReasmTimeout++
		l.Stats.ReasmFails++
		if d.hlen > 0 {
			q := make([]byte, d.hlen+min(8, d.pieces[0].end))
			copy(q, d.header[:d.hlen])
			copy(q[d.hlen:], d.pieces[0].b.Bytes())
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
