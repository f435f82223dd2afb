package mem

import (
	"fmt"
	"testing"

	"berth/link"
)

// BenchmarkPair measures packets per second through a pair. The writer
// keeps at most half a queue in flight (a credit returned per delivery), so
// what is measured is delivery, not drops.
func BenchmarkPair(b *testing.B) {
	for _, size := range []int{64, 1500} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			x, y := Pair()
			defer x.Close()
			credit := make(chan struct{}, DefaultQueueLen/2)
			for range cap(credit) {
				credit <- struct{}{}
			}
			y.Attach(link.ReceiverFunc(func([]byte) { credit <- struct{}{} }))
			batch := [][]byte{make([]byte, size)}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				<-credit
				x.Write(batch)
			}
			for range cap(credit) { // drain: every packet delivered
				<-credit
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
			if s := x.Stats(); s.TxDropped != 0 {
				b.Fatalf("%d drops", s.TxDropped)
			}
		})
	}
}
