// Package link defines what berth needs of a network link: a device that
// carries whole IP packets (no link-layer header) in both directions.
//
// Implementations live in subpackages: mem (an in-memory pair), fault
// (seeded impairments around any link), pcap (capture around any link) and
// tun (Linux TUN devices).
//
// Ownership: a slice passed to Write belongs to the caller again when Write
// returns, so a link that queues packets copies them. A slice passed to
// Receiver.Deliver is valid only during that call; the receiver may modify
// it in place but must copy what it keeps.
package link

import "errors"

// Receiver takes packets that arrive on a link. A link calls Deliver from one
// goroutine at a time, so deliveries on one link never overlap.
type Receiver interface {
	Deliver(pkt []byte)
}

// ReceiverFunc adapts a function to Receiver.
type ReceiverFunc func(pkt []byte)

// Deliver calls f(pkt).
func (f ReceiverFunc) Deliver(pkt []byte) { f(pkt) }

// Link is one end of a point-to-point IP link.
type Link interface {
	// MTU is the largest IP packet, in bytes, the link carries.
	MTU() int
	// Write sends a batch of packets and reports how many the link took.
	// It never blocks for long: a link whose queue is full drops packets
	// (and counts them) rather than stall the stack that calls it.
	// Write is safe for concurrent use.
	Write(pkts [][]byte) (int, error)
	// Attach sets the receiver of inbound packets; nil detaches. Packets
	// that arrive with no receiver attached are dropped.
	Attach(r Receiver)
	// Close stops the link and waits for its goroutines to end. Write
	// after Close returns ErrClosed.
	Close() error
}

// ErrClosed is returned by Write on a closed link.
var ErrClosed = errors.New("link: closed")

// ErrTooBig is returned by Write when a packet exceeds the link's MTU.
var ErrTooBig = errors.New("link: packet larger than MTU")

// Stats counts what passed through a link. Links that keep counters expose
// them through a Stats() Stats method.
type Stats struct {
	TxPackets, TxBytes, TxDropped uint64
	RxPackets, RxBytes, RxDropped uint64
}
