package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"berth/link/pcap"
	"berth/wire"
)

// transfer sends size bytes of a pattern from a to b over TCP, half-closes,
// and waits for b to confirm it read exactly those bytes. It returns how
// long that took in virtual time, or the first error either side saw.
func transfer(a, b *Host, port int, size int) (time.Duration, error) {
	return transferNet(a, b, "tcp", port, size)
}

// transferNet is transfer on network: "tcp", or "tcp6" for IPv6.
func transferNet(a, b *Host, network string, port int, size int) (time.Duration, error) {
	ln, err := b.Listen(network, fmt.Sprintf(":%d", port))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	want := pattern(size, byte(port))
	serverErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		got, err := io.ReadAll(c)
		switch {
		case err != nil:
		case len(got) != len(want):
			err = fmt.Errorf("server read %d bytes, want %d", len(got), len(want))
		case !bytes.Equal(got, want):
			err = fmt.Errorf("server read %d bytes that differ from those sent (first at %d)", len(got), firstDiff(got, want))
		default:
			_, err = c.Write([]byte("ok"))
		}
		serverErr <- err
	}()
	start := time.Now()
	c, err := a.Dial(network, fmt.Sprintf("%s:%d", b.Name(), port))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if _, err := c.Write(want); err != nil {
		return 0, fmt.Errorf("client write: %w", err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		return 0, err
	}
	reply, err := io.ReadAll(c)
	if err != nil {
		// The server may wait forever on a peer that vanished (a timed
		// out connection sends no reset); closing the network frees it.
		return 0, fmt.Errorf("client read: %w", err)
	}
	if err := <-serverErr; err != nil {
		return 0, err
	}
	if string(reply) != "ok" {
		return 0, fmt.Errorf("reply %q", reply)
	}
	return time.Since(start), nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// captured is one packet of a capture, decoded as far as it goes.
type captured struct {
	at       time.Time
	data     []byte
	src, dst string // addresses
	tcp      wire.TCP
	ipOK     bool // header checksum valid
	tcpOK    bool // TCP checksum valid (false if not TCP)
	payload  int  // TCP payload bytes
	seq      uint32
	flags    wire.TCPFlags
	protocol uint8 // IPv6: the upper-layer protocol after any extension headers
	v6       bool
	upper    []byte // the upper-layer packet (TCP segment, ICMP message, ...)
}

func readCapture(t *testing.T, b []byte) []captured {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out []captured
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := captured{at: rec.Time, data: bytes.Clone(rec.Data)}
		var src, dst netip.Addr
		if ip6, err := wire.NewIPv6(p.data); err == nil {
			p.v6, p.ipOK = true, true
			src, dst = ip6.Src(), ip6.Dst()
			if tr, err := ip6.Transport(); err == nil {
				p.protocol, p.upper = tr.Proto, ip6[tr.Offset:]
			}
		} else if ip, err := wire.NewIPv4(p.data); err == nil {
			src, dst = ip.Src(), ip.Dst()
			p.ipOK = ip.ChecksumValid()
			p.protocol, p.upper = ip.Protocol(), ip.Payload()
		}
		if src.IsValid() {
			p.src, p.dst = src.String(), dst.String()
		}
		if p.protocol == wire.ProtoTCP {
			if tc, err := wire.NewTCP(p.upper); err == nil {
				p.tcp = tc
				p.tcpOK = tc.ChecksumValid(src, dst)
				p.payload = len(tc.Payload())
				p.seq = tc.Seq()
				p.flags = tc.Flags()
			}
		}
		out = append(out, p)
	}
}

// from selects the packets sent by h.
func from(ps []captured, h *Host) []captured {
	var out []captured
	for _, p := range ps {
		if p.src == h.Addr().String() || (h.Addr6().IsValid() && p.src == h.Addr6().String()) {
			out = append(out, p)
		}
	}
	return out
}

// dataSegments selects TCP segments that carry data.
func dataSegments(ps []captured) []captured {
	var out []captured
	for _, p := range ps {
		if p.payload > 0 {
			out = append(out, p)
		}
	}
	return out
}

var _ = net.ErrClosed

func udpAddr(h *Host, port int) net.Addr {
	return &net.UDPAddr{IP: h.Addr().AsSlice(), Port: port}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func context0() context.Context { return context.Background() }
