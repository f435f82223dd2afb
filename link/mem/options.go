package mem

import "fmt"

// Option configures a Pair.
type Option func(*config)

type config struct {
	mtu      int
	queueLen int
}

const (
	// DefaultMTU is Ethernet's payload size, the MTU most peers expect.
	DefaultMTU = 1500
	// DefaultQueueLen bounds each direction's queue, in packets: deep
	// enough to absorb a TCP window of full-size segments, shallow enough
	// that a stalled receiver costs little memory.
	DefaultQueueLen = 1024

	// minMTU is the datagram every IPv4 host must be able to forward
	// without fragmenting further (RFC 791, "Fragmentation").
	minMTU = 68
	// maxMTU is the largest IPv4 datagram (RFC 791, Total Length is 16 bits).
	maxMTU = 65535
)

// MTU sets the largest packet the pair carries, 68 to 65535 bytes
// (default 1500). It panics outside that range.
func MTU(n int) Option {
	if n < minMTU || n > maxMTU {
		panic(fmt.Sprintf("mem: MTU %d out of range [%d, %d]", n, minMTU, maxMTU))
	}
	return func(c *config) { c.mtu = n }
}

// QueueLen sets how many packets each direction holds before it drops
// (default 1024). It panics if n < 1.
func QueueLen(n int) Option {
	if n < 1 {
		panic(fmt.Sprintf("mem: queue length %d < 1", n))
	}
	return func(c *config) { c.queueLen = n }
}
