package stack

import (
	"bytes"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"berth/link"
	"berth/link/mem"
	"berth/wire"
)

// readable returns a channel told each time r becomes readable.
func readable(r *RawSocket) chan struct{} {
	ch := make(chan struct{}, 64)
	r.SetNotify(func(ev Event) {
		if ev == Readable {
			ch <- struct{}{}
		}
	})
	return ch
}

// readRaw waits (at most 5 s, a safety net) for one datagram on r.
func readRaw(t *testing.T, r *RawSocket, ready chan struct{}) ([]byte, netip.Addr) {
	t.Helper()
	p := make([]byte, 70000)
	deadline := time.After(5 * time.Second)
	for {
		n, from, err := r.TryRead(p)
		if err == nil {
			return p[:n], from
		}
		if err != syscall.EWOULDBLOCK {
			t.Fatal(err)
		}
		select {
		case <-ready:
		case <-deadline:
			t.Fatal("no datagram")
		}
	}
}

// An ip6:ipv6-icmp socket sends an echo request with its checksum left
// zero: the stack computes it (RFC 3542 §3.1). The peer's raw ICMPv6
// socket gets a copy of the request, payload only, and the peer's layer
// still answers it; the reply reaches the sender's socket.
func TestRaw6EchoRequestAndReply(t *testing.T) {
	a, b := dualPair(t, 1500)
	ra, err := a.OpenRaw6(wire.ProtoICMPv6, RawOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	rb, err := b.OpenRaw6(wire.ProtoICMPv6, RawOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	readyA, readyB := readable(ra), readable(rb)
	req := []byte{wire.ICMPv6EchoRequest, 0, 0, 0, 0x12, 0x34, 0, 7, 'p', 'i', 'n', 'g'}
	if err := ra.Send(req, addr6B.Addr()); err != nil {
		t.Fatal(err)
	}
	got, from := readRaw(t, rb, readyB)
	m, err := wire.NewICMPv6(got)
	if err != nil || from != addr6A.Addr() || m.Type() != wire.ICMPv6EchoRequest || !m.ChecksumValid(addr6A.Addr(), addr6B.Addr()) ||
		!bytes.Equal(got[4:], req[4:]) {
		t.Fatalf("b's socket got % x from %v", got, from)
	}
	got, from = readRaw(t, ra, readyA)
	m, err = wire.NewICMPv6(got)
	if err != nil || from != addr6B.Addr() || m.Type() != wire.ICMPv6EchoReply || !m.ChecksumValid(addr6B.Addr(), addr6A.Addr()) ||
		m.ID() != 0x1234 || m.Seq() != 7 || string(m.Payload()) != "ping" {
		t.Fatalf("a's socket got % x from %v", got, from)
	}
	if st := b.Stats().Icmp6; st.InEchos != 1 || st.OutEchoReplies != 1 {
		t.Fatalf("b icmp6 %+v", st)
	}
	// Nothing else arrived: the request a sent is not copied back to a.
	if _, _, err := ra.TryRead(make([]byte, 100)); err != syscall.EWOULDBLOCK {
		t.Fatalf("a second datagram on a's socket: %v", err)
	}
	// Linux refuses an ICMPv6 message too short for its checksum field.
	if err := ra.Send([]byte{128, 0, 0}, addr6B.Addr()); err != syscall.EINVAL {
		t.Fatalf("3-byte ICMPv6 message: %v, want EINVAL", err)
	}
}

// An ip6:253 socket receives exactly what the other host's ip6:253 socket
// sends, without the IPv6 header; a protocol no socket serves (254) is
// answered with Parameter Problem, one a raw socket took is not.
func TestRaw6SeesItsProtocolOnly(t *testing.T) {
	a, b := dualPair(t, 1500)
	r253, err := b.OpenRaw6(253, RawOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r253.Close()
	ready := readable(r253)
	icmp, _ := a.OpenRaw6(wire.ProtoICMPv6, RawOptions{}) // sees the Parameter Problem
	defer icmp.Close()
	readyICMP := readable(icmp)
	r4, _ := b.OpenRaw(253, RawOptions{}) // an ip4:253 socket hears no IPv6
	defer r4.Close()
	ra, _ := a.OpenRaw6(253, RawOptions{})
	defer ra.Close()
	r254, _ := a.OpenRaw6(254, RawOptions{})
	defer r254.Close()

	if err := r254.Send([]byte("not for 253"), addr6B.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := ra.Send([]byte("experiment"), addr6B.Addr()); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 250) // 4000 bytes: fragmented, reassembled
	if err := ra.Send(big, addr6B.Addr()); err != nil {
		t.Fatal(err)
	}
	if got, from := readRaw(t, r253, ready); string(got) != "experiment" || from != addr6A.Addr() {
		t.Fatalf("got %q from %v", got, from)
	}
	if got, from := readRaw(t, r253, ready); !bytes.Equal(got, big) || from != addr6A.Addr() {
		t.Fatalf("got %d bytes from %v, want the 4000 sent", len(got), from)
	}
	if _, _, err := r253.TryRead(make([]byte, 100)); err != syscall.EWOULDBLOCK {
		t.Fatalf("a third datagram (protocol 254?) was queued: %v", err)
	}
	if _, _, err := r4.TryRead(make([]byte, 100)); err != syscall.EWOULDBLOCK {
		t.Fatalf("the ip4:253 socket got an IPv6 packet: %v", err)
	}
	// RFC 8200 §4: the 254 packet found no socket, so Parameter Problem
	// code 1 points at its Next Header (offset 6); 253 drew none.
	got, from := readRaw(t, icmp, readyICMP)
	m, _ := wire.NewICMPv6(got)
	if from != addr6B.Addr() || m == nil || m.Type() != wire.ICMPv6ParamProblem || m.Code() != wire.ICMPv6ParamNextHeader || m.Pointer() != 6 {
		t.Fatalf("a's ICMPv6 socket got % x from %v", got, from)
	}
	if st := b.Stats(); st.Ip6.InUnknownProtos != 1 || st.Icmp6.OutParmProblems != 1 || st.Raw.InDelivers != 2 {
		t.Fatalf("b ip6 %+v icmp6 %+v raw %+v", st.Ip6, st.Icmp6, st.Raw)
	}
}

// The family is fixed at open: an ip6: socket refuses IPv4 (and
// IPv4-mapped) addresses, and there is no header inclusion for IPv6.
func TestRaw6FamilyAndOptions(t *testing.T) {
	a, _ := dualPair(t, 1500)
	if _, err := a.OpenRaw6(253, RawOptions{HeaderIncluded: true}); err != syscall.EINVAL {
		t.Fatalf("IPv6 with header inclusion: %v, want EINVAL", err)
	}
	if _, err := a.OpenRaw6(255, RawOptions{}); err != syscall.EINVAL {
		t.Fatalf("IPv6 IPPROTO_RAW: %v, want EINVAL", err)
	}
	r, err := a.OpenRaw6(253, RawOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Is6() {
		t.Fatal("not an IPv6 socket")
	}
	mapped := netip.AddrFrom16(addrB.Addr().As16())
	for _, dst := range []netip.Addr{addrB.Addr(), mapped} {
		if err := r.Send([]byte("x"), dst); err != syscall.EAFNOSUPPORT {
			t.Fatalf("ip6 socket sending to %v: %v, want EAFNOSUPPORT", dst, err)
		}
		if err := r.Bind(dst); err != syscall.EAFNOSUPPORT {
			t.Fatalf("ip6 socket binding %v: %v, want EAFNOSUPPORT", dst, err)
		}
		if err := r.Connect(dst); err != syscall.EAFNOSUPPORT {
			t.Fatalf("ip6 socket connecting %v: %v, want EAFNOSUPPORT", dst, err)
		}
	}
	if err := r.Send([]byte("x"), netip.Addr{}); err != syscall.EDESTADDRREQ {
		t.Fatalf("no destination: %v", err)
	}
	if err := r.Send(make([]byte, 65536), addr6B.Addr()); err != syscall.EMSGSIZE {
		t.Fatalf("65,536 bytes: %v, want EMSGSIZE", err)
	}
	if err := r.Bind(netip.MustParseAddr("2001:2::99")); err != syscall.EADDRNOTAVAIL {
		t.Fatalf("binding a foreign address: %v", err)
	}
}

// Raw IPv6 sockets have socket-table rows beside IPv4 ones; the family
// shows in the addresses.
func TestRaw6RowsInSocketTable(t *testing.T) {
	a, _ := dualPair(t, 1500)
	r6, _ := a.OpenRaw6(wire.ProtoICMPv6, RawOptions{Owner: "ping6"})
	defer r6.Close()
	c6, _ := a.OpenRaw6(253, RawOptions{Owner: "exp6"})
	defer c6.Close()
	if err := c6.Bind(addr6A.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := c6.Connect(addr6B.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := c6.Send([]byte("x"), netip.Addr{}); err != nil { // to the connected peer
		t.Fatal(err)
	}
	r4, _ := a.OpenRaw(1, RawOptions{Owner: "ping4"})
	defer r4.Close()
	rows := map[string]SocketInfo{}
	for _, si := range a.Sockets() {
		rows[si.Owner] = si
	}
	if r := rows["ping6"]; r.Proto != "raw" || r.Protocol != 58 || r.Local != netip.MustParseAddrPort("[::]:0") || r.State != "UNCONN" || r.Remote.IsValid() {
		t.Fatalf("ping6 row %+v", r)
	}
	if r := rows["exp6"]; r.Protocol != 253 || r.Local != netip.AddrPortFrom(addr6A.Addr(), 0) || r.Remote != netip.AddrPortFrom(addr6B.Addr(), 0) || r.State != "ESTAB" || r.TxPackets != 1 {
		t.Fatalf("exp6 row %+v", r)
	}
	if r := rows["ping4"]; r.Protocol != 1 || r.Local != netip.MustParseAddrPort("0.0.0.0:0") {
		t.Fatalf("ping4 row %+v", r)
	}
	r6.Close()
	for _, si := range a.Sockets() {
		if si.Owner == "ping6" {
			t.Fatal("a closed socket still listed")
		}
	}
}

// Packets injected from a link: a raw socket gets the payload after the
// extension-header chain, matched on the Next Header that ends it; an
// ICMPv6 message with a bad checksum goes to no raw socket (RFC 3542
// §3.1), while a good echo request goes to the socket and is answered.
func TestRaw6InputAfterExtensionHeaders(t *testing.T) {
	la, lb := mem.Pair(mem.MTU(1500))
	defer la.Close()
	out := make(chan []byte, 16)
	la.Attach(link.ReceiverFunc(func(p []byte) { out <- append([]byte(nil), p...) }))
	b := New(Options{Name: "b", Seed: 2})
	defer b.Close()
	if err := b.AddLink("mem0", lb, addrB); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAddress("mem0", addr6B); err != nil {
		t.Fatal(err)
	}
	r253, _ := b.OpenRaw6(253, RawOptions{})
	defer r253.Close()
	ready := readable(r253)
	r58, _ := b.OpenRaw6(wire.ProtoICMPv6, RawOptions{})
	defer r58.Close()

	bad := echo6Msg(1, 1, []byte("bad sum"))
	bad[2] ^= 0xff
	good := echo6Msg(1, 2, []byte("good"))
	// Destination Options: next 253, length 0, PadN of 4 (RFC 8200 §4.2).
	opts := append([]byte{253, 0, 1, 4, 0, 0, 0, 0}, "behind options"...)
	for _, p := range [][]byte{
		mkPacket6(wire.ProtoICMPv6, bad),
		mkPacket6(wire.ProtoDstOpts, opts),
		mkPacket6(wire.ProtoICMPv6, good),
		mkPacket6(253, []byte("last")),
	} {
		if _, err := la.Write([][]byte{p}); err != nil {
			t.Fatal(err)
		}
	}
	if got, from := readRaw(t, r253, ready); string(got) != "behind options" || from != addr6A.Addr() {
		t.Fatalf("got %q from %v", got, from)
	}
	if got, _ := readRaw(t, r253, ready); string(got) != "last" {
		t.Fatalf("got %q", got)
	}
	// b handled all four before it queued "last".
	p := make([]byte, 100)
	n, from, err := r58.TryRead(p)
	if err != nil || !bytes.Equal(p[:n], good) || from != addr6A.Addr() {
		t.Fatalf("ICMPv6 socket: % x from %v err %v, want the good request", p[:n], from, err)
	}
	if _, _, err := r58.TryRead(p); err != syscall.EWOULDBLOCK {
		t.Fatalf("the bad-checksum message was queued too: %v", err)
	}
	select {
	case pkt := <-out:
		h, _ := wire.NewIPv6(pkt)
		if h == nil || h.NextHeader() != wire.ProtoICMPv6 || wire.ICMPv6(h.Payload()).Type() != wire.ICMPv6EchoReply {
			t.Fatalf("b sent % x, want the echo reply", pkt)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no echo reply")
	}
	if st := b.Stats(); st.Icmp6.InCsumErrors != 1 || st.Icmp6.OutParmProblems != 0 || st.Ip6.InUnknownProtos != 0 {
		t.Fatalf("icmp6 %+v ip6 %+v", st.Icmp6, st.Ip6)
	}
}
