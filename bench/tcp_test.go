package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tcpDeadline bounds every TCP benchmark's connections, so that a stack
// that stalls fails the benchmark instead of hanging the run.
const tcpDeadline = 2 * time.Minute

// bulkChunk is what the bulk sender hands to each Write.
const bulkChunk = 64 << 10

// scope is a testing.TB whose cleanups run when close is called, so that a
// benchmark can build and tear down a fresh pair of hosts per iteration.
type scope struct {
	testing.TB
	fns []func()
}

func (s *scope) Cleanup(f func()) { s.fns = append(s.fns, f) }

func (s *scope) close() {
	for i := len(s.fns) - 1; i >= 0; i-- {
		s.fns[i]()
	}
	s.fns = nil
}

// connPair opens a listener on n and returns both ends of one connection.
func connPair(tb testing.TB, n *tcpNet) (client, server net.Conn) {
	tb.Helper()
	ln, err := n.listen()
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	tb.Cleanup(func() { ln.Close() })
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err = n.dial(ctx, ln.Addr())
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { client.Close() })
	a := <-ch
	if a.err != nil {
		tb.Fatalf("accept: %v", a.err)
	}
	server = a.c
	tb.Cleanup(func() { server.Close() })
	deadline := time.Now().Add(tcpDeadline)
	client.SetDeadline(deadline)
	server.SetDeadline(deadline)
	return client, server
}

// BenchmarkTCPBulk measures one connection's throughput, client to
// server, at two link MTUs. One op is one 64 KiB Write; the run ends when
// the server has read every byte.
func BenchmarkTCPBulk(b *testing.B) {
	for _, c := range contenders {
		b.Run("contender="+c.name, func(b *testing.B) {
			for _, mtu := range []int{1500, 65000} {
				b.Run(fmt.Sprintf("mtu=%d", mtu), func(b *testing.B) {
					client, server := connPair(b, c.tcp(b, mtu))
					runBulk(b, client, server)
				})
			}
		})
	}
}

func runBulk(b *testing.B, client, server net.Conn) {
	chunk := make([]byte, bulkChunk)
	total := int64(b.N) * bulkChunk
	done := make(chan error, 1)
	b.SetBytes(bulkChunk)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		// The sink: read everything, then say so with one byte.
		rbuf := make([]byte, 256<<10)
		var got int64
		for got < total {
			n, err := server.Read(rbuf)
			got += int64(n)
			if err != nil {
				done <- fmt.Errorf("server read after %d of %d bytes: %w", got, total, err)
				return
			}
		}
		_, err := server.Write([]byte{1})
		done <- err
	}()
	for range b.N {
		if _, err := client.Write(chunk); err != nil {
			b.Fatalf("client write: %v", err)
		}
	}
	var ack [1]byte
	if _, err := io.ReadFull(client, ack[:]); err != nil {
		b.Fatalf("client read of the sink's ack: %v (sink: %v)", err, <-done)
	}
	b.StopTimer()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTCPRR measures request/response round trips on one
// connection: one byte each way. One op is one round trip.
func BenchmarkTCPRR(b *testing.B) {
	for _, c := range contenders {
		b.Run("contender="+c.name, func(b *testing.B) {
			client, server := connPair(b, c.tcp(b, 1500))
			go func() {
				var p [1]byte
				for {
					if _, err := io.ReadFull(server, p[:]); err != nil {
						return
					}
					if _, err := server.Write(p[:]); err != nil {
						return
					}
				}
			}()
			var p [1]byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				p[0] = byte(i)
				if _, err := client.Write(p[:]); err != nil {
					b.Fatalf("write: %v", err)
				}
				if _, err := io.ReadFull(client, p[:]); err != nil {
					b.Fatalf("read: %v", err)
				}
				if p[0] != byte(i) {
					b.Fatalf("round trip %d: got byte %d", i, p[0])
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trips/s")
		})
	}
}

// BenchmarkTCPConnRate measures connections per second: connect, send a
// 1-byte request, read the 1-byte response, close; the server accepts,
// answers and closes first (so TIME-WAIT stays on its side, as a server's
// does). One op is one whole connection; clients run in parallel.
func BenchmarkTCPConnRate(b *testing.B) {
	for _, c := range contenders {
		b.Run("contender="+c.name, func(b *testing.B) {
			for _, clients := range []int{1, 32} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					runConnRate(b, c.tcp(b, 1500), clients)
				})
			}
		})
	}
}

func runConnRate(b *testing.B, n *tcpNet, clients int) {
	ln, err := n.listen()
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(tcpDeadline))
				var p [1]byte
				if _, err := io.ReadFull(c, p[:]); err != nil {
					return
				}
				c.Write(p[:])
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), tcpDeadline)
	defer cancel()
	addr := ln.Addr()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range clients {
		wg.Go(func() {
			var p [1]byte
			for next.Add(1) <= int64(b.N) {
				c, err := n.dial(ctx, addr)
				if err != nil {
					fail(fmt.Errorf("dial: %w", err))
					return
				}
				c.SetDeadline(time.Now().Add(tcpDeadline))
				p[0] = 'q'
				_, err = c.Write(p[:])
				if err == nil {
					_, err = io.ReadFull(c, p[:])
				}
				c.Close()
				if err != nil {
					fail(fmt.Errorf("request/response: %w", err))
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
}

// connsPerListener spreads the idle connections over several listening
// ports, so the client's ephemeral ports (about 28,000 on Linux) never run
// out towards one destination.
const connsPerListener = 10000

// BenchmarkTCPIdleMemory measures the memory an idle established
// connection holds: heap in use plus goroutine stacks, after a GC, with
// BOTH ends of every connection in this process (so a "conn" here is a
// client socket plus its accepted server socket). Each op builds fresh
// hosts, opens the connections, measures, and tears everything down.
//
// For the kernel only Go's side is counted (net.Conn, netFD, poller
// state), not the kernel's socket memory, and each connection costs two
// file descriptors: with the open-file limit the run is cut to what fits.
func BenchmarkTCPIdleMemory(b *testing.B) {
	for _, c := range contenders {
		b.Run("contender="+c.name, func(b *testing.B) {
			for _, conns := range []int{10000, 100000} {
				b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
					n := conns
					if c.name == "kernel" {
						n = kernelConnLimit(b, conns)
					}
					var perConn, gPerConn float64
					for range b.N {
						sc := &scope{TB: b}
						mem, gs := idleMemory(sc, c.tcp(sc, 1500), n)
						sc.close()
						perConn += mem
						gPerConn += gs
					}
					b.ReportMetric(perConn/float64(b.N), "B/conn")
					b.ReportMetric(gPerConn/float64(b.N), "goroutines/conn")
				})
			}
		})
	}
}

// kernelConnLimit is how many loopback connections fit in the open-file
// limit (two descriptors each, plus slack), skipping when that is under
// 90% of want.
func kernelConnLimit(b *testing.B, want int) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		b.Skipf("getrlimit: %v", err)
	}
	fit := int(rl.Cur-256) / 2
	if fit >= want {
		return want
	}
	if fit < want*9/10 {
		b.Skipf("kernel: %d connections need %d file descriptors, the open-file limit is %d", want, 2*want, rl.Cur)
	}
	b.Logf("kernel: open-file limit %d fits %d connections, not %d; B/conn is measured over %d", rl.Cur, fit, want, fit)
	return fit
}

// heapAndStacks returns live heap plus stack bytes after a full GC.
func heapAndStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// idleMemory opens n connections on net and returns heap+stack bytes and
// goroutines per connection. Connections and listeners are closed by tb's
// cleanups.
func idleMemory(tb testing.TB, tn *tcpNet, n int) (bytesPerConn, goroutinesPerConn float64) {
	tb.Helper()
	nl := (n + connsPerListener - 1) / connsPerListener
	lns := make([]net.Listener, nl)
	clients := make([]net.Conn, n)
	servers := make([]net.Conn, 0, n)
	var mu sync.Mutex
	all := make(chan struct{})
	for i := range lns {
		ln, err := tn.listen()
		if err != nil {
			tb.Fatalf("listen: %v", err)
		}
		lns[i] = ln
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				servers = append(servers, c)
				if len(servers) == n {
					close(all)
				}
				mu.Unlock()
			}
		}()
	}
	tb.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
		mu.Lock()
		for _, c := range servers {
			c.Close()
		}
		mu.Unlock()
	})

	g0 := runtime.NumGoroutine()
	m0 := heapAndStacks()

	ctx, cancel := context.WithTimeout(context.Background(), tcpDeadline)
	defer cancel()
	const dialers = 8
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range dialers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := tn.dial(ctx, lns[i%nl].Addr())
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("dial %d of %d: %w", i, n, err); cancel() })
					return
				}
				clients[i] = c
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	select {
	case <-all:
	case <-ctx.Done():
		mu.Lock()
		got := len(servers)
		mu.Unlock()
		tb.Fatalf("accepted %d of %d connections", got, n)
	}

	m1 := heapAndStacks()
	g1 := runtime.NumGoroutine()
	return (float64(m1) - float64(m0)) / float64(n), float64(g1-g0) / float64(n)
}

// TestTCPEcho checks that each contender's TCP pair carries a stream
// intact both ways at both MTUs.
func TestTCPEcho(t *testing.T) {
	for _, c := range contenders {
		t.Run(c.name, func(t *testing.T) {
			for _, mtu := range []int{1500, 65000} {
				t.Run(fmt.Sprint(mtu), func(t *testing.T) {
					client, server := connPair(t, c.tcp(t, mtu))
					go func() {
						io.Copy(server, server)
						server.Close()
					}()
					rng := rand.New(rand.NewPCG(3, 4))
					want := make([]byte, 300<<10)
					for i := range want {
						want[i] = byte(rng.Uint32())
					}
					werr := make(chan error, 1)
					go func() {
						_, err := client.Write(want)
						if err == nil {
							err = closeWrite(client)
						}
						werr <- err
					}()
					got, err := io.ReadAll(client)
					if err != nil {
						t.Fatalf("read back: %v (after %d bytes)", err, len(got))
					}
					if err := <-werr; err != nil {
						t.Fatalf("write: %v", err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("echoed %d bytes of %d, contents differ", len(got), len(want))
					}
				})
			}
		})
	}
}

// closeWrite half-closes c (TCP FIN) where the conn type allows it.
func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("conn has no CloseWrite")
}
