package tcp

import "berth/seq"

// seqRange is the half-open range [start, end) of sequence space. stamp
// orders the ranges of the out-of-order queue by when they last grew (the
// latest has the highest), for the order of SACK blocks.
type seqRange struct {
	start, end seq.Value
	stamp      uint32
}

// The out-of-order queue (RFC 9293 §3.10.7.4, "Segments with higher
// beginning sequence numbers may be held for later processing"; RFC 5681
// §4.2 asks receivers to keep them). The bytes themselves are written
// straight into the receive ring at their place after RCV.NXT, so the queue
// is only this sorted list of disjoint, non-adjacent ranges beyond RCV.NXT:
//
//	 read    RCV.NXT        hole       [ooo 0 ]  hole  [ooo 1]   RCV.NXT+RCV.WND
//	--|=========|-------------------|########|------|######|--------|--
//	    unread                         held          held
//
// Memory is bounded twice: by the receive window (nothing is kept beyond
// it) and by the number of ranges (Config.MaxOOORanges), so a peer cannot
// make the list long with many one-byte islands.

// oooInsert merges [s, e) into the sorted list. It reports false, leaving
// the list unchanged, when the range would add an island to a list that
// already holds limit of them. The range that takes [s, e) gets the newest
// stamp.
func oooInsert(list []seqRange, s, e seq.Value, limit int) ([]seqRange, bool) {
	var stamp uint32
	for _, r := range list {
		stamp = max(stamp, r.stamp)
	}
	stamp++
	// Find the first range that ends at or after s: everything before it
	// lies wholly to the left of the new range.
	i := 0
	for i < len(list) && list[i].end.LessThan(s) {
		i++
	}
	// Absorb every range that touches or overlaps [s, e).
	j := i
	for j < len(list) && list[j].start.LessThanEq(e) {
		s = seq.Min(s, list[j].start)
		e = seq.Max(e, list[j].end)
		j++
	}
	if i == j { // a new island
		if len(list) >= limit {
			return list, false
		}
		list = append(list, seqRange{})
		copy(list[i+1:], list[i:])
		list[i] = seqRange{s, e, stamp}
		return list, true
	}
	list[i] = seqRange{s, e, stamp}
	list = append(list[:i+1], list[j:]...)
	return list, true
}

// oooAdvance takes the ranges that RCV.NXT has reached off the front of the
// list and returns the new RCV.NXT: the end of the contiguous data.
func oooAdvance(list []seqRange, nxt seq.Value) ([]seqRange, seq.Value) {
	k := 0
	for k < len(list) && list[k].start.LessThanEq(nxt) {
		nxt = seq.Max(nxt, list[k].end)
		k++
	}
	if k == 0 {
		return list, nxt
	}
	n := copy(list, list[k:])
	return list[:n], nxt
}
