package socket

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"berth/link/mem"
	"berth/stack"
)

func listen(t testing.TB, s *stack.Stack, addr string) *TCPListener {
	t.Helper()
	l, err := s.ListenTCP(netip.MustParseAddrPort(addr), stack.TCPOptions{Owner: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tl := NewTCPListener(l, "tcp")
	t.Cleanup(func() { tl.Close() })
	return tl
}

func dial(t testing.TB, s *stack.Stack, addr string) *TCPConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := DialTCP(ctx, s, "tcp", netip.MustParseAddrPort(addr), stack.TCPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTCPEchoAndHalfClose(t *testing.T) {
	a, b := hosts(t)
	ln := listen(t, b, "0.0.0.0:7")
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c) // echo until the client half-closes
		c.(*TCPConn).CloseWrite()
		c.Close()
	}()
	c := dial(t, a, "198.18.0.2:7")
	defer c.Close()
	msg := bytes.Repeat([]byte("berth "), 50000) // 300 KB: many windows
	go func() {
		c.Write(msg)
		c.CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echoed %d of %d bytes, err %v", len(got), len(msg), err)
	}
}

func TestTCPConnectionRefused(t *testing.T) {
	a, _ := hosts(t)
	_, err := DialTCP(context.Background(), a, "tcp", netip.MustParseAddrPort("198.18.0.2:81"), stack.TCPOptions{})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want ECONNREFUSED", err)
	}
	if err.Error() != "dial tcp 198.18.0.2:81: connect: connection refused" {
		t.Fatalf("error text %q", err)
	}
}

func TestTCPNettestConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		la, lb := mem.Pair()
		a, b := stack.New(stack.Options{Seed: 1}), stack.New(stack.Options{Seed: 2})
		a.AddLink("", la, addrA)
		b.AddLink("", lb, addrB)
		l, err := b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), stack.TCPOptions{})
		if err != nil {
			return nil, nil, nil, err
		}
		ln := NewTCPListener(l, "tcp")
		accepted := make(chan net.Conn, 1)
		go func() {
			c, _ := ln.Accept()
			accepted <- c
		}()
		c1, err = DialTCP(context.Background(), a, "tcp", netip.MustParseAddrPort("198.18.0.2:80"), stack.TCPOptions{})
		if err != nil {
			return nil, nil, nil, err
		}
		c2 = <-accepted
		stop = func() {
			c1.Close()
			c2.Close()
			ln.Close()
			a.Close()
			b.Close()
		}
		return c1, c2, stop, nil
	})
}

func TestTCPBulkSHA256(t *testing.T) {
	a, b := hosts(t)
	ln := listen(t, b, "0.0.0.0:9")
	const size = 16 << 20
	sum := make(chan [32]byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		h := sha256.New()
		io.Copy(h, c)
		var s [32]byte
		copy(s[:], h.Sum(nil))
		sum <- s
		c.Close()
	}()
	c := dial(t, a, "198.18.0.2:9")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 31 / 7)
	}
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case got := <-sum:
		if got != sha256.Sum256(data) {
			t.Fatal("SHA-256 differs")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("transfer did not complete")
	}
}
