package stack

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"
	"time"

	"berth/wire"
)

// PingReply is one answered echo request.
type PingReply struct {
	From netip.Addr
	ID   uint16
	Seq  uint16
	Size int   // ICMP payload bytes
	TTL  uint8 // of the reply
	RTT  time.Duration
}

// ErrPingMismatch reports a reply whose data differs from what was sent.
var ErrPingMismatch = errors.New("ping: reply data differs from request")

// Ping sends one ICMP echo request with size payload bytes to dst and waits
// for the matching reply (same id and sequence) or ctx's end. It works like
// ping(8): on a raw ICMP socket connected to dst. To an IPv6 destination it
// sends an ICMPv6 echo request instead (see ping6: raw sockets carry IPv4
// only as yet); TTL is then the reply's Hop Limit.
func (s *Stack) Ping(ctx context.Context, dst netip.Addr, id, seq uint16, size int) (PingReply, error) {
	if dst.Is6() && !dst.Is4In6() {
		return s.ping6(ctx, dst, id, seq, size)
	}
	r, err := s.OpenRaw(wire.ProtoICMP, RawOptions{Owner: "ping"})
	if err != nil {
		return PingReply{}, err
	}
	defer r.Close()
	if err := r.Connect(dst); err != nil {
		return PingReply{}, err
	}
	ready := make(chan struct{}, 1)
	r.SetNotify(func(Event) {
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	sent := s.clk.Now()
	data := pingData(sent, size)
	req := wire.ICMPv4Repr{Type: wire.ICMPv4Echo, ID: id, Seq: seq, Data: data}
	msg := make([]byte, req.Len())
	req.Emit(msg)
	if err := r.Send(msg, dst); err != nil {
		return PingReply{}, err
	}
	in := make([]byte, 65536)
	for {
		n, from, err := r.TryRead(in)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			select {
			case <-ready:
				continue
			case <-ctx.Done():
				return PingReply{}, ctx.Err()
			case <-s.closedCh:
				return PingReply{}, ErrClosed
			}
		}
		if err != nil {
			return PingReply{}, err
		}
		h, err := wire.NewIPv4(in[:n])
		if err != nil {
			continue
		}
		m, err := wire.NewICMPv4(h.Payload())
		if err != nil || m.Type() != wire.ICMPv4EchoReply || m.ID() != id || m.Seq() != seq {
			continue
		}
		reply := PingReply{From: from, ID: id, Seq: seq, Size: len(m.Payload()), TTL: h.TTL(), RTT: s.clk.Now().Sub(sent)}
		if string(m.Payload()) != string(data) {
			return reply, ErrPingMismatch
		}
		return reply, nil
	}
}

// pingData is what ping(8) sends: the send time, then bytes counting up.
func pingData(sent time.Time, size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	if size >= 8 {
		binary.BigEndian.PutUint64(data, uint64(sent.UnixNano()))
	}
	return data
}
