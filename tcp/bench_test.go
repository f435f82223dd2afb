package tcp

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// wireNet is a lossless, zero-delay, allocation-free network between cores
// for benchmarks: a FIFO of segments whose payloads live in reused buffers.
type wireNet struct {
	q     []wireSeg
	head  int
	bufs  [][]byte
	conns map[netip.AddrPort]*Conn // by local address
	now   time.Time
}

type wireSeg struct {
	to  netip.AddrPort
	seg Segment
}

type wireOut struct{ n *wireNet }

func (o wireOut) SendSegment(local, remote netip.AddrPort, s *Segment) {
	n := o.n
	var b []byte
	if k := len(n.bufs); k > 0 {
		b = n.bufs[k-1][:0]
		n.bufs = n.bufs[:k-1]
	}
	c := *s
	c.Payload = append(b, s.Payload...)
	n.q = append(n.q, wireSeg{to: remote, seg: c})
}

// pump delivers everything queued, including what the deliveries send.
func (n *wireNet) pump() {
	for n.head < len(n.q) {
		k := n.q[n.head]
		n.q[n.head] = wireSeg{}
		n.head++
		if c := n.conns[k.to]; c != nil && c.State() != StateClosed {
			c.Input(n.now, &k.seg)
		}
		n.bufs = append(n.bufs, k.seg.Payload)
		if n.head == len(n.q) {
			n.q, n.head = n.q[:0], 0
		}
	}
}

// BenchmarkBulkTransfer moves 64 KiB per operation from one core to the
// other through wireNet, reading as data arrives.
func BenchmarkBulkTransfer(b *testing.B) {
	for _, mss := range []int{1460, 65495} {
		b.Run(fmt.Sprintf("mss=%d", mss), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.RcvBuf, cfg.SndBuf = 1<<20, 1<<20
			n := &wireNet{conns: map[netip.AddrPort]*Conn{}, now: t0}
			cfg.init(n.now)
			a, s := connectedPair(b, cfg, n, mss)
			chunk := make([]byte, 64<<10)
			rbuf := make([]byte, 256<<10)
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				left := len(chunk)
				for left > 0 {
					w, _ := a.Write(n.now, chunk[len(chunk)-left:])
					left -= w
					n.pump()
					for {
						r, _ := s.Read(n.now, rbuf)
						if r == 0 {
							break
						}
						n.pump()
					}
				}
			}
			b.StopTimer()
			// Drain, so the next run starts clean.
			for a.Info().SendQueue > 0 {
				n.now = n.now.Add(50 * time.Millisecond)
				a.Tick(n.now)
				s.Tick(n.now)
				n.pump()
				s.Read(n.now, rbuf)
				n.pump()
			}
		})
	}
}

// connectedPair runs a handshake over n and returns the two established
// ends.
func connectedPair(tb testing.TB, cfg *Config, n *wireNet, mss int) (*Conn, *Conn) {
	tb.Helper()
	out := wireOut{n}
	la := netip.MustParseAddrPort("198.18.0.1:40000")
	lb := netip.MustParseAddrPort("198.18.0.2:80")
	a := Connect(n.now, cfg, la, lb, mss, out)
	n.conns[la] = a
	syn := n.q[0]
	n.q, n.head = n.q[:0], 0
	l := NewListener(cfg, lb, 4, mss, out)
	s := l.Input(n.now, la, lb, &syn.seg)
	n.conns[lb] = s
	n.pump()
	if l.Accept() != s || a.State() != StateEstablished {
		tb.Fatalf("handshake: %v %v", a.State(), s.State())
	}
	return a, s
}

// BenchmarkIdleConnMemory establishes 10,000 connected pairs (both ends
// in this process, as the benchmark has them) and reports the heap
// each connection holds while idle.
func BenchmarkIdleConnMemory(b *testing.B) {
	const pairs = 10000
	for i := 0; i < b.N; i++ {
		cfg := DefaultConfig()
		out := &sink{}
		now := t0
		cfg.init(now)
		lb := netip.MustParseAddrPort("198.18.0.2:80")
		l := NewListener(cfg, lb, pairs, 1460, out)
		conns := make([]*Conn, 0, 2*pairs)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for p := 0; p < pairs; p++ {
			la := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(p >> 8), byte(p)}), uint16(10000+p))
			a := Connect(now, cfg, la, lb, 1460, out)
			syn := out.last
			s := l.Input(now, la, lb, &syn)
			synAck := out.last
			a.Input(now, &synAck)
			ack := out.last
			s.Input(now, &ack)
			if s.State() != StateEstablished || l.Accept() != s {
				b.Fatal("handshake failed")
			}
			// A little traffic each way, then idle: buffers go back.
			a.Write(now, []byte("ping"))
			data := out.last
			s.Input(now, &data)
			ackData := out.last
			a.Input(now, &ackData)
			s.Read(now, make([]byte, 8))
			if a.Info().SendQueue != 0 || s.Info().RecvQueue != 0 {
				b.Fatalf("traffic not done: %+v %+v", a.Info(), s.Info())
			}
			conns = append(conns, a, s)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perConn := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(conns))
		b.ReportMetric(perConn, "heapB/conn")
		b.ReportMetric(0, "ns/op")
		runtime.KeepAlive(conns)
		runtime.KeepAlive(l)
	}
}

// sink is an Output that keeps only the last segment (payload copied into
// one reused buffer).
type sink struct {
	last Segment
	buf  []byte
}

func (s *sink) SendSegment(local, remote netip.AddrPort, seg *Segment) {
	s.last = *seg
	s.buf = append(s.buf[:0], seg.Payload...)
	s.last.Payload = s.buf
}

func TestConnSize(t *testing.T) {
	t.Logf("Conn is %d bytes, ring %d, Segment %d", unsafe.Sizeof(Conn{}), unsafe.Sizeof(ring{}), unsafe.Sizeof(Segment{}))
}

// BenchmarkRequestResponse is one 100-byte request and one 100-byte
// response per operation on one connection, reading as data arrives.
func BenchmarkRequestResponse(b *testing.B) {
	cfg := DefaultConfig()
	n := &wireNet{conns: map[netip.AddrPort]*Conn{}, now: t0}
	cfg.init(n.now)
	a, s := connectedPair(b, cfg, n, 1460)
	msg := make([]byte, 100)
	buf := make([]byte, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.now = n.now.Add(time.Microsecond)
		a.Write(n.now, msg)
		n.pump()
		if k, _ := s.Read(n.now, buf); k != 100 {
			b.Fatalf("request: %d bytes", k)
		}
		s.Write(n.now, msg)
		n.pump()
		if k, _ := a.Read(n.now, buf); k != 100 {
			b.Fatalf("response: %d bytes", k)
		}
	}
}
