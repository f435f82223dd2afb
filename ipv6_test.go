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
)

// dualHosts is hosts with IPv6 addresses from 2001:2::/48 (RFC 5180), in
// this process only.
func dualHosts(t *testing.T) (a, b *berth.Host) {
	t.Helper()
	a, b = hosts(t)
	if err := a.Stack().AddAddress("link0", netip.MustParsePrefix("2001:2::1/64")); err != nil {
		t.Fatal(err)
	}
	if err := b.Stack().AddAddress("link0", netip.MustParsePrefix("2001:2::2/64")); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// "udp" with an IPv6 literal and "udp6" give IPv6 sockets whose addresses
// are *net.UDPAddr with IPv6 IPs, as Go's net returns them.
func TestUDP6ListenAndDial(t *testing.T) {
	a, b := dualHosts(t)
	srv, err := b.ListenPacket("udp", "[2001:2::2]:domain")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if la := srv.LocalAddr().(*net.UDPAddr); la.String() != "[2001:2::2]:53" || la.IP.To4() != nil {
		t.Fatalf("listening on %v", la)
	}
	c, err := a.Dial("udp6", "[2001:2::2]:53")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ra := c.RemoteAddr().(*net.UDPAddr); ra.String() != "[2001:2::2]:53" {
		t.Fatalf("remote %v", ra)
	}
	if _, err := c.Write([]byte("query")); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 64)
	srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := srv.ReadFrom(p)
	if err != nil || string(p[:n]) != "query" || from.String() != c.LocalAddr().String() {
		t.Fatalf("got %q from %v (client %v) err %v", p[:n], from, c.LocalAddr(), err)
	}
	if !strings.HasPrefix(from.String(), "[2001:2::1]:") {
		t.Fatalf("from %v", from)
	}
	if _, err := srv.WriteTo([]byte("answer"), from); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(p); err != nil || string(p[:n]) != "answer" {
		t.Fatalf("client read %q %v", p[:n], err)
	}
	var row berth.Socket
	for _, s := range b.Sockets() {
		if s.Proto == "udp" {
			row = s
		}
	}
	if row.Local.String() != "[2001:2::2]:53" || row.Service != "domain" {
		t.Fatalf("server row %+v", row)
	}

	// "udp6" with no host is [::]; "udp" with none stays 0.0.0.0.
	w6, err := b.ListenPacket("udp6", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer w6.Close()
	if ip := w6.LocalAddr().(*net.UDPAddr).IP; !ip.Equal(net.IPv6unspecified) || ip.To4() != nil {
		t.Fatalf("udp6 :0 on %v", w6.LocalAddr())
	}
	w4, err := b.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer w4.Close()
	if got := w4.LocalAddr().(*net.UDPAddr).IP.String(); got != "0.0.0.0" {
		t.Fatalf("udp :0 on %v", got)
	}
}

// A datagram to a closed IPv6 port: the connected socket's next read is
// ECONNREFUSED, in Go's error shape.
func TestUDP6DialClosedPortRefused(t *testing.T) {
	a, _ := dualHosts(t)
	c, err := a.Dial("udp", "[2001:2::2]:7")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("echo?"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = c.Read(make([]byte, 10))
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "read udp [2001:2::1]:") {
		t.Fatalf("err = %v, want ECONNREFUSED", err)
	}
}

// "udp4" and "tcp4" keep to IPv4, "udp6" and "tcp6" to IPv6.
func TestNetworkFamiliesKeepToTheirAddresses(t *testing.T) {
	a, _ := dualHosts(t)
	for _, c := range []struct{ network, address string }{
		{"udp4", "[2001:2::1]:53"}, {"udp6", "198.18.0.1:53"}, {"udp6", "[::ffff:198.18.0.1]:53"},
	} {
		pc, err := a.ListenPacket(c.network, c.address)
		if err == nil {
			pc.Close()
			t.Fatalf("%s %s accepted", c.network, c.address)
		}
		if !strings.Contains(err.Error(), "no suitable address") {
			t.Fatalf("%s %s: %v", c.network, c.address, err)
		}
	}
	if _, err := a.Dial("udp4", "[2001:2::2]:7"); err == nil {
		t.Fatal("udp4 dialled an IPv6 address")
	}
	// An IPv4 socket stays IPv4: writing to an IPv6 address fails.
	pc, err := a.ListenPacket("udp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, err = pc.WriteTo([]byte("x"), &net.UDPAddr{IP: net.ParseIP("2001:2::2"), Port: 7})
	if !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Fatalf("udp4 socket writing to IPv6: %v", err)
	}
}
