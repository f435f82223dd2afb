package interop_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"berth/internal/netns"
)

// TestPathMTUDiscoveryThroughKernelRouter sends 4 MiB from berth to a
// kernel server behind a kernel router whose far link has an MTU of 1000.
// berth's first full-sized segments (1500 bytes, DF set) cannot pass: the
// router answers "fragmentation needed" with MTU 1000 (RFC 1191), berth
// lowers its MSS and resends, and every byte arrives. Without path MTU
// discovery the transfer never completes: the router drops every
// full-sized segment. A second connection to the server then starts at the
// learned path MTU: no more "fragmentation needed", nothing too big.
func TestPathMTUDiscoveryThroughKernelRouter(t *testing.T) {
	ns := netns.New(t)
	behind := ns.Behind(t, 1000)
	h, capture := attach(t, ns)
	if err := h.AddRoute(netip.PrefixFrom(netns.BehindAddr.Addr(), 24), netns.KernelAddr.Addr()); err != nil {
		t.Fatal(err)
	}
	server := netip.AddrPortFrom(netns.BehindAddr.Addr(), 5001)
	ln := inNS(t, behind, func() (net.Listener, error) { return net.Listen("tcp", server.String()) })
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			sum := sha256.New()
			io.Copy(sum, c)
			c.Write([]byte(hex.EncodeToString(sum.Sum(nil))))
			c.Close()
		}
	}()
	send := func(n int) netip.AddrPort {
		t.Helper()
		data := pattern(n, byte(n))
		c, err := h.Dial("tcp", server.String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(data); err != nil {
			t.Fatalf("write: %v", err)
		}
		if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("reading the server's checksum: %v", err)
		}
		if want := sha256.Sum256(data); string(got) != hex.EncodeToString(want[:]) {
			t.Fatalf("the server read %q, want the SHA-256 of what berth sent, %x", got, want)
		}
		return c.LocalAddr().(*net.TCPAddr).AddrPort()
	}
	first := send(4 << 20)
	second := send(1 << 20)

	// The capture: the router's "fragmentation needed" with MTU 1000;
	// once berth has taken it in (a few segments may cross it on the
	// way), nothing berth sends on the connection is larger than the path
	// takes: the whole second half of the transfer fits. The second
	// connection meets no such message and sends nothing too big.
	ds := checkCapture(t, h, capture)
	icmps, secondAt := 0, -1
	var sizes [2][]int // berth's datagrams on each connection
	for i, d := range ds {
		if typ, code, ok := d.icmp(); ok && typ == 3 && code == 4 && d.dst == netns.BerthAddr.Addr() {
			if mtu := binary.BigEndian.Uint16(d.payload[6:]); mtu != 1000 {
				t.Errorf("fragmentation needed with next-hop MTU %d, want 1000", mtu)
			}
			if secondAt >= 0 {
				t.Errorf("record %d: fragmentation needed during the second connection", i)
			}
			icmps++
		}
		if d.src != netns.BerthAddr.Addr() || d.proto != 6 || len(d.payload) < 20 {
			continue
		}
		switch binary.BigEndian.Uint16(d.payload[0:]) {
		case first.Port():
			sizes[0] = append(sizes[0], 20+len(d.payload))
		case second.Port():
			if secondAt < 0 {
				secondAt = i
			}
			sizes[1] = append(sizes[1], 20+len(d.payload))
		}
	}
	if icmps == 0 {
		t.Fatal("no fragmentation-needed message from the router in the capture")
	}
	for k, from := range []int{len(sizes[0]) / 2, 0} {
		for i, n := range sizes[k][from:] {
			if n > 1000 {
				t.Fatalf("connection %d: datagram %d of %d is %d bytes, over the path MTU of 1000", k+1, from+i, len(sizes[k]), n)
			}
		}
	}
	t.Logf("%d fragmentation-needed messages; berth sent %d datagrams on the first connection (the second half within 1000 bytes), %d on the second (all within)",
		icmps, len(sizes[0]), len(sizes[1]))
}

// TestConnectToUnreachableHostFailsFast dials an address behind the kernel
// router where no host answers. The router's neighbour discovery fails
// and it reports "host unreachable" (RFC 792); berth's connect fails with
// EHOSTUNREACH then, as Linux's does, instead of retrying its SYN for two
// minutes.
func TestConnectToUnreachableHostFailsFast(t *testing.T) {
	ns := netns.New(t)
	ns.Behind(t, 1500)
	h, _ := attach(t, ns)
	if err := h.AddRoute(netip.PrefixFrom(netns.BehindAddr.Addr(), 24), netns.KernelAddr.Addr()); err != nil {
		t.Fatal(err)
	}
	nobody := netip.AddrPortFrom(netip.MustParseAddr("198.18.1.77"), 80)
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := h.DialContext(ctx, "tcp", nobody.String())
	took := time.Since(start)
	if !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Fatalf("dial %v: %v after %v, want EHOSTUNREACH", nobody, err, took)
	}
	t.Logf("dial %v failed after %v: %v", nobody, took.Round(time.Millisecond), err)
}
