package stack

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"berth/tcp"
)

// mapped is a's IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2).
func mapped(a netip.Addr) netip.Addr { return netip.AddrFrom16(a.As16()) }

// A dual-stack UDP socket on [::] (IPV6_V6ONLY off, RFC 3493 §5.3)
// receives both families, names IPv4 peers by their IPv4-mapped
// addresses and answers them over IPv4; it holds the port against an
// IPv4 wildcard socket, as Linux's does.
func TestUDPDualStackWildcard(t *testing.T) {
	a, b := dualPair(t, 1500)
	srv, _ := b.OpenUDP(UDPOptions{Owner: "dual", DualStack: true})
	if err := srv.Bind(netip.MustParseAddrPort("[::]:53")); err != nil {
		t.Fatal(err)
	}
	v4, _ := b.OpenUDP(UDPOptions{})
	if err := v4.Bind(netip.MustParseAddrPort("0.0.0.0:53")); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("0.0.0.0:53 under a dual-stack [::]:53: %v, want EADDRINUSE", err)
	}
	c4, _ := a.OpenUDP(UDPOptions{})
	c6, _ := a.OpenUDP(UDPOptions{})
	p := make([]byte, 100)
	for _, c := range []struct {
		u    *UDPSocket
		dst  netip.Addr
		from netip.Addr // as the dual-stack socket names the client
	}{{c4, addrB.Addr(), mapped(addrA.Addr())}, {c6, addr6B.Addr(), addr6A.Addr()}} {
		if err := c.u.SendTo([]byte("q"), netip.AddrPortFrom(c.dst, 53)); err != nil {
			t.Fatal(err)
		}
		n, from, err := recvWait(t, srv, p)
		if err != nil || n != 1 || from.Addr() != c.from {
			t.Fatalf("server got %d from %v err %v, want from %v", n, from, err, c.from)
		}
		if err := srv.SendTo([]byte("answer"), from); err != nil {
			t.Fatalf("answer to %v: %v", from, err)
		}
		n, back, err := recvWait(t, c.u, p)
		if err != nil || string(p[:n]) != "answer" || back != netip.AddrPortFrom(c.dst, 53) {
			t.Fatalf("client got %q from %v err %v", p[:n], back, err)
		}
	}
	// Connected to an IPv4 peer, it still names it IPv4-mapped.
	if err := srv.Connect(netip.AddrPortFrom(mapped(addrA.Addr()), c4.LocalAddr().Port())); err != nil {
		t.Fatal(err)
	}
	if r, l := srv.RemoteAddr(), srv.LocalAddr(); r.Addr() != mapped(addrA.Addr()) || l != netip.AddrPortFrom(mapped(addrB.Addr()), 53) {
		t.Fatalf("connected %v -> %v", l, r)
	}
	for _, si := range b.Sockets() {
		if si.Owner == "dual" && (si.Local != netip.AddrPortFrom(mapped(addrB.Addr()), 53) || si.State != "ESTAB") {
			t.Fatalf("dual row %+v", si)
		}
	}
}

// A dual-stack TCP listener on [::] accepts IPv4 and IPv6 connections.
func TestTCPDualStackListener(t *testing.T) {
	a, b := dualPair(t, 1500)
	l, err := b.ListenTCP(netip.MustParseAddrPort("[::]:80"), TCPOptions{DualStack: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.ListenTCP(netip.MustParseAddrPort("0.0.0.0:80"), TCPOptions{}); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("0.0.0.0:80 under a dual-stack [::]:80: %v", err)
	}
	for _, dst := range []netip.Addr{addrB.Addr(), addr6B.Addr()} {
		c, err := a.DialTCP(netip.AddrPortFrom(dst, 80), TCPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "handshake to "+dst.String(), 5*time.Second, func() bool { return c.State() == tcp.StateEstablished })
		var sc *TCPConn
		waitFor(t, "accept", 5*time.Second, func() bool { sc, err = l.TryAccept(); return err == nil })
		if sc.LocalAddr() != netip.AddrPortFrom(dst, 80) || sc.RemoteAddr() != c.LocalAddr() {
			t.Fatalf("accepted %v <- %v, client %v", sc.LocalAddr(), sc.RemoteAddr(), c.LocalAddr())
		}
	}
}
