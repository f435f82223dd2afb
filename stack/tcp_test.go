package stack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"berth/link/mem"
	"berth/tcp"
	"berth/wire"
)

func tcpPair(t testing.TB, cfg func() *tcp.Config) (a, b *Stack) {
	t.Helper()
	la, lb := mem.Pair(mem.QueueLen(1 << 16))
	var ca, cb *tcp.Config
	if cfg != nil {
		ca, cb = cfg(), cfg()
	}
	a, b = New(Options{Name: "a", Seed: 1, TCP: ca}), New(Options{Name: "b", Seed: 2, TCP: cb})
	a.AddLink("mem0", la, addrA)
	b.AddLink("mem0", lb, addrB)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *Stack) tcpCounts() (conns, bindings int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tcp.byCore), s.ports.Len()
}

// TestTCPManyConnectionsCallbackMode opens 100,000 established connections
// (both ends in this process) through the callback API, exchanges a byte
// on each, and closes them all, twice: no goroutine per connection, and
// the second round leaves the heap where the first left it (tables keep
// their capacity; nothing accumulates).
func TestTCPManyConnectionsCallbackMode(t *testing.T) {
	if v := os.Getenv("BERTH_CONNS"); raceEnabled && v == "" {
		t.Log("under -race: 5,000 connections (BERTH_CONNS overrides)")
	}
	n := 100000
	if raceEnabled || testing.Short() {
		n = 5000
	}
	if v, err := strconv.Atoi(os.Getenv("BERTH_CONNS")); err == nil {
		n = v
	}
	shortMSL := func() *tcp.Config { c := tcp.DefaultConfig(); c.MSL = 5 * time.Millisecond; return c }
	goroutines := runtime.NumGoroutine()
	la, lb := mem.Pair(mem.QueueLen(1 << 16))
	a, b := New(Options{Name: "a", Seed: 1, TCP: shortMSL()}), New(Options{Name: "b", Seed: 2, TCP: shortMSL()})
	a.AddLink("mem0", la, addrA)
	b.AddLink("mem0", lb, addrB)
	heap := func() int64 {
		runtime.GC()
		runtime.GC() // a second cycle empties sync.Pool's victim cache
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	base := heap()

	const ports = 8 // 8 listening ports × 28,232 ephemeral ports: RFC 6056 algorithm 4 keeps searches short below half full
	for i := range ports {
		l, err := b.ListenTCP(netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(1000+i)), TCPOptions{Backlog: 4096})
		if err != nil {
			t.Fatal(err)
		}
		l.SetNotify(func(Event) {
			for {
				c, err := l.TryAccept()
				if err != nil {
					return
				}
				buf := make([]byte, 1)
				c.SetNotify(func(Event) {
					n, err := c.TryRead(buf)
					if n == 1 {
						c.TryWrite(buf)
					} else if err != nil && !errors.Is(err, syscall.EWOULDBLOCK) {
						c.Close() // the client's FIN: close our side too
					}
				})
			}
		})
	}
	var after [2]int64
	for round := range 2 {
		var answered atomic.Int64
		start := time.Now()
		conns := make([]*TCPConn, 0, n)
		for i := range n {
			c, err := a.DialTCP(netip.AddrPortFrom(addrB.Addr(), uint16(1000+i%ports)), TCPOptions{})
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			buf := make([]byte, 1)
			sent := false
			c.SetNotify(func(ev Event) {
				if !sent && c.State() == tcp.StateEstablished {
					if k, _ := c.TryWrite([]byte{'x'}); k == 1 {
						sent = true
					}
				}
				if k, _ := c.TryRead(buf); k == 1 {
					answered.Add(1)
				}
			})
			conns = append(conns, c)
			if i%1000 == 999 { // pace the handshakes so the SYN queues keep up
				waitFor(t, "handshakes", 30*time.Second, func() bool { return answered.Load() > int64(i-2000) })
			}
		}
		waitFor(t, fmt.Sprintf("all exchanges (%d answered)", answered.Load()), 60*time.Second, func() bool { return answered.Load() == int64(n) })
		// Timers run in the stack's one timer; callbacks in the goroutine
		// that delivered the packet: no goroutine per connection.
		waitFor(t, "goroutines to settle", 5*time.Second, func() bool { return runtime.NumGoroutine() <= goroutines+10 })
		if got, _ := a.tcpCounts(); got != n {
			t.Fatalf("a holds %d connections, want %d", got, n)
		}
		during := heap()
		t.Logf("round %d: %d connections established and exchanged in %v, %d heap bytes per connection pair, %d goroutines",
			round, n, time.Since(start).Round(time.Millisecond), (during-base)/int64(n), runtime.NumGoroutine())
		for _, c := range conns {
			c.Close()
		}
		waitFor(t, "every connection to finish", 60*time.Second, func() bool {
			ca, ba := a.tcpCounts()
			cb, bb := b.tcpCounts()
			return ca == 0 && cb == 0 && ba == 0 && bb == ports
		})
		conns = nil
		after[round] = heap()
		t.Logf("round %d: all closed after %v; heap %+d bytes over the start", round, time.Since(start).Round(time.Millisecond), after[round]-base)
	}
	// What stays after a round is the tables' capacity (Go maps keep
	// theirs); a second round must not add a round's worth of memory.
	if grown := after[1] - after[0]; grown > int64(n)*400 {
		t.Fatalf("a second round of %d connections left %d more heap bytes behind", n, grown)
	}
	// Closing the hosts frees everything, and every goroutine ends.
	a.Close()
	b.Close()
	a, b = nil, nil
	if final := heap(); final-base > 4<<20 {
		t.Fatalf("heap %+d bytes over the start after closing both hosts", final-base)
	}
	waitFor(t, "goroutines to end", 5*time.Second, func() bool { return runtime.NumGoroutine() <= goroutines })
}

// TestSYNFloodDoesNotLockOutClients sends 100,000 SYNs from spoofed
// addresses at a listener; with its SYN queue full the listener answers
// with SYN cookies (RFC 4987), and a real client still connects.
func TestSYNFloodDoesNotLockOutClients(t *testing.T) {
	a, b := tcpPair(t, nil)
	l, err := b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), TCPOptions{Backlog: 128})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	raw, _ := a.OpenRaw(wire.ProtoTCP, RawOptions{HeaderIncluded: true})
	defer raw.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	pkt := make([]byte, 40)
	n := 100000
	if raceEnabled {
		n = 20000
	}
	for i := range n {
		src := netip.AddrFrom4([4]byte{198, 18, 0, byte(3 + rng.IntN(250))})
		ih := wire.IPv4Repr{TTL: 64, Protocol: wire.ProtoTCP, Src: src, Dst: addrB.Addr(), PayloadLen: 20, ID: uint16(i + 1)}
		ih.Emit(pkt)
		th := wire.TCPRepr{SrcPort: uint16(1024 + rng.IntN(60000)), DstPort: 80, Seq: rng.Uint32(), Flags: wire.FlagSYN, Window: 65535}
		th.Emit(pkt[20:], 0, src, addrB.Addr())
		if err := raw.Send(pkt, netip.Addr{}); err != nil {
			t.Fatal(err)
		}
		if i%2048 == 2047 {
			waitFor(t, "the flood to arrive", 20*time.Second, func() bool { return int64(b.Stats().Tcp.InSegs) >= int64(i-4096) })
		}
	}
	c, err := a.DialTCP(netip.MustParseAddrPort("198.18.0.2:80"), TCPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the real client's handshake", 10*time.Second, func() bool { return c.State() == tcp.StateEstablished })
	waitFor(t, "the real client's connection to be accepted", 10*time.Second, func() bool {
		for {
			ac, err := l.TryAccept()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return false
			}
			if ac.RemoteAddr().Addr() == addrA.Addr() {
				return true
			}
		}
	})
	st := b.Stats().Tcp
	if st.SyncookiesSent == 0 {
		t.Fatalf("no SYN cookies sent: %+v", st)
	}
	t.Logf("flood of %d SYNs: %d cookies sent, %d half-open", n, st.SyncookiesSent, l.l.HalfOpen())
}

// TestTCPReusePortGroupSpreadsConnections: two listeners that both set
// SO_REUSEPORT share one port; new connections are spread over them by a
// hash of the 4-tuple.
func TestTCPReusePortGroupSpreadsConnections(t *testing.T) {
	a, b := tcpPair(t, nil)
	var got [2]atomic.Int64
	for i := range 2 {
		l, err := b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:8080"), TCPOptions{ReusePort: true})
		if err != nil {
			t.Fatalf("listener %d: %v", i, err)
		}
		l.SetNotify(func(Event) {
			for {
				if _, err := l.TryAccept(); err != nil {
					return
				}
				got[i].Add(1)
			}
		})
	}
	if _, err := b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:8080"), TCPOptions{}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("a third listener without SO_REUSEPORT: %v", err)
	}
	const n = 200
	for range n {
		if _, err := a.DialTCP(netip.MustParseAddrPort("198.18.0.2:8080"), TCPOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every connection accepted", 10*time.Second, func() bool { return got[0].Load()+got[1].Load() == n })
	if got[0].Load() < n/5 || got[1].Load() < n/5 {
		t.Fatalf("spread %d / %d", got[0].Load(), got[1].Load())
	}
}

// TestTCPBindRulesAndTimeWait: a port in TIME-WAIT blocks a plain bind
// but not one with SO_REUSEADDR, as on Linux.
func TestTCPBindRulesAndTimeWait(t *testing.T) {
	a, b := tcpPair(t, nil)
	l, err := b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:9000"), TCPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan *TCPConn, 1)
	l.SetNotify(func(Event) {
		if c, err := l.TryAccept(); err == nil {
			accepted <- c
		}
	})
	c, err := a.DialTCP(netip.MustParseAddrPort("198.18.0.2:9000"), TCPOptions{Local: netip.MustParseAddrPort("0.0.0.0:40000")})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "handshake", 5*time.Second, func() bool { return c.State() == tcp.StateEstablished })
	sc := <-accepted
	c.Close() // a closes first: a's end goes to TIME-WAIT
	waitFor(t, "server sees FIN", 5*time.Second, func() bool { return sc.State() == tcp.StateCloseWait })
	sc.Close()
	waitFor(t, "TIME-WAIT", 5*time.Second, func() bool { return c.State() == tcp.StateTimeWait })
	_, err = a.DialTCP(netip.MustParseAddrPort("198.18.0.2:9001"), TCPOptions{Local: netip.MustParseAddrPort("0.0.0.0:40000")})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("bind over TIME-WAIT without SO_REUSEADDR: %v", err)
	}
	rows := a.Sockets()
	if len(rows) != 1 || rows[0].State != "TIME-WAIT" || rows[0].Local.Port() != 40000 {
		t.Fatalf("socket table %+v", rows)
	}
}

// TestTCPConnectionsFailWhenTheHostCloses: closing a stack drops its
// connections without a word on the wire (a crash), and calls on them
// fail instead of waiting forever.
func TestTCPConnectionsFailWhenTheHostCloses(t *testing.T) {
	a, b, l, c := dialPair(t)
	defer b.Close()
	defer l.Close()
	closed := make(chan Event, 4)
	c.SetNotify(func(ev Event) {
		if ev&Closed != 0 {
			closed <- ev
		}
	})
	a.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("no Closed event when the host closed")
	}
	if _, err := c.TryRead(make([]byte, 10)); err != syscall.ECONNABORTED {
		t.Fatalf("read after the host closed: %v", err)
	}
	if c.State() != tcp.StateClosed || c.Err() != syscall.ECONNABORTED {
		t.Fatalf("state %v err %v", c.State(), c.Err())
	}
}

// TestTCPSocketTableCounters: a TCP row counts segments both ways and the
// bytes acknowledged and received, like ss -i's segs_out, segs_in,
// bytes_acked and bytes_received, and gives the MSS its windows are in.
func TestTCPSocketTableCounters(t *testing.T) {
	a, b, l, c := dialPair(t)
	defer a.Close()
	defer b.Close()
	defer l.Close()
	var s *TCPConn
	waitFor(t, "accept", 5*time.Second, func() bool { s, _ = l.TryAccept(); return s != nil })
	const n = 3000
	if k, err := c.TryWrite(make([]byte, n)); k != n || err != nil {
		t.Fatalf("TryWrite = %d, %v", k, err)
	}
	got := 0
	buf := make([]byte, 4096)
	waitFor(t, "data", 5*time.Second, func() bool {
		k, _ := s.TryRead(buf)
		got += k
		return got == n
	})
	row := func(st *Stack, local netip.AddrPort) SocketInfo {
		for _, r := range st.Sockets() {
			if r.Proto == "tcp" && r.Local == local && r.Remote.IsValid() {
				return r
			}
		}
		t.Fatalf("no connection at %v in %+v", local, st.Sockets())
		return SocketInfo{}
	}
	waitFor(t, "the ACK", 5*time.Second, func() bool { return row(a, c.LocalAddr()).TxBytes == n })
	ra, rb := row(a, c.LocalAddr()), row(b, s.LocalAddr())
	// Client: SYN, ACK, 3 data segments out (MSS 1448: 1500 less 40 and
	// 12 of timestamps); the SYN-ACK and at least one ACK in.
	if ra.MSS != 1448 || ra.TxPackets < 5 || ra.RxPackets < 2 || ra.TxBytes != n || ra.RxBytes != 0 {
		t.Errorf("client row: MSS %d, tx %d pkt/%d B, rx %d pkt/%d B", ra.MSS, ra.TxPackets, ra.TxBytes, ra.RxPackets, ra.RxBytes)
	}
	if rb.RxBytes != n || rb.RxPackets < 4 || rb.TxPackets < 2 || rb.TxBytes != 0 {
		t.Errorf("server row: tx %d pkt/%d B, rx %d pkt/%d B", rb.TxPackets, rb.TxBytes, rb.RxPackets, rb.RxBytes)
	}
}

// dialPair joins two stacks, a (addrA) and b (addrB), by an in-memory link
// and returns them with b's listener on port 80 and a's connection to it,
// established. Closing them is the caller's.
func dialPair(t *testing.T) (a, b *Stack, l *TCPListener, c *TCPConn) {
	t.Helper()
	la, lb := mem.Pair()
	a, b = New(Options{Seed: 1}), New(Options{Seed: 2})
	a.AddLink("", la, addrA)
	b.AddLink("", lb, addrB)
	l, _ = b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), TCPOptions{})
	c, err := a.DialTCP(netip.MustParseAddrPort("198.18.0.2:80"), TCPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "handshake", 5*time.Second, func() bool { return c.State() == tcp.StateEstablished })
	return a, b, l, c
}
