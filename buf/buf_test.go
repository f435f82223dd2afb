package buf

import (
	"bytes"
	"testing"
)

func TestPrependBuildsBackToFront(t *testing.T) {
	b := New(Headroom, 4)
	b.Append([]byte("data"))
	copy(b.Prepend(3), "tcp")
	copy(b.Prepend(2), "ip")
	if got := string(b.Bytes()); got != "iptcpdata" {
		t.Fatalf("packet = %q", got)
	}
	if b.Headroom() != Headroom-5 {
		t.Fatalf("headroom = %d", b.Headroom())
	}
	b.TrimFront(2)
	b.Truncate(3)
	if got := string(b.Bytes()); got != "tcp" {
		t.Fatalf("after trim = %q", got)
	}
	b.Release()
}

func TestPrependPastHeadroomPanics(t *testing.T) {
	b := New(2, 0)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	b.Prepend(3)
}

func TestExtendGrowsKeepingContent(t *testing.T) {
	b := New(8, 10)
	b.Append(bytes.Repeat([]byte{7}, 200))
	b.Append(bytes.Repeat([]byte{9}, 3000)) // beyond the 256-byte class
	if b.Len() != 3200 || b.Bytes()[199] != 7 || b.Bytes()[200] != 9 {
		t.Fatalf("len %d, content lost", b.Len())
	}
	if b.Headroom() != 8 {
		t.Fatalf("headroom moved to %d", b.Headroom())
	}
	b.Release()
}

func TestHugeBufferIsNotPooled(t *testing.T) {
	b := New(Headroom, 100000)
	if b.class != -1 {
		t.Fatalf("class %d", b.class)
	}
	b.Release() // must not panic or pool
}

func TestSteadyStateDoesNotAllocate(t *testing.T) {
	payload := make([]byte, 1400)
	allocs := testing.AllocsPerRun(1000, func() {
		b := From(Headroom, payload)
		b.Prepend(20)
		b.Release()
	})
	if allocs != 0 {
		t.Fatalf("allocs per packet = %v, want 0", allocs)
	}
}

func BenchmarkNewRelease1500(b *testing.B) {
	p := make([]byte, 1460)
	b.ReportAllocs()
	for b.Loop() {
		x := From(Headroom, p)
		x.Prepend(40)
		x.Release()
	}
}
