package bench

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"berth/link/mem"
	"berth/socket"
	"berth/stack"
)

// berthHosts returns two berth stacks, A (198.18.0.1) and B (198.18.0.2),
// joined by a link/mem pair with the given MTU.
func berthHosts(tb testing.TB, mtu int) (a, b *stack.Stack) {
	tb.Helper()
	la, lb := mem.Pair(mem.MTU(mtu), mem.QueueLen(linkQueueLen))
	a = stack.New(stack.Options{Name: "a", Seed: 1})
	b = stack.New(stack.Options{Name: "b", Seed: 2})
	tb.Cleanup(func() {
		a.Close()
		b.Close()
	})
	if err := a.AddLink("mem0", la, netip.PrefixFrom(netip.AddrFrom4(addrA), 24)); err != nil {
		tb.Fatal(err)
	}
	if err := b.AddLink("mem0", lb, netip.PrefixFrom(netip.AddrFrom4(addrB), 24)); err != nil {
		tb.Fatal(err)
	}
	return a, b
}

// berthUDP: two berth stacks over link/mem, sockets through the blocking
// adapter of package socket.
func berthUDP(tb testing.TB) *udpPair {
	tb.Helper()
	a, b := berthHosts(tb, mem.DefaultMTU)
	open := func(s *stack.Stack, addr [4]byte) *socket.PacketConn {
		u, err := s.OpenUDP(stack.UDPOptions{Owner: "bench", RecvBuffer: udpRcvBuf})
		if err != nil {
			tb.Fatal(err)
		}
		if err := u.Bind(netip.AddrPortFrom(netip.AddrFrom4(addr), 0)); err != nil {
			tb.Fatal(err)
		}
		c := socket.NewUDP(u, "udp")
		tb.Cleanup(func() { c.Close() })
		return c
	}
	tx, rx := open(a, addrA), open(b, addrB)
	return &udpPair{tx: tx, rx: rx, to: rx.LocalAddr().(*net.UDPAddr)}
}

// berthTCP: two berth stacks over link/mem with the given MTU, stream
// sockets through the blocking adapters of package socket.
func berthTCP(tb testing.TB, mtu int) *tcpNet {
	tb.Helper()
	a, b := berthHosts(tb, mtu)
	return &tcpNet{
		listen: func() (net.Listener, error) {
			l, err := b.ListenTCP(netip.AddrPortFrom(netip.AddrFrom4(addrB), 0), stack.TCPOptions{Owner: "bench", Backlog: 4096})
			if err != nil {
				return nil, err
			}
			return socket.NewTCPListener(l, "tcp"), nil
		},
		dial: func(ctx context.Context, to net.Addr) (net.Conn, error) {
			c, err := socket.DialTCP(ctx, a, "tcp", to.(*net.TCPAddr).AddrPort(), stack.TCPOptions{Owner: "bench", NoDelay: true})
			if err != nil {
				return nil, err
			}
			return c, nil
		},
	}
}
