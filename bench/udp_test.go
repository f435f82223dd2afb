package bench

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// udpWindow is how many datagrams the sender may have in flight: it takes
// a credit per datagram and the receiver returns one per datagram read.
// 64 × 1,400 B stays well inside every receive buffer (208 KiB, counted as
// payload by berth and gVisor, as skb truesize ≈ 2.3 KiB by Linux) and
// inside a link queue, so nothing is dropped and only deliveries count.
const udpWindow = 64

// udpStall is how long the receiver may wait for a datagram before the
// benchmark declares a loss (a lost datagram would keep its credit forever).
const udpStall = 5 * time.Second

var udpSizes = []int{64, 1400}

// BenchmarkUDP measures datagrams per second from one sender to one
// receiver through the blocking net.PacketConn of each contender. One op
// is one datagram received.
func BenchmarkUDP(b *testing.B) {
	for _, c := range contenders {
		b.Run("contender="+c.name, func(b *testing.B) {
			for _, size := range udpSizes {
				b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
					runUDP(b, c.udp(b), size)
				})
			}
		})
	}
}

func runUDP(b *testing.B, p *udpPair, size int) {
	credits := make(chan struct{}, udpWindow)
	for range udpWindow {
		credits <- struct{}{}
	}
	payload := make([]byte, size)
	rbuf := make([]byte, 65536)
	sendErr := make(chan error, 1)
	var received atomic.Int64
	stop := make(chan struct{})
	defer close(stop)

	// A watchdog instead of a read deadline per datagram, so the measured
	// path is plain ReadFrom: if nothing arrives for udpStall, a datagram
	// was lost (and its credit with it); closing rx ends the wait.
	var stalled atomic.Bool
	go func() {
		last := int64(-1)
		t := time.NewTicker(udpStall)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if n := received.Load(); n == last {
					stalled.Store(true)
					p.rx.Close()
					return
				} else {
					last = n
				}
			}
		}
	}()

	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		for range b.N {
			select {
			case <-credits:
			case <-stop:
				sendErr <- nil
				return
			}
			if _, err := p.tx.WriteTo(payload, p.to); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- nil
	}()
	for i := range b.N {
		n, _, err := p.rx.ReadFrom(rbuf)
		if err != nil {
			if stalled.Load() {
				b.Fatalf("no datagram for %v after %d of %d: datagrams were lost", udpStall, i, b.N)
			}
			b.Fatalf("ReadFrom: %v", err)
		}
		if n != size {
			b.Fatalf("datagram %d: %d bytes, want %d", i, n, size)
		}
		received.Add(1)
		credits <- struct{}{}
	}
	b.StopTimer()
	if err := <-sendErr; err != nil {
		b.Fatalf("WriteTo: %v", err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "dgrams/s")
}

// TestUDPDelivers checks that each contender's pair carries datagrams of
// several sizes intact, from the sender's address.
func TestUDPDelivers(t *testing.T) {
	for _, c := range contenders {
		t.Run(c.name, func(t *testing.T) {
			p := c.udp(t)
			rng := rand.New(rand.NewPCG(1, 2))
			buf := make([]byte, 65536)
			for _, size := range []int{1, 64, 1400, 1472} {
				want := make([]byte, size)
				for i := range want {
					want[i] = byte(rng.Uint32())
				}
				if _, err := p.tx.WriteTo(want, p.to); err != nil {
					t.Fatalf("WriteTo %d bytes: %v", size, err)
				}
				p.rx.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, from, err := p.rx.ReadFrom(buf)
				if err != nil {
					t.Fatalf("ReadFrom (%d bytes sent): %v", size, err)
				}
				if !bytes.Equal(buf[:n], want) {
					t.Fatalf("%d bytes sent, %d received, contents differ", size, n)
				}
				if got, wantPort := from.(*net.UDPAddr).Port, p.tx.LocalAddr().(*net.UDPAddr).Port; got != wantPort {
					t.Fatalf("from port %d, want the sender's %d", got, wantPort)
				}
			}
		})
	}
}
