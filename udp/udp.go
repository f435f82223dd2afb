// Package udp is the core of berth's datagram sockets (RFC 768, RFC 1122
// §4.1): checking and building datagrams, and the per-socket receive queue
// with its pending error. It has no locks and starts no goroutines; the
// stack serialises every call, demultiplexes through package port, and
// sends through package ip.
package udp

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"

	"berth/buf"
	"berth/wire"
)

// MaxPayload is the largest UDP payload over IPv4: 65535 less the IPv4 and
// UDP headers. A larger send fails with EMSGSIZE.
const MaxPayload = 65535 - wire.IPv4MinHeaderLen - wire.UDPHeaderLen

// Stats counts UDP traffic, in the shape of the Udp group of `netstat -s`.
type Stats struct {
	InDatagrams  uint64
	NoPorts      uint64
	InErrors     uint64
	InCsumErrors uint64
	RcvbufErrors uint64
	OutDatagrams uint64
	SndbufErrors uint64
}

// ErrChecksum and ErrMalformed say why Parse refused a datagram.
var (
	ErrChecksum  = errors.New("udp: bad checksum")
	ErrMalformed = errors.New("udp: malformed datagram")
)

// Parse checks a datagram that arrived from src for dst. RFC 1122 §4.1.3.4:
// a datagram whose checksum fails is discarded; a zero checksum means none
// was computed, accepted over IPv4.
func Parse(src, dst netip.Addr, b []byte) (wire.UDP, error) {
	u, err := wire.NewUDP(b)
	if err != nil {
		return nil, ErrMalformed
	}
	if !u.ChecksumValid(src, dst) {
		return nil, ErrChecksum
	}
	return u, nil
}

// Encode prepends a UDP header to the payload in b, checksum included.
func Encode(b *buf.Buffer, src, dst netip.AddrPort) {
	n := b.Len()
	b.Prepend(wire.UDPHeaderLen)
	r := wire.UDPRepr{SrcPort: src.Port(), DstPort: dst.Port()}
	r.Emit(b.Bytes(), n, src.Addr(), dst.Addr())
}

// Endpoint is the state of one datagram socket that the stack queues into.
type Endpoint struct {
	q       buf.Queue
	softErr syscall.Errno

	RxDatagrams uint64
	TxDatagrams uint64
	Drops       uint64 // datagrams dropped on a full receive queue
}

// NewEndpoint returns an endpoint whose receive queue holds rcvbuf bytes.
func NewEndpoint(rcvbuf int) *Endpoint {
	e := &Endpoint{}
	e.q.MaxBytes = rcvbuf
	return e
}

// addrLen prefixes each queued datagram with its source: 16 address bytes
// (IPv4 mapped) and 2 port bytes.
const addrLen = 18

// Enqueue copies a datagram from src into the receive queue. It reports
// false, counting a drop, when the queue is full.
func (e *Endpoint) Enqueue(src netip.AddrPort, payload []byte) bool {
	b := buf.New(0, addrLen+len(payload))
	a := b.Extend(addrLen)
	a16 := src.Addr().As16() // IPv4 comes out mapped; Dequeue unmaps
	copy(a, a16[:])
	binary.BigEndian.PutUint16(a[16:], src.Port())
	b.Append(payload)
	if !e.q.Push(b) {
		b.Release()
		e.Drops++
		return false
	}
	e.RxDatagrams++
	return true
}

// Dequeue copies the oldest datagram into p. It reports the sender, the
// datagram's full length (larger than n when p was short: the rest is lost,
// as recvfrom truncates), and false when the queue is empty.
func (e *Endpoint) Dequeue(p []byte) (n, full int, from netip.AddrPort, ok bool) {
	b := e.q.Pop()
	if b == nil {
		return 0, 0, netip.AddrPort{}, false
	}
	d := b.Bytes()
	from = netip.AddrPortFrom(netip.AddrFrom16([16]byte(d[:16])).Unmap(), binary.BigEndian.Uint16(d[16:]))
	n = copy(p, d[addrLen:])
	full = len(d) - addrLen
	b.Release()
	return n, full, from, true
}

// Queued reports the datagrams and payload bytes waiting.
func (e *Endpoint) Queued() (datagrams, bytes int) {
	return e.q.Len(), e.q.Bytes() - addrLen*e.q.Len()
}

// SetError records an asynchronous error (from ICMP) for the next call.
func (e *Endpoint) SetError(errno syscall.Errno) { e.softErr = errno }

// TakeError returns and clears the pending error, 0 when none.
func (e *Endpoint) TakeError() syscall.Errno {
	err := e.softErr
	e.softErr = 0
	return err
}

// HasError reports whether an error is pending.
func (e *Endpoint) HasError() bool { return e.softErr != 0 }

// Clear drops everything queued.
func (e *Endpoint) Clear() { e.q.Clear() }
