package berth_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// A mebibyte echoed over TCP over IPv6 ("tcp6" listener, "tcp" dial of an
// IPv6 literal) comes back whole: SHA-256 of what was sent and received.
func TestTCP6EchoMebibyte(t *testing.T) {
	a, b := dualHosts(t)
	ln, err := b.Listen("tcp6", ":echo")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := ln.Addr().(*net.TCPAddr); got.String() != "[::]:7" {
		t.Fatalf("listening on %v", got)
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.(interface{ CloseWrite() error }).CloseWrite()
		c.Close()
	}()
	c, err := a.Dial("tcp", "[2001:2::2]:echo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if la, ra := c.LocalAddr().String(), c.RemoteAddr().String(); !strings.HasPrefix(la, "[2001:2::1]:") || ra != "[2001:2::2]:7" {
		t.Fatalf("conn %s -> %s", la, ra)
	}
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i*7 + i>>11)
	}
	go func() {
		c.Write(msg)
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil || n != int64(len(msg)) {
		t.Fatalf("echoed %d bytes, err %v", n, err)
	}
	if want := sha256.Sum256(msg); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("echo differs from what was sent")
	}
	// Segments fill an IPv6 route's MSS: 1500 - 60, less 12 for timestamps.
	var row berth.Socket
	for _, s := range a.Sockets() {
		if s.Proto == "tcp" && s.Remote.Port() == 7 {
			row = s
		}
	}
	if row.MSS != 1500-60-12 || row.Local.Addr() != netip.MustParseAddr("2001:2::1") {
		t.Fatalf("client row %+v", row)
	}
	if st := a.Stack().Stats(); st.Ip.OutRequests > 10 || st.Ip6.OutRequests < 700 {
		t.Fatalf("a sent %d IPv4 and %d IPv6 packets", st.Ip.OutRequests, st.Ip6.OutRequests)
	}
}

// A SYN to a closed IPv6 port is answered by a reset (RFC 9293 §3.10.7.1):
// Dial fails with ECONNREFUSED in Go's error shape.
func TestTCP6ClosedPortRefused(t *testing.T) {
	a, b := dualHosts(t)
	_, err := a.Dial("tcp", "[2001:2::2]:1")
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "dial tcp [2001:2::2]:1:") {
		t.Fatalf("dial closed IPv6 port: %v", err)
	}
	if st := b.Stack().Stats().Tcp; st.OutRsts != 1 {
		t.Fatalf("b sent %d resets", st.OutRsts)
	}
	// IPv4 and IPv6 listeners share a port number (IPv6 ones are V6ONLY).
	l4, err := b.Listen("tcp4", ":2000")
	if err != nil {
		t.Fatal(err)
	}
	defer l4.Close()
	l6, err := b.Listen("tcp6", ":2000")
	if err != nil {
		t.Fatalf("[::]:2000 beside 0.0.0.0:2000: %v", err)
	}
	defer l6.Close()
	if _, err := b.Listen("tcp", "[2001:2::2]:2000"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("[2001:2::2]:2000 under [::]:2000: %v", err)
	}
	if _, err := a.Dial("tcp4", "[2001:2::2]:2000"); err == nil {
		t.Fatal("tcp4 dialled an IPv6 address")
	}
}

// net/http unchanged over IPv6: a Go server on a berth "tcp6" listener,
// a client dialling through berth.
func TestHTTPOverIPv6(t *testing.T) {
	a, b := dualHosts(t)
	ln, err := b.Listen("tcp6", "[2001:2::2]:http")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from %s", r.URL.Path, r.RemoteAddr)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	tr := &http.Transport{DialContext: a.DialContext, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := range 100 {
		resp, err := client.Get(fmt.Sprintf("http://[2001:2::2]/%d", i))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("hello /%d from [2001:2::1]:", i)
		if err != nil || resp.StatusCode != 200 || !strings.HasPrefix(string(body), want) {
			t.Fatalf("request %d: %d %q %v", i, resp.StatusCode, body, err)
		}
	}
}

// As in Go's net, "udp" and "tcp" on "[::]:port" are dual-stack: IPv4
// peers arrive too, named by IPv4-mapped addresses, which net.IP prints
// in dotted form.
func TestDualStackWildcard(t *testing.T) {
	a, b := dualHosts(t)
	pc, err := b.ListenPacket("udp", "[::]:53")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := b.ListenPacket("udp4", ":53"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("udp4 :53 beside dual-stack [::]:53: %v", err)
	}
	for _, dst := range []string{"198.18.0.2:53", "[2001:2::2]:53"} {
		c, err := a.Dial("udp", dst)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(dst))
		p := make([]byte, 64)
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := pc.ReadFrom(p)
		if err != nil || string(p[:n]) != dst || from.String() != c.LocalAddr().String() {
			t.Fatalf("got %q from %v (client %v) err %v", p[:n], from, c.LocalAddr(), err)
		}
		if _, err := pc.WriteTo([]byte("ok"), from); err != nil {
			t.Fatalf("answer to %v: %v", from, err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(p); err != nil || string(p[:n]) != "ok" {
			t.Fatalf("client %s read %q %v", dst, p[:n], err)
		}
	}
	ln, err := b.Listen("tcp", "[::]:80")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, c.LocalAddr().String())
			c.Close()
		}
	}()
	for _, dst := range []string{"198.18.0.2:80", "[2001:2::2]:80"} {
		c, err := a.Dial("tcp", dst)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != dst {
			t.Fatalf("server saw itself as %q for %s (%v)", got, dst, err)
		}
	}
}
