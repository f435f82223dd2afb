// Package seq is TCP sequence-number arithmetic (RFC 9293 §3.4): 32-bit
// numbers that wrap, compared only through methods that know about the wrap.
//
// Sequence space is a circle of 2^32 numbers. Two numbers are ordered by the
// shorter way round: b is "after" a when b-a, taken as a signed 32-bit
// distance, is positive. That is only meaningful while every window in use
// spans less than 2^31, which TCP guarantees (a scaled window is at most
// 2^30, RFC 7323 §2.3).
//
//	0                                                          2^32-1
//	├───c──────────────────────────────────────────────────b─────┤
//	    c = 10                                             b = 2^32-6
//
//	b.LessThan(c): forward from b, c is 16 numbers away (across the wrap);
//	forward from c, b is 2^32-16 away. The shorter way round decides.
//
// A window is a half-open interval [first, first+size) on the circle. This is
// the picture RFC 9293 §3.4 draws for the send side,
//
//	       1          2          3          4
//	  ----------|----------|----------|----------
//	         SND.UNA    SND.NXT    SND.UNA
//	                              +SND.WND
//	1 - old sequence numbers that have been acknowledged
//	2 - sequence numbers of unacknowledged data
//	3 - sequence numbers allowed for new data transmission
//	4 - future sequence numbers that are not yet allowed
//
// and for the receive side,
//
//	           1          2          3
//	       ----------|----------|----------
//	              RCV.NXT    RCV.NXT
//	                        +RCV.WND
//	1 - old sequence numbers that have been acknowledged
//	2 - sequence numbers allowed for new reception
//	3 - future sequence numbers that are not yet allowed
//
// so "is this byte in the receive window" is v.InWindow(rcvNxt, rcvWnd).
package seq

// Value is a sequence number. Compare Values only with the methods below,
// never with the operators on uint32: the operators are wrong at the wrap.
type Value uint32

// Size is a distance in sequence space: a number of sequence numbers, such as
// a window or a segment length (which counts SYN and FIN as one each).
type Size uint32

// LessThan reports v < w in sequence space.
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports v <= w in sequence space.
func (v Value) LessThanEq(w Value) bool { return int32(v-w) <= 0 }

// GreaterThan reports v > w in sequence space.
func (v Value) GreaterThan(w Value) bool { return int32(v-w) > 0 }

// GreaterThanEq reports v >= w in sequence space.
func (v Value) GreaterThanEq(w Value) bool { return int32(v-w) >= 0 }

// InRange reports a <= v < b. An empty range (a == b) holds nothing.
func (v Value) InRange(a, b Value) bool {
	// Measured from a, the range is [0, b-a): one unsigned comparison
	// covers both ends and every wrap.
	return uint32(v-a) < uint32(b-a)
}

// InWindow reports first <= v < first+size. A window of size zero holds
// nothing; RFC 9293 §3.10.7.4 treats zero windows specially, and the caller
// does so too.
func (v Value) InWindow(first Value, size Size) bool {
	return uint32(v-first) < uint32(size)
}

// Add returns v+n, wrapping.
func (v Value) Add(n Size) Value { return v + Value(n) }

// Sub returns the distance from w forward to v, that is v-w. It assumes
// w <= v in sequence space; otherwise the result is the long way round.
func (v Value) Sub(w Value) Size { return Size(v - w) }

// Sized returns the distance from `from` forward to `to` (to-from), the
// length of the range [from, to).
func Sized(from, to Value) Size { return Size(to - from) }

// Max returns the later of a and b in sequence space.
func Max(a, b Value) Value {
	if a.LessThan(b) {
		return b
	}
	return a
}

// Min returns the earlier of a and b in sequence space.
func Min(a, b Value) Value {
	if a.LessThan(b) {
		return a
	}
	return b
}

// MinSize returns the smaller of two sizes.
func MinSize(a, b Size) Size {
	if a < b {
		return a
	}
	return b
}
