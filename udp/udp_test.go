package udp

import (
	"bytes"
	"net/netip"
	"syscall"
	"testing"

	"berth/buf"
	"berth/wire"
)

var (
	src = netip.MustParseAddrPort("198.18.0.1:5353")
	dst = netip.MustParseAddrPort("198.18.0.2:7")
)

func TestEncodeParseRoundTrip(t *testing.T) {
	b := buf.From(buf.Headroom, []byte("hello, port 7"))
	Encode(b, src, dst)
	u, err := Parse(src.Addr(), dst.Addr(), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if u.SrcPort() != 5353 || u.DstPort() != 7 || string(u.Payload()) != "hello, port 7" || u.Checksum() == 0 {
		t.Fatalf("parsed %x", []byte(u))
	}
	// RFC 1122 §4.1.3.4: a corrupted datagram is refused...
	bad := bytes.Clone(b.Bytes())
	bad[len(bad)-1] ^= 0x40
	if _, err := Parse(src.Addr(), dst.Addr(), bad); err != ErrChecksum {
		t.Fatalf("corrupted datagram: err %v", err)
	}
	// ...and so is one delivered to another address (pseudo-header).
	if _, err := Parse(src.Addr(), netip.MustParseAddr("198.18.0.3"), b.Bytes()); err != ErrChecksum {
		t.Fatalf("misdelivered datagram: err %v", err)
	}
	// A zero checksum means "none" over IPv4 (RFC 768).
	zero := bytes.Clone(bad)
	wire.UDP(zero).SetChecksum(0)
	if _, err := Parse(src.Addr(), dst.Addr(), zero); err != nil {
		t.Fatalf("zero checksum refused: %v", err)
	}
	if _, err := Parse(src.Addr(), dst.Addr(), zero[:5]); err != ErrMalformed {
		t.Fatalf("truncated: err %v", err)
	}
}

func TestEndpointQueueBoundsAndSources(t *testing.T) {
	e := NewEndpoint(64)
	if !e.Enqueue(src, bytes.Repeat([]byte{1}, 30)) {
		t.Fatal("first datagram refused")
	}
	other := netip.MustParseAddrPort("198.18.0.9:40000")
	if e.Enqueue(other, bytes.Repeat([]byte{2}, 30)) {
		t.Fatal("datagram beyond the receive buffer accepted")
	}
	if e.Drops != 1 {
		t.Fatalf("drops %d", e.Drops)
	}
	p := make([]byte, 10)
	n, full, from, ok := e.Dequeue(p)
	if !ok || n != 10 || full != 30 || from != src {
		t.Fatalf("dequeue n=%d full=%d from=%v ok=%v", n, full, from, ok)
	}
	if _, _, _, ok := e.Dequeue(p); ok {
		t.Fatal("queue not empty")
	}
}

func TestPendingErrorIsReportedOnce(t *testing.T) {
	e := NewEndpoint(1024)
	e.SetError(syscall.ECONNREFUSED)
	if !e.HasError() || e.TakeError() != syscall.ECONNREFUSED || e.TakeError() != 0 {
		t.Fatal("pending error not reported exactly once")
	}
}
