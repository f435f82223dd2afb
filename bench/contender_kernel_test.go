package bench

import (
	"context"
	"net"
	"syscall"
	"testing"
)

// kernelUDP: Go's net over the kernel's loopback.
func kernelUDP(tb testing.TB) *udpPair {
	tb.Helper()
	open := func() net.PacketConn {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { c.Close() })
		// The receive buffer stays at rmem_default (212992 here, the
		// others' udpRcvBuf): SO_RCVBUF would double what it is given.
		return c
	}
	tx, rx := open(), open()
	return &udpPair{tx: tx, rx: rx, to: rx.LocalAddr()}
}

// kernelTCP: Go's net over the kernel's loopback. The loopback's MTU is
// 64 KiB and cannot be changed without privileges, so a small MTU is
// imitated by clamping the MSS (TCP_MAXSEG) of both ends to mtu-40; Linux
// takes at most 32,767 there, so MTU 65,000 runs at the loopback's own
// 65,536. The loopback still segments with GSO, so it pays less per
// segment than a real link would.
func kernelTCP(tb testing.TB, mtu int) *tcpNet {
	tb.Helper()
	mss := mtu - 40
	control := func(network, address string, c syscall.RawConn) error {
		if mss > 32767 {
			return nil
		}
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, mss)
		})
		if err != nil {
			return err
		}
		return serr
	}
	lc := net.ListenConfig{Control: control}
	d := net.Dialer{Control: control}
	return &tcpNet{
		listen: func() (net.Listener, error) {
			return lc.Listen(context.Background(), "tcp4", "127.0.0.1:0")
		},
		dial: func(ctx context.Context, to net.Addr) (net.Conn, error) {
			return d.DialContext(ctx, "tcp4", to.String())
		},
	}
}
