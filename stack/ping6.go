package stack

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"berth/buf"
	"berth/ip"
	"berth/wire"
)

// Ping over IPv6 takes a path of its own until raw sockets carry IPv6: the
// request goes straight to the IP layer, and the layer hands echo replies
// to ping6Handler (its ICMPv6 handler), which gives each to the Ping
// waiting for that source, identifier and sequence number.

// pinger6 is one Ping waiting for its reply; it lives in Stack.pingers6.
type pinger6 struct {
	dst     netip.Addr
	id, seq uint16
	reply   chan echoReply6 // buffered: the first matching reply
}

type echoReply6 struct {
	data     []byte
	hopLimit uint8
	at       time.Time
}

// ping6 is Ping to an IPv6 destination: an ICMPv6 echo request (RFC 4443
// §4.1) from the address the route gives.
func (s *Stack) ping6(ctx context.Context, dst netip.Addr, id, seq uint16, size int) (PingReply, error) {
	sent := s.clk.Now()
	req := wire.ICMPv6Repr{Type: wire.ICMPv6EchoRequest, ID: id, Seq: seq, Data: pingData(sent, size)}
	w := &pinger6{dst: dst, id: id, seq: seq, reply: make(chan echoReply6, 1)}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return PingReply{}, ErrClosed
	}
	_, src, err := s.ip.Route(dst)
	if err == nil {
		b := buf.New(buf.Headroom, req.Len())
		req.Emit(b.Extend(req.Len()), src, dst) // the checksum covers the source address (RFC 4443 §2.3)
		s.pingers6[w] = struct{}{}
		err = s.ip.Send(sent, b, ip.Header{Src: src, Dst: dst, Protocol: wire.ProtoICMPv6})
		b.Release()
	}
	if err != nil {
		delete(s.pingers6, w)
		s.unlock()
		return PingReply{}, err
	}
	s.unlock() // a ping to this host is answered here, when the loopback queue is flushed
	defer func() {
		s.mu.Lock()
		delete(s.pingers6, w)
		s.mu.Unlock()
	}()
	select {
	case r := <-w.reply:
		reply := PingReply{From: dst, ID: id, Seq: seq, Size: len(r.data), TTL: r.hopLimit, RTT: r.at.Sub(sent)}
		if string(r.data) != string(req.Data) {
			return reply, ErrPingMismatch
		}
		return reply, nil
	case <-ctx.Done():
		return PingReply{}, ctx.Err()
	case <-s.closedCh:
		return PingReply{}, ErrClosed
	}
}

// ping6Handler is the IP layer's ICMPv6 handler: it sees the echo replies
// (checked, checksum included) and errors quoting ICMPv6 messages this
// host sent. Errors are not acted on: like the IPv4 Ping, which reads
// echo replies alone, a ping that draws one waits for its deadline.
type ping6Handler struct{ s *Stack }

func (h ping6Handler) HandlePacket(p *ip.Packet) {
	m := wire.ICMPv6(p.Payload)
	from := p.Header6.Src()
	for w := range h.s.pingers6 {
		if w.dst != from || w.id != m.ID() || w.seq != m.Seq() {
			continue
		}
		select {
		case w.reply <- echoReply6{data: slices.Clone(m.Payload()), hopLimit: p.Header6.HopLimit(), at: p.Now}:
		default: // a duplicate
		}
	}
}

func (ping6Handler) HandleError(*ip.ICMPError) {}
