package ip

import (
	"errors"
	"time"

	"berth/buf"
	"berth/wire"
)

// Input takes a packet a link delivered on ifc. The bytes are lent for the
// call; the layer may rewrite them in place (an echo reply does).
func (l *Layer) Input(now time.Time, ifc *Interface, pkt []byte) {
	l.depth++
	l.input(now, ifc, pkt)
	l.leave(now)
}

// input dispatches on the version nibble. Anything but 6, an empty packet
// included, is IPv4's to count and reject.
func (l *Layer) input(now time.Time, ifc *Interface, pkt []byte) {
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		l.input6(now, ifc, pkt)
		return
	}
	l.input4(now, ifc, pkt)
}

func (l *Layer) input4(now time.Time, ifc *Interface, pkt []byte) {
	l.Stats.InReceives++
	if ifc == nil {
		l.Stats.InLoopback++
	}
	h, err := wire.NewIPv4(pkt)
	if err != nil {
		l.Stats.InHdrErrors++
		switch {
		case errors.Is(err, wire.ErrBadVersion):
			l.Stats.InBadVersion++
		case errors.Is(err, wire.ErrBadHeaderLen):
			l.Stats.InBadHeaderLen++
		default:
			l.Stats.InTruncated++
		}
		return
	}
	// RFC 1122 §3.2.1.2: a datagram whose checksum fails is silently discarded.
	// Loopback datagrams were built here and are not checked again.
	if ifc != nil && !h.ChecksumValid() {
		l.Stats.InHdrErrors++
		l.Stats.InBadChecksum++
		return
	}
	if h.TTL() == 0 {
		l.Stats.InHdrErrors++
		l.Stats.InBadTTL++
		return
	}
	// RFC 1122 §3.2.1.3: a source address that is broadcast or multicast
	// is discarded.
	src := h.Src()
	if src.IsMulticast() || l.isBroadcast(src) {
		l.Stats.InHdrErrors++
		l.Stats.InBadSource++
		return
	}
	dst := h.Dst()
	if !l.IsLocal(dst) && !l.isBroadcast(dst) {
		// berth is a host, not a router (RFC 1122 §3.3.1): not ours, dropped.
		l.Stats.InAddrErrors++
		return
	}
	if h.MoreFragments() || h.FragmentOffset() != 0 {
		l.Stats.ReasmReqds++
		whole := l.reassemble4(now, h)
		if whole == nil {
			return
		}
		defer whole.Release()
		h, _ = wire.NewIPv4(whole.Bytes()) // built by the reassembler: valid
	}
	l.deliver(now, ifc, h)
}

// deliver hands a whole IPv4 datagram to raw sockets and its transport.
func (l *Layer) deliver(now time.Time, ifc *Interface, h wire.IPv4) {
	// One Packet per layer, lent to the handlers: a fresh one would escape
	// through the handler interface and cost an allocation per datagram.
	// Deliveries never nest (looped-back datagrams wait for the outermost call).
	p := &l.pkt
	*p = Packet{Now: now, Iface: ifc, Header: h, Payload: h.Payload(), Protocol: h.Protocol()}
	defer func() { *p = Packet{} }()
	taken := false
	if l.rawTap != nil {
		taken = l.rawTap(p)
	}
	proto := h.Protocol()
	if proto == wire.ProtoICMP {
		l.Stats.InDelivers++
		l.icmpInput(p)
		return
	}
	if hd := l.handlers[proto]; hd != nil {
		l.Stats.InDelivers++
		hd.HandlePacket(p)
		return
	}
	if taken {
		l.Stats.InDelivers++
		return
	}
	// RFC 1122 §3.2.2.1: protocol unreachable for a transport not served.
	l.Stats.InUnknownProtos++
	l.SendError(now, h, wire.ICMPv4DestUnreachable, wire.ICMPv4ProtoUnreachable, 0)
}

// loopback queues a datagram to this host; it is handled once the current
// packet is done, so a reply to a reply never recurses.
func (l *Layer) loopback(pkt []byte) {
	l.loop = append(l.loop, buf.From(0, pkt))
}

// leave ends a call into the layer from the outside (Input, Tick); the
// outermost one handles the datagrams that were looped back meanwhile.
func (l *Layer) leave(now time.Time) {
	l.depth--
	if l.depth == 0 {
		l.Flush(now)
	}
}

// Flush handles the datagrams this host sent itself. Send only queues them,
// so a transport that sends from inside its own processing is never
// re-entered; the stack flushes once its current work is done.
func (l *Layer) Flush(now time.Time) {
	if l.depth != 0 {
		return
	}
	l.depth = 1
	for i := 0; i < len(l.loop); i++ {
		b := l.loop[i]
		l.loop[i] = nil
		l.input(now, nil, b.Bytes())
		b.Release()
	}
	l.loop = l.loop[:0]
	l.depth = 0
}

// Pending reports whether looped-back datagrams wait for Flush.
func (l *Layer) Pending() bool { return len(l.loop) > 0 }
