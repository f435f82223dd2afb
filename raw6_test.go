package berth_test

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// "ip6:253" end to end: the receiver reads the payload alone, from an
// IPv6 *net.IPAddr, and nothing of another protocol.
func TestRaw6ListenAndDial(t *testing.T) {
	a, b := dualHosts(t)
	rx, err := b.ListenPacket("ip6:253", "2001:2::2")
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	if la := rx.LocalAddr().(*net.IPAddr); la.String() != "2001:2::2" {
		t.Fatalf("listening on %v", la)
	}
	other, err := a.Dial("ip6:254", "2001:2::2")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := a.Dial("ip6:253", "2001:2::2")
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	if ra := tx.RemoteAddr().(*net.IPAddr); ra.String() != "2001:2::2" {
		t.Fatalf("remote %v", ra)
	}
	if _, err := other.Write([]byte("254")); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"experimental", "second"} {
		if _, err := tx.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	p := make([]byte, 100)
	rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"experimental", "second"} {
		n, from, err := rx.ReadFrom(p)
		if err != nil || string(p[:n]) != want || from.(*net.IPAddr).IP.String() != "2001:2::1" || from.(*net.IPAddr).IP.To4() != nil {
			t.Fatalf("got %q from %v err %v, want %q", p[:n], from, err, want)
		}
	}
}

// "ip6:ipv6-icmp" and "ip6:58" on the wildcard: an echo request written
// with a zero checksum is answered, and ReadFrom gives the reply's ICMPv6
// message and its source.
func TestRaw6ICMPv6Ping(t *testing.T) {
	a, _ := dualHosts(t)
	for i, nw := range []string{"ip6:ipv6-icmp", "ip6:58"} {
		c, err := a.ListenPacket(nw, "")
		if err != nil {
			t.Fatalf("%s: %v", nw, err)
		}
		if la := c.LocalAddr().(*net.IPAddr); la.String() != "::" {
			t.Fatalf("%s: local %v", nw, la)
		}
		req := []byte{128, 0, 0, 0, 0xbe, 0xef, 0, byte(i), 'h', 'i'}
		dst := &net.IPAddr{IP: net.ParseIP("2001:2::2")}
		if _, err := c.WriteTo(req, dst); err != nil {
			t.Fatalf("%s: %v", nw, err)
		}
		p := make([]byte, 100)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := c.ReadFrom(p)
		if err != nil || from.String() != "2001:2::2" || n != len(req) || p[0] != 129 || !bytes.Equal(p[4:n], req[4:]) {
			t.Fatalf("%s: got % x from %v err %v", nw, p[:n], from, err)
		}
		c.Close()
	}
}

// The family of the network and of the address must agree, as in Go's
// net; "ip:" takes the address's.
func TestRaw6NetworkNames(t *testing.T) {
	a, _ := dualHosts(t)
	for _, c := range []struct{ nw, addr string }{
		{"ip6:ipv6-icmp", "198.18.0.1"}, {"ip6:253", "::ffff:198.18.0.1"}, {"ip4:253", "2001:2::1"}, {"ip6:255", ""},
	} {
		if conn, err := a.ListenPacket(c.nw, c.addr); err == nil {
			conn.Close()
			t.Fatalf("ListenPacket(%q, %q) succeeded", c.nw, c.addr)
		}
	}
	c, err := a.ListenPacket("ip:253", "2001:2::1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteTo([]byte("x"), &net.IPAddr{IP: net.ParseIP("198.18.0.2")}); err == nil {
		t.Fatal("an IPv6 raw socket sent to an IPv4 address")
	}
	if _, err := c.WriteTo([]byte("x"), &net.IPAddr{IP: net.ParseIP("2001:2::2")}); err != nil {
		t.Fatal(err)
	}
}
