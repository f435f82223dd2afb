package seq

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestCompareAcrossWrap(t *testing.T) {
	const top = Value(math.MaxUint32)
	cases := []struct {
		a, b Value
		less bool // a < b in sequence space
	}{
		{0, 1, true},
		{1, 0, false},
		{top, 0, true},       // 2^32-1 precedes 0
		{top - 5, 10, true},  // the picture in the package comment
		{10, top - 5, false}, // and the other way round
		{0x7fffffff, 0x80000000, true},
		{0x80000000, 0x7fffffff, false},
		{100, 100 + 0x7fffffff, true}, // just under half the circle ahead
		{5, 5, false},
	}
	for _, c := range cases {
		if got := c.a.LessThan(c.b); got != c.less {
			t.Errorf("%d.LessThan(%d) = %v, want %v", c.a, c.b, got, c.less)
		}
		if got := c.b.GreaterThan(c.a); got != c.less {
			t.Errorf("%d.GreaterThan(%d) = %v, want %v", c.b, c.a, got, c.less)
		}
		eq := c.a == c.b
		if got := c.a.LessThanEq(c.b); got != (c.less || eq) {
			t.Errorf("%d.LessThanEq(%d) = %v", c.a, c.b, got)
		}
		if got := c.a.GreaterThanEq(c.b); got != !c.less {
			t.Errorf("%d.GreaterThanEq(%d) = %v", c.a, c.b, got)
		}
	}
}

func TestInRangeAndWindow(t *testing.T) {
	const top = Value(math.MaxUint32)
	cases := []struct {
		v, a, b Value
		in      bool
	}{
		{5, 5, 10, true},   // left edge included
		{9, 5, 10, true},   // last number included
		{10, 5, 10, false}, // right edge excluded
		{4, 5, 10, false},  // before
		{5, 5, 5, false},   // empty range
		{top, top - 1, 3, true},
		{0, top - 1, 3, true}, // window straddles the wrap
		{2, top - 1, 3, true},
		{3, top - 1, 3, false},
		{top - 2, top - 1, 3, false},
	}
	for _, c := range cases {
		if got := c.v.InRange(c.a, c.b); got != c.in {
			t.Errorf("%d.InRange(%d, %d) = %v, want %v", c.v, c.a, c.b, got, c.in)
		}
		if got := c.v.InWindow(c.a, Sized(c.a, c.b)); got != c.in {
			t.Errorf("%d.InWindow(%d, %d) = %v, want %v", c.v, c.a, Sized(c.a, c.b), got, c.in)
		}
	}
}

func TestAddSubMinMax(t *testing.T) {
	const top = Value(math.MaxUint32)
	if got := top.Add(1); got != 0 {
		t.Errorf("top+1 = %d, want 0", got)
	}
	if got := top.Add(10); got != 9 {
		t.Errorf("top+10 = %d, want 9", got)
	}
	if got := Value(9).Sub(top); got != 10 {
		t.Errorf("9-top = %d, want 10", got)
	}
	if got := Sized(top-1, 4); got != 6 {
		t.Errorf("Sized(top-1, 4) = %d, want 6", got)
	}
	if got := Max(top, 3); got != 3 {
		t.Errorf("Max(top, 3) = %d, want 3", got)
	}
	if got := Min(top, 3); got != top {
		t.Errorf("Min(top, 3) = %d, want %d", got, top)
	}
	if got := Max(7, 7); got != 7 {
		t.Errorf("Max(7,7) = %d", got)
	}
	if got := MinSize(3, 9); got != 3 {
		t.Errorf("MinSize(3,9) = %d", got)
	}
}

// Property: translating every operand by the same offset changes nothing.
// That is what "wrap-around arithmetic" means, and it catches any method
// that compares raw uint32s.
func TestTranslationInvariance(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		a := Value(r.Uint32())
		d1 := Size(r.Uint32N(1 << 31))
		d2 := Size(r.Uint32N(1 << 31))
		off := Size(r.Uint32())
		checkTranslated(t, a, a.Add(d1), a.Add(d2), off)
	}
}

func checkTranslated(t *testing.T, a, b, c Value, off Size) {
	t.Helper()
	a2, b2, c2 := a.Add(off), b.Add(off), c.Add(off)
	if a.LessThan(b) != a2.LessThan(b2) || a.LessThanEq(b) != a2.LessThanEq(b2) ||
		a.GreaterThan(b) != a2.GreaterThan(b2) || a.GreaterThanEq(b) != a2.GreaterThanEq(b2) {
		t.Fatalf("comparison of %d,%d changed under +%d", a, b, off)
	}
	if c.InRange(a, b) != c2.InRange(a2, b2) {
		t.Fatalf("%d.InRange(%d,%d) changed under +%d", c, a, b, off)
	}
	if b.Sub(a) != b2.Sub(a2) {
		t.Fatalf("%d-%d changed under +%d", b, a, off)
	}
	if Max(a, b).Add(off) != Max(a2, b2) || Min(a, b).Add(off) != Min(a2, b2) {
		t.Fatalf("Max/Min of %d,%d changed under +%d", a, b, off)
	}
}

// FuzzSeq checks the laws the TCP code relies on, for any numbers at all
// within half a circle of each other.
func FuzzSeq(f *testing.F) {
	f.Add(uint32(0), uint32(1), uint32(0), uint32(0))
	f.Add(uint32(math.MaxUint32), uint32(1), uint32(2), uint32(12345))
	f.Add(uint32(0x7fffffff), uint32(0x7fffffff), uint32(3), uint32(0x80000000))
	f.Fuzz(func(t *testing.T, av, d, cd, off uint32) {
		d &= 0x7fffffff // keep b within half a circle after a
		a := Value(av)
		b := a.Add(Size(d))
		c := a.Add(Size(cd))
		// Exactly one of <, ==, > holds.
		n := 0
		for _, x := range []bool{a.LessThan(b), a == b, a.GreaterThan(b)} {
			if x {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("trichotomy fails for %d, %d", a, b)
		}
		if d > 0 && !a.LessThan(b) {
			t.Fatalf("%d+%d is not after %d", a, d, a)
		}
		if b.Sub(a) != Size(d) || a.Add(b.Sub(a)) != b {
			t.Fatalf("Add/Sub do not invert for %d,%d", a, b)
		}
		// InRange is exactly "a <= c < b" measured the short way from a.
		want := a.LessThanEq(c) && c.LessThan(b)
		if uint32(cd) >= 1<<31 {
			want = false // c lies "before" a: outside any range starting at a
		}
		if c.InRange(a, b) != want {
			t.Fatalf("%d.InRange(%d,%d) = %v, want %v", c, a, b, !want, want)
		}
		if c.InRange(a, b) != c.InWindow(a, Sized(a, b)) {
			t.Fatalf("InRange and InWindow disagree")
		}
		if Max(a, b) != b || Min(a, b) != a {
			t.Fatalf("Max/Min wrong for %d,%d", a, b)
		}
		checkTranslated(t, a, b, c, Size(off))
	})
}
