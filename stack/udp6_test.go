package stack

import (
	"bytes"
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"berth/link/mem"
	"berth/wire"
)

// UDP echo over IPv6 of 0..65,527-byte datagrams between two dual-stack
// hosts on a 1500-byte link: the large ones leave in fragments (RFC 8200
// §4.5) and come back whole; 65,528 bytes is EMSGSIZE.
func TestUDP6EchoAcrossHosts(t *testing.T) {
	a, b := dualPair(t, 1500)
	srv, _ := b.OpenUDP(UDPOptions{Owner: "echo6"})
	if err := srv.Bind(netip.MustParseAddrPort("[::]:7")); err != nil {
		t.Fatal(err)
	}
	cli, _ := a.OpenUDP(UDPOptions{Owner: "client6"})
	dst := netip.AddrPortFrom(addr6B.Addr(), 7)
	sizes := []int{0, 64, 1452, 1453, 8000, 65527}
	for _, size := range sizes {
		msg := bytes.Repeat([]byte{byte(size), 0x5a}, size/2+1)[:size]
		if err := cli.SendTo(msg, dst); err != nil {
			t.Fatalf("send %d: %v", size, err)
		}
		p := make([]byte, 65536)
		n, from, err := recvWait(t, srv, p)
		if err != nil || n != size || !bytes.Equal(p[:n], msg) {
			t.Fatalf("server got %d bytes err %v, want %d", n, err, size)
		}
		if from.Addr() != addr6A.Addr() || from.Port() < 32768 || from.Port() > 60999 {
			t.Fatalf("from %v: not an ephemeral port of a's IPv6 address", from)
		}
		if err := srv.SendTo(p[:n], from); err != nil {
			t.Fatal(err)
		}
		n, from, err = recvWait(t, cli, p)
		if err != nil || n != size || from != dst || !bytes.Equal(p[:n], msg) {
			t.Fatalf("client got %d from %v err %v", n, from, err)
		}
	}
	if got := cli.LocalAddr(); got.Addr() != netip.IPv6Unspecified() {
		t.Fatalf("client bound to %v, want the IPv6 wildcard", got)
	}
	if err := cli.SendTo(make([]byte, 65528), dst); err != syscall.EMSGSIZE {
		t.Fatalf("oversize send: %v, want EMSGSIZE", err)
	}
	// The socket is IPv6 now: an IPv4 destination is of the other family.
	if err := cli.SendTo([]byte("v4"), netip.AddrPortFrom(addrB.Addr(), 7)); err != syscall.EAFNOSUPPORT {
		t.Fatalf("IPv6 socket sending to IPv4: %v, want EAFNOSUPPORT", err)
	}
	st := b.Stats()
	// 1453, 8000 and 65527 bytes exceed 1500 - 40 - 8: three fragmented
	// each way.
	if st.Udp.InDatagrams != uint64(len(sizes)) || st.Udp.OutDatagrams != uint64(len(sizes)) ||
		st.Ip6.ReasmOKs != 3 || st.Ip6.FragOKs != 3 || st.Ip.InReceives != 0 {
		t.Fatalf("b counters udp %+v ip6 %+v", st.Udp, st.Ip6)
	}
}

// RFC 4443 §3.1: a datagram to a closed port draws Port Unreachable, which
// the connected socket reports as ECONNREFUSED (as Linux's
// icmpv6_err_convert).
func TestUDP6ConnectedSocketHearsPortUnreachable(t *testing.T) {
	a, b := dualPair(t, 1500)
	c, _ := a.OpenUDP(UDPOptions{})
	if err := c.Connect(netip.AddrPortFrom(addr6B.Addr(), 9999)); err != nil {
		t.Fatal(err)
	}
	if got := c.LocalAddr().Addr(); got != addr6A.Addr() {
		t.Fatalf("connected from %v, want %v", got, addr6A.Addr())
	}
	if err := c.SendTo([]byte("anyone?"), netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := recvWait(t, c, make([]byte, 10)); err != syscall.ECONNREFUSED {
		t.Fatalf("err = %v, want ECONNREFUSED", err)
	}
	if st := b.Stats(); st.Udp.NoPorts != 1 || st.Icmp6.OutDestUnreachs != 1 || st.Icmp.OutDestUnreachs != 0 {
		t.Fatalf("b udp %+v icmp6 %+v", st.Udp, st.Icmp6)
	}
	if st := a.Stats(); st.Icmp6.InDestUnreachs != 1 {
		t.Fatalf("a icmp6 %+v", st.Icmp6)
	}
	// The error was reported once; the socket works on.
	if _, _, err := c.TryRecv(make([]byte, 10)); err != syscall.EWOULDBLOCK {
		t.Fatalf("second read: %v", err)
	}
}

// The IPv6 socket is IPV6_V6ONLY: it shares a port number with an IPv4
// socket, and each family's datagrams reach their own socket only.
func TestUDP6AndUDP4ShareAPortNumber(t *testing.T) {
	a, b := dualPair(t, 1500)
	s4, _ := b.OpenUDP(UDPOptions{})
	s6, _ := b.OpenUDP(UDPOptions{})
	if err := s4.Bind(netip.MustParseAddrPort("0.0.0.0:53")); err != nil {
		t.Fatal(err)
	}
	if err := s6.Bind(netip.MustParseAddrPort("[::]:53")); err != nil {
		t.Fatalf("[::]:53 beside 0.0.0.0:53: %v", err)
	}
	again, _ := b.OpenUDP(UDPOptions{})
	if err := again.Bind(netip.AddrPortFrom(addr6B.Addr(), 53)); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("[2001:2::2]:53 under [::]:53: %v, want EADDRINUSE", err)
	}
	if err := again.Bind(netip.MustParseAddrPort("[2001:2::99]:53")); err != syscall.EADDRNOTAVAIL {
		t.Fatalf("bind to an address the host lacks: %v", err)
	}
	c4, _ := a.OpenUDP(UDPOptions{})
	if err := c4.SendTo([]byte(addrB.Addr().String()), netip.AddrPortFrom(addrB.Addr(), 53)); err != nil {
		t.Fatal(err)
	}
	c6, _ := a.OpenUDP(UDPOptions{})
	if err := c6.SendTo([]byte(addr6B.Addr().String()), netip.AddrPortFrom(addr6B.Addr(), 53)); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 100)
	for _, tc := range []struct {
		s    *UDPSocket
		want netip.Addr
	}{{s4, addrB.Addr()}, {s6, addr6B.Addr()}} {
		n, from, err := recvWait(t, tc.s, p)
		if err != nil || string(p[:n]) != tc.want.String() || from.Addr().Is4() != tc.want.Is4() {
			t.Fatalf("got %q from %v err %v, want %v's", p[:n], from, err, tc.want)
		}
		if _, _, err := tc.s.TryRecv(p); err != syscall.EWOULDBLOCK {
			t.Fatalf("a second datagram on %v's socket: %v", tc.want, err)
		}
	}
}

// RFC 8200 §8.1: over IPv6 the UDP checksum is mandatory, so a datagram
// with a zero checksum is dropped and counted, though IPv4 accepts one.
func TestUDP6ZeroChecksumIsDropped(t *testing.T) {
	la, lb := mem.Pair(mem.MTU(1500))
	defer la.Close()
	s := New(Options{Name: "target", Seed: 3})
	if err := s.AddLink("mem0", lb, addrB); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAddress("mem0", addr6B); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, _ := s.OpenUDP(UDPOptions{})
	if err := u.Bind(netip.MustParseAddrPort("[::]:7")); err != nil {
		t.Fatal(err)
	}
	zero := []byte{0, 9, 0, 7, 0, 9, 0, 0, 'z'}
	good := make([]byte, 9)
	good[8] = 'g'
	wire.UDPRepr{SrcPort: 9, DstPort: 7}.Emit(good, 1, addr6A.Addr(), addr6B.Addr())
	if _, err := la.Write([][]byte{mkPacket6(wire.ProtoUDP, zero), mkPacket6(wire.ProtoUDP, good)}); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 10)
	n, from, err := recvWait(t, u, p)
	if err != nil || string(p[:n]) != "g" || from != netip.AddrPortFrom(addr6A.Addr(), 9) {
		t.Fatalf("got %q from %v err %v, want the good datagram", p[:n], from, err)
	}
	if st := s.Stats().Udp; st.InCsumErrors != 1 || st.InErrors != 1 || st.InDatagrams != 1 {
		t.Fatalf("udp %+v", st)
	}
}

// The socket table lists IPv6 UDP sockets beside IPv4 ones.
func TestUDP6RowsInSocketTable(t *testing.T) {
	a, _ := dualPair(t, 1500)
	l, _ := a.OpenUDP(UDPOptions{Owner: "dns6"})
	if err := l.Bind(netip.MustParseAddrPort("[2001:2::1]:53")); err != nil {
		t.Fatal(err)
	}
	c, _ := a.OpenUDP(UDPOptions{Owner: "peer6"})
	if err := c.Connect(netip.MustParseAddrPort("[2001:2::2]:7")); err != nil {
		t.Fatal(err)
	}
	v4, _ := a.OpenUDP(UDPOptions{Owner: "dns4"})
	if err := v4.Bind(netip.MustParseAddrPort("198.18.0.1:53")); err != nil {
		t.Fatal(err)
	}
	rows := map[string]SocketInfo{}
	for _, si := range a.Sockets() {
		rows[si.Owner] = si
	}
	if r := rows["dns6"]; r.Proto != "udp" || r.Local != netip.MustParseAddrPort("[2001:2::1]:53") || r.State != "UNCONN" || r.Remote.IsValid() {
		t.Fatalf("dns6 row %+v", r)
	}
	if r := rows["peer6"]; r.Local.Addr() != addr6A.Addr() || r.Remote != netip.MustParseAddrPort("[2001:2::2]:7") || r.State != "ESTAB" {
		t.Fatalf("peer6 row %+v", r)
	}
	if r := rows["dns4"]; r.Local != netip.MustParseAddrPort("198.18.0.1:53") {
		t.Fatalf("dns4 row %+v", r)
	}
}
