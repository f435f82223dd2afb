package fault

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"berth/link"
	"berth/link/mem"
)

// On clock.Real inside a bubble, delays run on virtual time, and the bubble
// only ends if Close left no timer goroutine and no mem goroutine behind.
func TestRealClockDelayInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mem.Pair()
		f := Wrap(a, On(Both), Delay(10*time.Millisecond, 0))
		var mu sync.Mutex
		var atB, atA [][]byte
		counts := func() (int, int) {
			mu.Lock()
			defer mu.Unlock()
			return len(atB), len(atA)
		}
		b.Attach(link.ReceiverFunc(func(p []byte) {
			mu.Lock()
			atB = append(atB, bytes.Clone(p))
			mu.Unlock()
			b.Write([][]byte{p}) // echo: delayed again on f's inbound path
		}))
		f.Attach(link.ReceiverFunc(func(p []byte) {
			mu.Lock()
			atA = append(atA, bytes.Clone(p))
			mu.Unlock()
		}))
		f.Write([][]byte{pkt(1, 40)})
		time.Sleep(9 * time.Millisecond)
		synctest.Wait()
		if nb, _ := counts(); nb != 0 {
			t.Fatal("arrived before 10ms")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if nb, na := counts(); nb != 1 || na != 0 {
			t.Fatalf("at 10ms: %d at b, %d back at a", nb, na)
		}
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		mu.Lock()
		echoes := slices.Clone(atA)
		mu.Unlock()
		if len(echoes) != 1 || !bytes.Equal(echoes[0], pkt(1, 40)) {
			t.Fatalf("echo at 20ms: %x", echoes)
		}
		// Packets still on timers when Close comes are discarded, and
		// Close does not wait for their deadlines.
		f.Write([][]byte{pkt(2, 40)})
		start := time.Now()
		f.Close()
		if time.Since(start) != 0 {
			t.Fatal("Close waited for a delayed packet's deadline")
		}
	})
}

// Hammer every path at once under the race detector: writers, inbound
// traffic, Set and timers firing, then Close.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mem.Pair()
		f := Wrap(a, Seed(1), On(Both), Loss(0.1), Duplicate(0.1), Corrupt(0.1),
			Reorder(0.1, 0), Delay(time.Millisecond, time.Millisecond), Rate(1e8, 1<<20))
		f.Attach(link.ReceiverFunc(func(p []byte) { f.Stats() }))
		b.Attach(link.ReceiverFunc(func(p []byte) { b.Write([][]byte{p}) }))
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for i := range 200 {
					f.Write([][]byte{pkt(uint32(w*1000+i), 100)})
					if i%50 == 0 {
						f.Set(Reorder(0.2, time.Duration(i)*time.Microsecond))
					}
					time.Sleep(100 * time.Microsecond)
				}
			})
		}
		wg.Wait()
		time.Sleep(50 * time.Millisecond)
		f.Close()
		if st := f.StatsOf(Outbound); st.Passed+st.Dropped+st.Overflow == 0 {
			t.Fatal("nothing happened")
		}
	})
}

func TestPassThroughWithoutOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := mem.Pair()
		f := Wrap(a)
		var got []uint32
		b.Attach(link.ReceiverFunc(func(p []byte) { got = append(got, seqOf(p)) }))
		for i := range 100 {
			f.Write([][]byte{pkt(uint32(i), 60)})
		}
		synctest.Wait()
		f.Close()
		if !slices.Equal(got, seqRange(100)) {
			t.Fatalf("got %v", got)
		}
	})
}
