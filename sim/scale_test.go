package sim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The scale check of the issue: 1,000 hosts and 10,000 TCP connections
// exchanging data for 60 s of virtual time. It takes a while, so by
// default a tenth of it runs (100 hosts, 1,000 connections, 10 s);
// BERTH_SIM_SCALE=full runs the whole of it and reports the ratio of
// virtual to real time and the memory per host.
func TestScale(t *testing.T) {
	hosts, perHost, virtual := 100, 10, 10*time.Second
	if os.Getenv("BERTH_SIM_SCALE") == "full" {
		hosts, perHost, virtual = 1000, 10, 60*time.Second
		if d, err := time.ParseDuration(os.Getenv("BERTH_SIM_SCALE_TIME")); err == nil {
			virtual = d
		}
	} else if testing.Short() {
		hosts, perHost, virtual = 20, 5, 5*time.Second
	}
	var mem [3]runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&mem[0])
	start := time.Now()
	var exchanges, lines uint64
	var setup time.Duration
	Run(t, func(t *testing.T, n *Network) {
		exchanges, lines, setup = scaleRun(t, n, hosts, perHost, virtual, mem[1:])
	}, Seed(1))
	real := time.Since(start)
	conns := hosts * perHost
	t.Logf("%d hosts, %d TCP connections, %v virtual in %v real: %.1f× real time; %d request/reply exchanges, %d trace lines",
		hosts, conns, virtual, real.Round(time.Millisecond), virtual.Seconds()/real.Seconds(), exchanges, lines)
	t.Logf("setup (listeners, %d handshakes) %v real", conns, setup.Round(time.Millisecond))
	used := func(m runtime.MemStats) float64 { return float64(m.HeapInuse + m.StackInuse) }
	perHostKiB := (used(mem[1]) - used(mem[0])) / 1024 / float64(hosts)
	perConnKiB := (used(mem[2]) - used(mem[1])) / 1024 / float64(conns)
	t.Logf("memory: %.0f KiB per host (a stack, its interface and a listener with its accept goroutine); %.1f KiB per connection (both ends, a goroutine at each, buffers); %.0f MiB in all with every connection open",
		perHostKiB, perConnKiB, (used(mem[2])-used(mem[0]))/(1<<20))
	if want := uint64(conns) * uint64(virtual/time.Second) * 9 / 10; exchanges < want {
		t.Fatalf("only %d exchanges, want about %d", exchanges, want)
	}
}

// scaleRun starts an echo server on every host and perHost clients per
// host, each connected to a different host and exchanging a 100-byte
// message once a second, then lets virtual time run.
func scaleRun(t *testing.T, n *Network, hosts, perHost int, virtual time.Duration, mem []runtime.MemStats) (exchanges, lines uint64, setup time.Duration) {
	hs := make([]*Host, hosts)
	for i := range hs {
		hs[i] = n.Host(fmt.Sprintf("h%d", i))
	}
	var wg sync.WaitGroup
	for _, h := range hs {
		ln, err := h.Listen("tcp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Go(func() {
					io.CopyBuffer(c, onlyReader{c}, make([]byte, 512)) // not io.Copy's 32 KiB per conn
					c.Close()
				})
			}
		})
	}
	time.Sleep(time.Millisecond) // accept loops settle
	runtime.GC()
	runtime.ReadMemStats(&mem[0])
	rng := rand.New(rand.NewPCG(n.Seed(), 1))
	var mu sync.Mutex
	stop := make(chan struct{})
	ready := sync.WaitGroup{}
	for i, h := range hs {
		for k := 1; k <= perHost; k++ {
			peer := hs[(i+k*(hosts/perHost/2*2+1))%hosts]
			if peer == h {
				peer = hs[(i+1)%hosts]
			}
			offset := time.Duration(rng.Int64N(int64(time.Second)))
			ready.Add(1)
			wg.Go(func() {
				time.Sleep(offset)
				c, err := h.Dial("tcp", peer.Name()+":7")
				ready.Done()
				if err != nil {
					t.Errorf("%s → %s: %v", h.Name(), peer.Name(), err)
					return
				}
				fail := func(format string, args ...any) {
					select {
					case <-stop: // the network is shutting down under us
					default:
						t.Errorf(format, args...)
					}
				}
				defer c.Close()
				msg, got := make([]byte, 100), make([]byte, 100)
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for seq := 0; ; seq++ {
					msg[0], msg[1] = byte(seq), byte(k)
					if _, err := c.Write(msg); err != nil {
						fail("write: %v", err)
						return
					}
					if _, err := io.ReadFull(c, got); err != nil || got[0] != msg[0] || got[1] != msg[1] {
						fail("echo %d: %v", seq, err)
						return
					}
					mu.Lock()
					exchanges++
					mu.Unlock()
					select {
					case <-tick.C:
					case <-stop:
						return
					}
				}
			})
		}
	}
	realStart := realNow()
	ready.Wait()
	setup = realNow() - realStart
	runtime.GC()
	runtime.ReadMemStats(&mem[1])
	time.Sleep(virtual - n.Elapsed())
	close(stop)
	mu.Lock()
	defer mu.Unlock()
	return exchanges, n.TraceLines(), setup
}

// realNow reads the wall clock from the kernel: inside a bubble, package
// time only knows virtual time.
func realNow() time.Duration {
	var tv syscall.Timeval
	syscall.Gettimeofday(&tv)
	return time.Duration(tv.Nano())
}

// onlyReader hides a conn's other methods from io.CopyBuffer.
type onlyReader struct{ io.Reader }
