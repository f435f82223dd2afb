package wellknown

import (
	"bytes"
	"context"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"berth/link/mem"
	"berth/socket"
	"berth/stack"
)

func TestUDPServices(t *testing.T) {
	la, lb := mem.Pair()
	a, b := stack.New(stack.Options{Seed: 1}), stack.New(stack.Options{Seed: 2})
	a.AddLink("", la, netip.MustParsePrefix("198.18.0.1/24"))
	b.AddLink("", lb, netip.MustParsePrefix("198.18.0.2/24"))
	defer a.Close()
	defer b.Close()
	sv, err := ServeUDP(b, netip.IPv4Unspecified())
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Close()
	c, _ := a.OpenUDP(stack.UDPOptions{})
	ready := make(chan struct{}, 1)
	c.SetNotify(func(stack.Event) {
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	ask := func(port uint16, msg []byte) []byte {
		t.Helper()
		if err := c.SendTo(msg, netip.AddrPortFrom(netip.MustParseAddr("198.18.0.2"), port)); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 65536)
		deadline := time.After(5 * time.Second)
		for {
			n, _, err := c.TryRecv(p)
			if err == nil {
				return p[:n]
			}
			select {
			case <-ready:
			case <-deadline:
				return nil
			}
		}
	}
	big := bytes.Repeat([]byte("0123456789"), 800)
	if got := ask(Echo, big); !bytes.Equal(got, big) {
		t.Fatalf("echo returned %d bytes, want %d", len(got), len(big))
	}
	if got := ask(Daytime, []byte("?")); !strings.HasSuffix(string(got), "\r\n") || len(got) < 20 {
		t.Fatalf("daytime %q", got)
	}
	got := ask(Chargen, []byte("?"))
	if len(got) == 0 || len(got) > ChargenMax || !bytes.HasPrefix(got, []byte("!\"#$%&'()*+,-./")) || got[72] != '\r' || got[74] != '"' {
		t.Fatalf("chargen %q", got)
	}
	c.SendTo([]byte("into the void"), netip.MustParseAddrPort("198.18.0.2:9"))
	if got := ask(Echo, []byte("after")); string(got) != "after" {
		t.Fatalf("discard answered or echo lost: %q", got)
	}
}

func TestTCPServices(t *testing.T) {
	la, lb := mem.Pair()
	a, b := stack.New(stack.Options{Seed: 1}), stack.New(stack.Options{Seed: 2})
	a.AddLink("", la, netip.MustParsePrefix("198.18.0.1/24"))
	b.AddLink("", lb, netip.MustParsePrefix("198.18.0.2/24"))
	defer a.Close()
	defer b.Close()
	sv, err := Serve(b, netip.IPv4Unspecified())
	if err != nil {
		t.Fatal(err)
	}
	defer sv.Close()
	dial := func(port uint16) *socket.TCPConn {
		c, err := socket.DialTCP(context.Background(), a, "tcp", netip.AddrPortFrom(netip.MustParseAddr("198.18.0.2"), port), stack.TCPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	// echo: 1 MB through, half-closed at the end.
	c := dial(Echo)
	msg := bytes.Repeat([]byte("echo!"), 200000)
	go func() { c.Write(msg); c.CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo: %d of %d bytes, %v", len(got), len(msg), err)
	}
	c.Close()
	// daytime: one line, then the server closes.
	c = dial(Daytime)
	got, err = io.ReadAll(c)
	if err != nil || !strings.HasSuffix(string(got), "\r\n") {
		t.Fatalf("daytime %q %v", got, err)
	}
	c.Close()
	// chargen: a stream of rotating lines.
	c = dial(Chargen)
	line := make([]byte, 74*3)
	if _, err := io.ReadFull(c, line); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(line[:74], chargen(nil, 74)) || line[74] != '"' || line[148] != '#' {
		t.Fatalf("chargen %q", line)
	}
	c.Close()
	// discard: swallows, answers nothing, closes on our FIN.
	c = dial(Discard)
	c.Write(msg)
	c.CloseWrite()
	if n, err := io.ReadAll(c); err != nil || len(n) != 0 {
		t.Fatalf("discard answered %d bytes, %v", len(n), err)
	}
	c.Close()
}
