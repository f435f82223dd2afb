package mem

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"berth/link"
)

// A pair made inside a synctest bubble blocks only on channels, so the
// bubble can tell when every packet has been delivered (synctest.Wait), and
// it ends only if Close really stopped every goroutine of the pair.
func TestPairInSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pair(QueueLen(16))
		// b echoes what it gets, from its delivery goroutine.
		b.Attach(link.ReceiverFunc(func(p []byte) { b.Write([][]byte{p}) }))
		var got [][]byte
		a.Attach(link.ReceiverFunc(func(p []byte) { got = append(got, bytes.Clone(p)) }))

		start := time.Now()
		for i := range 10 {
			a.Write([][]byte{numbered(i, 40)})
		}
		synctest.Wait() // every goroutine of the pair is idle: all echoes are in
		if len(got) != 10 {
			t.Fatalf("got %d echoes, want 10", len(got))
		}
		for i, p := range got {
			if !bytes.Equal(p, numbered(i, 40)) {
				t.Fatalf("echo %d = %x", i, p)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("delivery took %v of bubble time, want none", d)
		}
		a.Close()
	})
}
