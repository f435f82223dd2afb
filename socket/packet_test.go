package socket

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"berth/link/mem"
	"berth/stack"
	"berth/wire"
)

var (
	addrA = netip.MustParsePrefix("198.18.0.1/24")
	addrB = netip.MustParsePrefix("198.18.0.2/24")
)

func hosts(t *testing.T) (a, b *stack.Stack) {
	t.Helper()
	la, lb := mem.Pair()
	a, b = stack.New(stack.Options{Seed: 1}), stack.New(stack.Options{Seed: 2})
	a.AddLink("mem0", la, addrA)
	b.AddLink("mem0", lb, addrB)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func udpConn(t *testing.T, s *stack.Stack, bind string) *PacketConn {
	t.Helper()
	u, err := s.OpenUDP(stack.UDPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if bind != "" {
		if err := u.Bind(netip.MustParseAddrPort(bind)); err != nil {
			t.Fatal(err)
		}
	}
	c := NewUDP(u, "udp")
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPacketConnExchange(t *testing.T) {
	a, b := hosts(t)
	srv := udpConn(t, b, "198.18.0.2:9000")
	cli := udpConn(t, a, "")
	var _ net.PacketConn = srv
	dst := &net.UDPAddr{IP: net.IPv4(198, 18, 0, 2), Port: 9000}
	if _, err := cli.WriteTo([]byte("hello"), dst); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 100)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := srv.ReadFrom(p)
	if err != nil || string(p[:n]) != "hello" {
		t.Fatalf("read %q err %v", p[:n], err)
	}
	if from.(*net.UDPAddr).Port != cli.LocalAddr().(*net.UDPAddr).Port {
		t.Fatalf("from %v, client is %v", from, cli.LocalAddr())
	}
}

func TestReadDeadlineGivesDeadlineExceeded(t *testing.T) {
	_, b := hosts(t)
	c := udpConn(t, b, "0.0.0.0:9001")
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _, err := c.ReadFrom(make([]byte, 10))
	var oe *net.OpError
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || !oe.Timeout() {
		t.Fatalf("err = %#v, want a timeout OpError", err)
	}
	// A deadline in the past fails at once; clearing it lets a read block again.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, _, err := c.ReadFrom(nil); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() { _, _, err := c.ReadFrom(make([]byte, 10)); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("read with no deadline returned %v", err)
	case <-time.After(30 * time.Millisecond):
	}
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("blocked read after Close: %v, want net.ErrClosed", err)
	}
}

func TestUseAfterCloseIsErrClosed(t *testing.T) {
	_, b := hosts(t)
	c := udpConn(t, b, "0.0.0.0:9002")
	c.Close()
	if _, err := c.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(198, 18, 0, 1), Port: 1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
}

func TestConnectedWriteThenReadGivesECONNREFUSED(t *testing.T) {
	a, _ := hosts(t)
	u, _ := a.OpenUDP(stack.UDPOptions{})
	if err := u.Connect(netip.MustParseAddrPort("198.18.0.2:4444")); err != nil {
		t.Fatal(err)
	}
	c := NewUDP(u, "udp")
	defer c.Close()
	var _ net.Conn = c
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 10))
	var se *os.SyscallError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &se) {
		t.Fatalf("err = %v, want ECONNREFUSED in a SyscallError", err)
	}
	if err.Error() != "read udp 198.18.0.1:"+itoa(c.LocalAddr().(*net.UDPAddr).Port)+"->198.18.0.2:4444: read: connection refused" {
		t.Fatalf("error text %q", err.Error())
	}
}

func itoa(i int) string { return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(i)).String()[8:] }

func TestRawICMPConnStripsHeaderLikeGo(t *testing.T) {
	a, b := hosts(t)
	r, _ := a.OpenRaw(wire.ProtoICMP, stack.RawOptions{})
	c := NewRaw(r, "ip4:icmp")
	defer c.Close()
	_ = b
	req := wire.ICMPv4Repr{Type: wire.ICMPv4Echo, ID: 5, Seq: 1, Data: []byte("raw")}
	msg := make([]byte, req.Len())
	req.Emit(msg)
	if _, err := c.WriteTo(msg, &net.IPAddr{IP: net.IPv4(198, 18, 0, 2)}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	p := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.NewICMPv4(p[:n])
		if err != nil {
			t.Fatalf("payload is not ICMP: %x", p[:n])
		}
		if m.Type() != wire.ICMPv4EchoReply {
			continue // our own request is not looped to us, but be tolerant
		}
		if from.String() != "198.18.0.2" || m.ID() != 5 || string(m.Payload()) != "raw" {
			t.Fatalf("reply from %v: %+v", from, m)
		}
		return
	}
}
