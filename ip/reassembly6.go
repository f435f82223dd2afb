package ip

import (
	"time"

	"berth/buf"
	"berth/wire"
)

// reassemble6 takes an IPv6 fragment that checkFragment6 passed (t is its
// walk) and returns the whole packet when this fragment completes it
// (RFC 8200 §4.5). The caller releases the returned buffer.
//
// The reassembled packet is the unfragmentable part of the fragment at
// offset 0, the Next Header field that named its Fragment header now
// holding that header's Next Header, followed by the fragmentable parts
// in order; its Payload Length is recomputed. Fragments of one packet are
// those with the same source, destination and identification.
func (l *Layer) reassemble6(now time.Time, h wire.IPv6, t wire.IPv6Transport) *buf.Buffer {
	s := &l.Stats6
	fragEnd := t.FragmentAt + wire.IPv6FragmentHeaderLen
	fr := t.Fragment
	f := frag{
		key: fragKey{src: h.Src(), dst: h.Dst(), id: fr.ID},
		off: fr.FragmentOffset, data: h[fragEnd:], more: fr.MoreFragments,
		timeout: l.reasm.timeout6,
	}
	if f.more && len(f.data) == 0 {
		s.ReasmFails++ // an empty fragment that is not the last adds nothing
		return nil
	}
	if f.off == 0 {
		f.head, f.fragAt, f.nextAt = h[:fragEnd], t.FragmentAt, t.FragmentNextHeaderAt
	}
	d, v := l.reasm.add(now, &f)
	switch v {
	case reasmHeld:
		return nil
	case reasmFailed:
		s.ReasmFails++
		return nil
	case reasmOverlap:
		s.ReasmFails++
		s.ReasmOverlaps++
		return nil
	}
	if d.fragAt-wire.IPv6HeaderLen+d.total > 0xffff {
		// Later fragments were checked against their own unfragmentable
		// part; the first one's may be longer.
		l.reasm.discard(d)
		s.ReasmFails++
		return nil
	}
	next, at := d.header[d.fragAt], d.nextAt
	whole := l.reasm.assemble(d, d.fragAt)
	wb := whole.Bytes()
	wb[at] = next
	wire.IPv6(wb).SetPayloadLen(len(wb) - wire.IPv6HeaderLen)
	s.ReasmOKs++
	return whole
}

// reassemblyTimeExceeded6 tells the source of a packet whose reassembly
// timed out, quoting the first fragment as it arrived (RFC 8200 §4.5: Time
// Exceeded code 1, sent only when the first fragment is in).
func (l *Layer) reassemblyTimeExceeded6(now time.Time, d *datagram) {
	first := d.pieces[0].b.Bytes()
	q := make([]byte, min(len(d.header)+len(first), maxQuote6))
	copy(q[copy(q, d.header):], first)
	l.SendError6(now, wire.IPv6(q), wire.ICMPv6TimeExceeded, wire.ICMPv6ReassemblyTimeExceeded, 0)
}
