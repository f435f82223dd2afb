package berth_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth"
	"berth/link/mem"
)

func hosts(t *testing.T) (a, b *berth.Host) {
	t.Helper()
	la, lb := mem.Pair()
	a, b = berth.NewHost(berth.Options{Name: "a", Seed: 1}), berth.NewHost(berth.Options{Name: "b", Seed: 2})
	if err := a.AddLink(la, netip.MustParsePrefix("198.18.0.1/24")); err != nil {
		t.Fatal(err)
	}
	if err := b.AddLink(lb, netip.MustParsePrefix("198.18.0.2/24")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestDatagramsByServiceName(t *testing.T) {
	a, b := hosts(t)
	pc, err := b.ListenPacket("udp", ":echo")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if got := pc.LocalAddr().String(); got != "0.0.0.0:7" {
		t.Fatalf("listening on %s", got)
	}
	c, err := a.Dial("udp", "198.18.0.2:echo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello echo"))
	p := make([]byte, 64)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := pc.ReadFrom(p)
	if err != nil || string(p[:n]) != "hello echo" || from.String() != c.LocalAddr().String() {
		t.Fatalf("got %q from %v (client %v) err %v", p[:n], from, c.LocalAddr(), err)
	}
	// The seed's question, answered: who talks to whom over which protocol.
	var srv, cli berth.Socket
	for _, s := range b.Sockets() {
		if s.Proto == "udp" {
			srv = s
		}
	}
	for _, s := range a.Sockets() {
		if s.Proto == "udp" {
			cli = s
		}
	}
	if srv.Service != "echo" || srv.Local.Port() != 7 || srv.State != "UNCONN" {
		t.Fatalf("server row %+v", srv)
	}
	if cli.Remote.String() != "198.18.0.2:7" || cli.State != "ESTAB" || cli.Service != "" {
		t.Fatalf("client row %+v", cli)
	}
}

func TestUDPAndTCPPortSpacesAreIndependentOfEachOther(t *testing.T) {
	_, b := hosts(t)
	u1, err := b.ListenPacket("udp", ":255")
	if err != nil {
		t.Fatal(err)
	}
	defer u1.Close()
	_, err = b.ListenPacket("udp4", "198.18.0.2:255")
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second UDP bind of 255: %v", err)
	}
	if !strings.Contains(err.Error(), "listen udp4 198.18.0.2:255: bind:") {
		t.Fatalf("error text %q", err)
	}
}

func TestSuspiciousPortIsFlagged(t *testing.T) {
	_, b := hosts(t)
	pc, err := b.ListenPacket("udp", ":31337")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s := b.Sockets()[0]
	if s.Suspicious == "" {
		t.Fatalf("31337 not flagged: %+v", s)
	}
}

func TestRawNetworkNames(t *testing.T) {
	a, b := hosts(t)
	for _, nw := range []string{"ip4:icmp", "ip4:1", "ip:icmp", "ip4:253"} {
		c, err := a.ListenPacket(nw, "")
		if err != nil {
			t.Fatalf("%s: %v", nw, err)
		}
		c.Close()
	}
	if _, err := a.ListenPacket("ip4:nosuchproto", ""); err == nil {
		t.Fatal("unknown protocol name accepted")
	}
	if _, err := a.ListenPacket("udp7", ":1"); err == nil {
		t.Fatal("unknown network accepted")
	}
	// Protocol 253 end to end: the receiver sees exactly the payload.
	rx, _ := b.ListenPacket("ip4:253", "198.18.0.2")
	defer rx.Close()
	tx, _ := a.Dial("ip4:253", "198.18.0.2")
	defer tx.Close()
	tx.Write([]byte("experimental"))
	p := make([]byte, 100)
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := rx.ReadFrom(p)
	if err != nil || string(p[:n]) != "experimental" || from.(*net.IPAddr).IP.String() != "198.18.0.1" {
		t.Fatalf("got %q from %v err %v", p[:n], from, err)
	}
}
