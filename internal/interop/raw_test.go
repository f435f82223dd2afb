package interop_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"testing"
	"time"

	"berth/internal/netns"
	"berth/stack"
)

// Payload sizes of protocol-253 datagrams: small, and one the sender must
// fragment and the receiver reassemble.
var rawSizes = []int{1, 100, 1480, 3000}

// Protocol 253 (RFC 3692: for experimentation) between raw sockets: what
// the kernel sends with that protocol number, a berth raw socket bound to
// it receives exactly, and the other way round. Neither side answers with
// protocol unreachable, since a raw socket takes the datagrams.
func TestRawProtocol253(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	b, err := h.ListenPacket("ip4:253", berthAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	k := inNS(t, ns, func() (net.PacketConn, error) {
		return net.ListenPacket("ip4:253", kernelAddr.String())
	})
	in := make([]byte, 70000)

	t.Run("kernel to berth", func(t *testing.T) {
		to := &net.IPAddr{IP: berthAddr.AsSlice()}
		for i, size := range rawSizes {
			if _, err := k.WriteTo(pattern(size, byte(i)), to); err != nil {
				t.Fatalf("kernel raw send of %d bytes: %v", size, err)
			}
		}
		for i, size := range rawSizes {
			b.SetReadDeadline(time.Now().Add(wait))
			n, from, err := b.ReadFrom(in)
			if err != nil {
				t.Fatalf("berth raw read %d: %v", i, err)
			}
			if from.String() != kernelAddr.String() {
				t.Fatalf("berth raw read %d from %v, want %v", i, from, kernelAddr)
			}
			if !bytes.Equal(in[:n], pattern(size, byte(i))) {
				t.Fatalf("berth raw read %d: %d bytes, want the kernel's %d", i, n, size)
			}
		}
		b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, from, err := b.ReadFrom(in); !os.IsTimeout(err) {
			t.Fatalf("berth raw socket has more: %d bytes from %v, %v", n, from, err)
		}
	})

	t.Run("berth to kernel", func(t *testing.T) {
		to := &net.IPAddr{IP: kernelAddr.AsSlice()}
		for i, size := range rawSizes {
			if _, err := b.WriteTo(pattern(size, byte(50+i)), to); err != nil {
				t.Fatalf("berth raw send of %d bytes: %v", size, err)
			}
		}
		for i, size := range rawSizes {
			k.SetReadDeadline(time.Now().Add(wait))
			n, from, err := k.ReadFrom(in)
			if err != nil {
				t.Fatalf("kernel raw read %d: %v", i, err)
			}
			if from.String() != berthAddr.String() {
				t.Fatalf("kernel raw read %d from %v, want %v", i, from, berthAddr)
			}
			if !bytes.Equal(in[:n], pattern(size, byte(50+i))) {
				t.Fatalf("kernel raw read %d: %d bytes, want berth's %d", i, n, size)
			}
		}
		k.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if n, from, err := k.ReadFrom(in); !os.IsTimeout(err) {
			t.Fatalf("kernel raw socket has more: %d bytes from %v, %v", n, from, err)
		}
	})

	// IP_HDRINCL: the caller builds the header, with identification and
	// checksum left zero for the stack to fill in, as Linux's raw(7) does.
	t.Run("berth header included to kernel", func(t *testing.T) {
		r, err := h.Stack().OpenRaw(253, stack.RawOptions{HeaderIncluded: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		payload := pattern(200, 0xa5)
		pkt := make([]byte, 20+len(payload))
		pkt[0] = 0x45
		binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
		pkt[8] = 64  // TTL
		pkt[9] = 253 // protocol
		copy(pkt[12:16], berthAddr.AsSlice())
		copy(pkt[16:20], kernelAddr.AsSlice())
		copy(pkt[20:], payload)
		if err := r.Send(pkt, kernelAddr); err != nil {
			t.Fatalf("header-included send: %v", err)
		}
		k.SetReadDeadline(time.Now().Add(wait))
		n, from, err := k.ReadFrom(in)
		if err != nil {
			t.Fatalf("kernel raw read: %v", err)
		}
		if from.String() != berthAddr.String() || !bytes.Equal(in[:n], payload) {
			t.Fatalf("kernel raw read %d bytes from %v, want berth's %d", n, from, len(payload))
		}
	})

	st := h.Stack().Stats()
	if st.Icmp.OutMsgs != 0 || st.Icmp.InMsgs != 0 || st.Ip.InUnknownProtos != 0 {
		t.Errorf("berth sent %d and received %d ICMP messages, InUnknownProtos %d; want none", st.Icmp.OutMsgs, st.Icmp.InMsgs, st.Ip.InUnknownProtos)
	}
	ds := checkCapture(t, h, capture)
	for _, dir := range []struct {
		src, dst string
	}{{kernelAddr.String(), berthAddr.String()}, {berthAddr.String(), kernelAddr.String()}} {
		for _, size := range rawSizes {
			frags := 1
			if size > 1480 {
				frags = 3
			}
			if n := count(ds, func(d datagram) bool {
				return d.proto == 253 && d.src.String() == dir.src && d.dst.String() == dir.dst &&
					len(d.payload) == size && d.frags == frags
			}); n != 1 {
				t.Errorf("capture: %d protocol-253 datagrams %s→%s of %d bytes in %d fragment(s), want 1", n, dir.src, dir.dst, size, frags)
			}
		}
	}
	if n := count(ds, func(d datagram) bool {
		return d.proto == 253 && d.src == berthAddr && bytes.Equal(d.payload, pattern(200, 0xa5))
	}); n != 1 {
		t.Errorf("capture: %d header-included datagrams, want 1", n)
	}
	if n := count(ds, func(d datagram) bool { _, _, ok := d.icmp(); return ok }); n != 0 {
		t.Errorf("capture holds %d ICMP messages, want none", n)
	}
}
