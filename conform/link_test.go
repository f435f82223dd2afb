package conform

import (
	"bytes"
	"testing"
	"time"

	"berth/clock"
	"berth/link"
)

var _ link.Link = (*Link)(nil)

func TestLink_CapturesWithTimeAndDelivers(t *testing.T) {
	start := time.Unix(1000, 0)
	clk := clock.NewManual(start)
	l := NewLink(clk, 100)
	if n, err := l.Write([][]byte{{1, 2}, {3}}); n != 2 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	clk.Advance(time.Second)
	buf := []byte{4}
	l.Write([][]byte{buf})
	buf[0] = 9 // the link must have copied it
	if n, err := l.Write([][]byte{make([]byte, 101)}); n != 0 || err != link.ErrTooBig {
		t.Errorf("oversized Write = %d, %v; want 0, ErrTooBig", n, err)
	}
	if l.Queued() != 3 {
		t.Fatalf("Queued = %d, want 3", l.Queued())
	}
	for _, want := range []Sent{{start, []byte{1, 2}}, {start, []byte{3}}, {start.Add(time.Second), []byte{4}}} {
		got, ok := l.Take()
		if !ok || !got.At.Equal(want.At) || !bytes.Equal(got.Pkt, want.Pkt) {
			t.Errorf("Take = %v %x %v, want %v %x", got.At, got.Pkt, ok, want.At, want.Pkt)
		}
	}
	if _, ok := l.Take(); ok {
		t.Error("Take on an empty queue succeeded")
	}
	if l.Inject([]byte{1}) {
		t.Error("Inject with no receiver reported delivery")
	}
	var got []byte
	l.Attach(link.ReceiverFunc(func(p []byte) { got = append([]byte(nil), p...) }))
	if !l.Inject([]byte{7, 8}) || !bytes.Equal(got, []byte{7, 8}) {
		t.Errorf("Inject delivered %x", got)
	}
	l.SetMTU(1)
	if l.MTU() != 1 {
		t.Errorf("MTU = %d after SetMTU(1)", l.MTU())
	}
	l.Close()
	if _, err := l.Write([][]byte{{1}}); err != link.ErrClosed {
		t.Errorf("Write after Close: %v", err)
	}
}
