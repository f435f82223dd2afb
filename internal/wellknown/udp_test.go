package wellknown

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"berth/link/mem"
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
