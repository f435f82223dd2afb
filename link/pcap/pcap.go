// Package pcap records the packets of any link in a pcap file that
// Wireshark, tshark and tcpdump read: link type LINKTYPE_RAW, so each
// record is the bare IP packet, as berth's links carry it.
package pcap

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"berth/clock"
	"berth/link"
)

// Option configures a capture.
type Option func(*config)

type config struct {
	clk  clock.Clock
	nano bool
}

// Clock sets the clock that stamps records (default clock.Real).
func Clock(c clock.Clock) Option {
	if c == nil {
		panic("pcap: nil clock")
	}
	return func(cf *config) { cf.clk = c }
}

// Nanoseconds writes nanosecond timestamps (magic 0xa1b23c4d) instead of
// microseconds. Wireshark and tshark read both; some older tools only the
// microsecond form, the default.
func Nanoseconds() Option { return func(c *config) { c.nano = true } }

// Link is a link.Link that records every packet written to it and every
// packet it delivers. It owns the wrapped link: Close closes it.
type Link struct {
	inner link.Link
	clk   clock.Clock
	nano  bool
	recv  atomic.Pointer[receiver]

	mu      sync.Mutex // serializes records; guards the fields below
	w       io.Writer
	err     error  // first write error; capture stops after it
	scratch []byte // one record, so that each costs one Write
}

var _ link.Link = (*Link)(nil)

type receiver struct{ r link.Receiver }

// Wrap writes the pcap file header to w and returns l capturing into w.
// If w has a Flush() error method (a *bufio.Writer), Close flushes it;
// closing w is the caller's business.
func Wrap(l link.Link, w io.Writer, opts ...Option) (*Link, error) {
	c := config{clk: clock.Real}
	for _, o := range opts {
		o(&c)
	}
	p := &Link{inner: l, clk: c.clk, nano: c.nano, w: w}
	p.scratch = appendFileHeader(p.scratch[:0], c.nano, Snaplen, LinkTypeRaw)
	if _, err := w.Write(p.scratch); err != nil {
		return nil, err
	}
	l.Attach(link.ReceiverFunc(p.input))
	return p, nil
}

// MTU is the wrapped link's.
func (p *Link) MTU() int { return p.inner.MTU() }

// Unwrap returns the wrapped link.
func (p *Link) Unwrap() link.Link { return p.inner }

// Attach sets the receiver of inbound packets; nil detaches.
func (p *Link) Attach(r link.Receiver) {
	if r == nil {
		p.recv.Store(nil)
		return
	}
	p.recv.Store(&receiver{r})
}

// Write records the packets the wrapped link will be offered, then writes
// them. Recording first keeps the file in causal order: a reply the peer
// sends back cannot be stamped before the request that caused it. Packets
// over the MTU are neither recorded nor sent.
func (p *Link) Write(pkts [][]byte) (int, error) {
	mtu := p.inner.MTU()
	n := len(pkts)
	for i, pkt := range pkts {
		if len(pkt) > mtu {
			n = i
			break
		}
	}
	p.record(pkts[:n])
	k, err := p.inner.Write(pkts[:n])
	if err == nil && n < len(pkts) {
		err = link.ErrTooBig
	}
	return k, err
}

// input records a packet from the wrapped link before the receiver, which
// may modify it in place, sees it.
func (p *Link) input(pkt []byte) {
	p.record([][]byte{pkt})
	if r := p.recv.Load(); r != nil {
		r.r.Deliver(pkt)
	}
}

func (p *Link) record(pkts [][]byte) {
	if len(pkts) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return
	}
	now := p.clk.Now()
	for _, pkt := range pkts {
		p.scratch = appendRecord(p.scratch[:0], p.nano, Snaplen, now, pkt)
		if _, err := p.w.Write(p.scratch); err != nil {
			p.err = err
			return
		}
	}
}

// Err reports the first error writing the capture, if any. Traffic flows
// on after one; only the capture stops.
func (p *Link) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close closes the wrapped link, then flushes the writer if it can be
// flushed. It returns any capture error joined with the link's.
func (p *Link) Close() error {
	lerr := p.inner.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.w.(interface{ Flush() error }); ok && p.err == nil {
		p.err = f.Flush()
	}
	return errors.Join(p.err, lerr)
}
