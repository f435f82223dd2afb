package stack

import (
	"bytes"
	"errors"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"berth/link/mem"
)

// recvWait reads one datagram, waiting up to 5 s for it.
func recvWait(t testing.TB, u *UDPSocket, p []byte) (int, netip.AddrPort, error) {
	t.Helper()
	ready := make(chan struct{}, 1)
	u.SetNotify(func(Event) {
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	defer u.SetNotify(nil)
	deadline := time.After(5 * time.Second)
	for {
		n, from, err := u.TryRecv(p)
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return n, from, err
		}
		select {
		case <-ready:
		case <-deadline:
			t.Fatal("no datagram within 5s")
		}
	}
}

func TestUDPEchoAcrossHosts(t *testing.T) {
	a, b := pair(t, 1500)
	srv, err := b.OpenUDP(UDPOptions{Owner: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Bind(netip.MustParseAddrPort("0.0.0.0:7")); err != nil {
		t.Fatal(err)
	}
	cli, _ := a.OpenUDP(UDPOptions{Owner: "client"})
	dst := netip.AddrPortFrom(addrB.Addr(), 7)
	for _, size := range []int{0, 64, 1472, 8000, 65507} {
		msg := bytes.Repeat([]byte{byte(size)}, size)
		if err := cli.SendTo(msg, dst); err != nil {
			t.Fatalf("send %d: %v", size, err)
		}
		p := make([]byte, 65536)
		n, from, err := recvWait(t, srv, p)
		if err != nil || n != size || !bytes.Equal(p[:n], msg) {
			t.Fatalf("server got %d bytes err %v, want %d", n, err, size)
		}
		if from.Addr() != addrA.Addr() || from.Port() < 32768 || from.Port() > 60999 {
			t.Fatalf("from %v: not an ephemeral port of a", from)
		}
		if err := srv.SendTo(p[:n], from); err != nil {
			t.Fatal(err)
		}
		n, from, err = recvWait(t, cli, p)
		if err != nil || n != size || from != dst {
			t.Fatalf("client got %d from %v err %v", n, from, err)
		}
	}
	if err := cli.SendTo(make([]byte, 65508), dst); err != syscall.EMSGSIZE {
		t.Fatalf("oversize send: %v, want EMSGSIZE", err)
	}
	st := b.Stats()
	if st.Udp.InDatagrams != 5 || st.Udp.OutDatagrams != 5 || st.Ip.ReasmOKs != 2 {
		t.Fatalf("b counters udp %+v reasm %d", st.Udp, st.Ip.ReasmOKs)
	}
}

func TestUDPConnectedSocketHearsPortUnreachable(t *testing.T) {
	a, b := pair(t, 1500)
	c, _ := a.OpenUDP(UDPOptions{})
	if err := c.Connect(netip.AddrPortFrom(addrB.Addr(), 9999)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendTo([]byte("anyone?"), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	_, _, err := recvWait(t, c, make([]byte, 10))
	if err != syscall.ECONNREFUSED {
		t.Fatalf("err = %v, want ECONNREFUSED", err)
	}
	if _, _, err := c.TryRecv(nil); err != syscall.EWOULDBLOCK {
		t.Fatalf("error reported twice: %v", err)
	}
	if b.Stats().Udp.NoPorts != 1 || b.Stats().Icmp.OutDestUnreachs != 1 {
		t.Fatalf("b %+v", b.Stats().Udp)
	}
}

func TestUDPConnectedSocketFiltersPeers(t *testing.T) {
	a, b := pair(t, 1500)
	srv, _ := b.OpenUDP(UDPOptions{})
	srv.Bind(netip.MustParseAddrPort("0.0.0.0:5000"))
	c1, _ := a.OpenUDP(UDPOptions{})
	c1.Connect(netip.AddrPortFrom(addrB.Addr(), 5000))
	c1.SendTo([]byte("hi"), netip.AddrPort{})
	p := make([]byte, 10)
	_, from, _ := recvWait(t, srv, p)
	// A second socket on a, unconnected, sends to the same port of c1's
	// peer; c1 must not see datagrams from anyone but its peer.
	other, _ := b.OpenUDP(UDPOptions{})
	other.Bind(netip.MustParseAddrPort("0.0.0.0:5001"))
	other.SendTo([]byte("intruder"), from)
	srv.SendTo([]byte("reply"), from)
	n, src, err := recvWait(t, c1, p)
	if err != nil || string(p[:n]) != "reply" || src.Port() != 5000 {
		t.Fatalf("got %q from %v err %v", p[:n], src, err)
	}
}

func TestUDPReceiveQueueOverflowIsCounted(t *testing.T) {
	a, b := pair(t, 1500)
	srv, _ := b.OpenUDP(UDPOptions{RecvBuffer: 4096})
	srv.Bind(netip.MustParseAddrPort("0.0.0.0:6000"))
	cli, _ := a.OpenUDP(UDPOptions{})
	for range 20 {
		cli.SendTo(make([]byte, 1000), netip.AddrPortFrom(addrB.Addr(), 6000))
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.Stats().Udp.InDatagrams+b.Stats().Udp.RcvbufErrors < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	st := b.Stats().Udp
	if st.InDatagrams != 4 || st.RcvbufErrors != 16 {
		t.Fatalf("udp %+v, want 4 queued and 16 dropped", st)
	}
}

func TestUDPBindRules(t *testing.T) {
	_, b := pair(t, 1500)
	u1, _ := b.OpenUDP(UDPOptions{})
	if err := u1.Bind(netip.MustParseAddrPort("0.0.0.0:255")); err != nil {
		t.Fatal(err)
	}
	u2, _ := b.OpenUDP(UDPOptions{})
	if err := u2.Bind(netip.MustParseAddrPort("198.18.0.2:255")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("overlapping bind: %v", err)
	}
	if err := u2.Bind(netip.MustParseAddrPort("198.18.0.77:1")); err != syscall.EADDRNOTAVAIL {
		t.Fatalf("bind to a foreign address: %v", err)
	}
	u1.Close()
	if err := u2.Bind(netip.MustParseAddrPort("198.18.0.2:255")); err != nil {
		t.Fatalf("port not freed by Close: %v", err)
	}
	if err := u1.SendTo([]byte("x"), netip.MustParseAddrPort("198.18.0.1:1")); err != syscall.EBADF {
		t.Fatalf("send after close: %v", err)
	}
}

// TestUDPCallbackModeScales runs 10,000 sockets in callback mode: each
// answers its peer from the callback, and no goroutine is started per
// socket.
func TestUDPCallbackModeScales(t *testing.T) {
	const n = 10000
	la, lb := mem.Pair(mem.QueueLen(2 * n)) // the test measures sockets, not link drops
	a, b := New(Options{Seed: 5}), New(Options{Seed: 6})
	a.AddLink("mem0", la, addrA)
	b.AddLink("mem0", lb, addrB)
	defer a.Close()
	defer b.Close()
	before := runtime.NumGoroutine()
	var answered atomic.Int64
	servers := make([]*UDPSocket, n)
	for i := range servers {
		s, err := b.OpenUDP(UDPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Bind(netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(10000+i))); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 64)
		s.SetNotify(func(ev Event) {
			for {
				k, from, err := s.TryRecv(p)
				if err != nil {
					return
				}
				s.SendTo(p[:k], from)
			}
		})
		servers[i] = s
	}
	done := make(chan struct{})
	clients := make([]*UDPSocket, n)
	for i := range clients {
		c, _ := a.OpenUDP(UDPOptions{})
		c.Connect(netip.AddrPortFrom(addrB.Addr(), uint16(10000+i)))
		p := make([]byte, 64)
		c.SetNotify(func(ev Event) {
			if _, _, err := c.TryRecv(p); err == nil && answered.Add(1) == n {
				close(done)
			}
		})
		clients[i] = c
	}
	if g := runtime.NumGoroutine(); g > before+4 {
		t.Fatalf("%d goroutines for %d sockets (was %d)", g, 2*n, before)
	}
	for _, c := range clients {
		if err := c.SendTo([]byte("ping"), netip.AddrPort{}); err != nil {
			t.Fatal(err)
		}
		runtime.Gosched()
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("only %d of %d answered (a %+v b %+v)", answered.Load(), n, a.Stats().Udp, b.Stats().Udp)
	}
	for i := range n {
		servers[i].Close()
		clients[i].Close()
	}
	if b.ports.Len() != 0 || a.ports.Len() != 0 {
		t.Fatalf("bindings left: a %d b %d", a.ports.Len(), b.ports.Len())
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines after closing every socket, %d before", g, before)
	}
}

func TestSocketTableShowsWhoTalksToWhom(t *testing.T) {
	a, b := pair(t, 1500)
	srv, _ := b.OpenUDP(UDPOptions{Owner: "echo"})
	srv.Bind(netip.MustParseAddrPort("0.0.0.0:7"))
	cli, _ := a.OpenUDP(UDPOptions{Owner: "client"})
	cli.Connect(netip.MustParseAddrPort("198.18.0.2:7"))
	cli.SendTo([]byte("hello"), netip.AddrPort{})
	raw, _ := b.OpenRaw(1, RawOptions{Owner: "pinger"})
	defer raw.Close()
	recvWait(t, srv, make([]byte, 10))
	rows := b.Sockets()
	if len(rows) != 2 {
		t.Fatalf("b has %d sockets: %+v", len(rows), rows)
	}
	r, u := rows[0], rows[1]
	if r.Proto != "raw" || r.Protocol != 1 || r.Owner != "pinger" || r.State != "UNCONN" {
		t.Fatalf("raw row %+v", r)
	}
	if u.Proto != "udp" || u.Local.Port() != 7 || u.Owner != "echo" || u.RxPackets != 1 || u.State != "UNCONN" {
		t.Fatalf("udp row %+v", u)
	}
	c := a.Sockets()[0]
	if c.State != "ESTAB" || c.Remote != netip.MustParseAddrPort("198.18.0.2:7") || c.Local.Addr() != addrA.Addr() || c.TxPackets != 1 {
		t.Fatalf("client row %+v", c)
	}
}
