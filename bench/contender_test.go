package bench

import (
	"context"
	"net"
	"testing"
)

// A contender is a network implementation under measurement. To add one,
// write the two constructors and list it in contenders; every benchmark
// and correctness test picks it up.
type contender struct {
	name string
	// udp returns a fresh sender/receiver pair on two hosts (or the
	// loopback). Resources are released by tb.Cleanup.
	udp func(tb testing.TB) *udpPair
	// tcp returns a fresh pair of hosts joined by a link of the given MTU
	// (the kernel clamps the MSS instead). It calls tb.Skip when the
	// contender cannot do TCP yet.
	tcp func(tb testing.TB, mtu int) *tcpNet
}

// contenders, in the order benchstat shows their columns.
var contenders = []contender{
	{name: "berth", udp: berthUDP, tcp: berthTCP},
	{name: "gvisor", udp: gvisorUDP, tcp: gvisorTCP},
	{name: "kernel", udp: kernelUDP, tcp: kernelTCP},
}

// udpPair is one sender and one receiver socket.
type udpPair struct {
	tx, rx net.PacketConn
	to     net.Addr // rx's address as tx reaches it
}

// tcpNet is a server host and a client host.
type tcpNet struct {
	// listen opens a listener on a fresh port of the server host.
	listen func() (net.Listener, error)
	// dial connects from the client host to a listener's address.
	dial func(ctx context.Context, to net.Addr) (net.Conn, error)
}

// Addresses of the two hosts on the in-memory links (RFC 2544's benchmark
// range, as the rest of berth's tests use).
var (
	addrA = [4]byte{198, 18, 0, 1}
	addrB = [4]byte{198, 18, 0, 2}
)

const (
	// linkQueueLen is each in-memory link direction's queue, in packets,
	// the same for berth (link/mem) and gVisor (gvLink).
	linkQueueLen = 1024
	// udpRcvBuf is every contender's UDP receive buffer: Linux's
	// rmem_default, berth's default; gVisor's own default is 32 KiB.
	udpRcvBuf = 212992
)
