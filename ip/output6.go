package ip

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"time"

	"berth/buf"
	"berth/wire"
)

// send6 is Send for an IPv6 destination: a 40-byte header, Hop Limit
// DefaultTTL unless hdr.TTL says otherwise, no extension headers but the
// Fragment header of a packet fragmented at the source. The caller
// computes its upper-layer checksum, whose pseudo-header holds the source
// address (RFC 8200 §8.1), so it picks hdr.Src itself (Route says which).
func (l *Layer) send6(now time.Time, b *buf.Buffer, hdr Header) error {
	s := &l.Stats6
	s.OutRequests++
	r, src, err := l.Route(hdr.Dst)
	if err != nil {
		s.OutNoRoutes++
		l.countOutProto6(hdr.Protocol, b.Bytes(), err)
		return err
	}
	if !hdr.Src.IsValid() || hdr.Src.IsUnspecified() {
		hdr.Src = src
	}
	if !hdr.Src.Is6() || hdr.Src.Is4In6() {
		s.OutDiscards++
		l.countOutProto6(hdr.Protocol, b.Bytes(), syscall.EINVAL)
		return syscall.EINVAL // an IPv4 source for an IPv6 destination
	}
	if b.Len() > 0xffff { // no jumbograms (RFC 2675)
		s.OutDiscards++
		l.countOutProto6(hdr.Protocol, b.Bytes(), syscall.EMSGSIZE)
		return syscall.EMSGSIZE
	}
	hop := hdr.TTL
	if hop == 0 {
		hop = DefaultTTL
	}
	rep := wire.IPv6Repr{
		TrafficClass: hdr.TOS, NextHeader: hdr.Protocol, HopLimit: hop,
		Src: hdr.Src, Dst: hdr.Dst, PayloadLen: b.Len(),
	}
	rep.Emit(b.Prepend(wire.IPv6HeaderLen))
	pkt := b.Bytes()
	if r.Iface == nil {
		l.loopback(pkt)
	} else {
		err = l.transmit6(now, r.Iface, wire.IPv6(pkt), hdr.DontFragment)
	}
	b.TrimFront(wire.IPv6HeaderLen) // hand b back as the caller gave it
	l.countOutProto6(hdr.Protocol, b.Bytes(), err)
	return err
}

// countOutProto6 counts an outbound ICMPv6 message, whoever sent it.
func (l *Layer) countOutProto6(proto uint8, msg []byte, err error) {
	if proto == wire.ProtoICMPv6 {
		l.countOut6(msg, err)
	}
}

// transmit6 writes a whole packet, fragmenting it at the source to the
// path MTU unless dontFrag (RFC 8200 §5: routers never fragment, so the
// source does). The path MTU is never below 1280: no link carries IPv6
// with less (AddAddress refuses it) and LearnPathMTU clamps to it.
func (l *Layer) transmit6(now time.Time, ifc *Interface, h wire.IPv6, dontFrag bool) error {
	s := &l.Stats6
	mtu := l.learnedMTU(now, h.Dst(), ifc.MTU())
	if len(h) <= mtu {
		return l.write6(ifc, h)
	}
	if dontFrag {
		s.FragFails++
		s.OutDiscards++
		return syscall.EMSGSIZE
	}
	return l.fragment6(ifc, h, mtu)
}

// fragment6 splits h into fragments of at most mtu bytes (RFC 8200 §4.5).
// The unfragmentable part, which for what berth sends is the fixed header
// alone, starts every fragment, its Next Header now Fragment; a Fragment
// header follows with the original Next Header, the offset, M, and one
// identification for all; then a piece of the rest, a multiple of 8 bytes
// in every fragment but the last.
func (l *Layer) fragment6(ifc *Interface, h wire.IPv6, mtu int) error {
	s := &l.Stats6
	const hl = wire.IPv6HeaderLen + wire.IPv6FragmentHeaderLen
	chunk := (mtu - hl) &^ 7
	if chunk <= 0 {
		s.FragFails++
		s.OutDiscards++
		return syscall.EMSGSIZE
	}
	payload := h.Payload()
	fr := wire.IPv6FragmentRepr{NextHeader: h.NextHeader(), ID: l.nextID6(h.Src(), h.Dst())}
	for off := 0; off < len(payload); off += chunk {
		end := min(off+chunk, len(payload))
		fb := buf.New(0, hl+end-off)
		f := fb.Extend(hl + end - off)
		copy(f, h[:wire.IPv6HeaderLen])
		fh := wire.IPv6(f)
		fh.SetNextHeader(wire.ProtoFragment)
		fh.SetPayloadLen(len(f) - wire.IPv6HeaderLen)
		fr.FragmentOffset, fr.MoreFragments = off, end < len(payload)
		fr.Emit(f[wire.IPv6HeaderLen:])
		copy(f[hl:], payload[off:end])
		err := l.write6(ifc, f)
		fb.Release()
		if err != nil {
			return err
		}
		s.FragCreates++
	}
	s.FragOKs++
	return nil
}

func (l *Layer) write6(ifc *Interface, pkt []byte) error {
	err := l.writeLink(ifc, pkt)
	if err != nil {
		l.Stats6.OutDiscards++
	}
	return err
}

// nextID6 takes the next fragment identification for a packet from src
// to dst: like IPv4's, from a counter picked by a keyed hash of the
// addresses, so the IDs one destination sees say nothing of the traffic
// to others and cannot be predicted by them (RFC 7739 §5.3, RFC 8200
// §4.5: different from that of any other fragmented packet sent recently
// with the same addresses).
func (l *Layer) nextID6(src, dst netip.Addr) uint32 {
	s, d := src.As16(), dst.As16()
	k := mix64(l.idKey ^ binary.BigEndian.Uint64(s[:8]))
	k = mix64(k ^ binary.BigEndian.Uint64(s[8:]))
	k = mix64(k ^ binary.BigEndian.Uint64(d[:8]))
	k = mix64(k ^ binary.BigEndian.Uint64(d[8:]))
	i := k % idBuckets
	id := l.ids6[i]
	l.ids6[i]++
	return id
}
