package ip

import (
	"net/netip"
	"syscall"
	"time"

	"berth/buf"
	"berth/wire"
)

// Send prepends an IP header to the transport datagram in b and sends it:
// to this host itself through the loopback queue, or out of the routed
// interface, fragmented when it exceeds the MTU and DontFragment is clear.
// The header is IPv6 when hdr.Dst is an IPv6 address (see send6), else
// IPv4. The caller keeps ownership of b. Errors are what a socket reports:
// ENETUNREACH with no route, EMSGSIZE when too big to send. Datagrams to
// this host wait for Flush.
func (l *Layer) Send(now time.Time, b *buf.Buffer, hdr Header) error {
	if hdr.Dst.Is6() {
		return l.send6(now, b, hdr)
	}
	return l.send(now, b, hdr)
}

func (l *Layer) send(now time.Time, b *buf.Buffer, hdr Header) error {
	l.Stats.OutRequests++
	r, src, err := l.Route(hdr.Dst)
	if err != nil {
		l.Stats.OutNoRoutes++
		return err
	}
	if !hdr.Src.IsValid() || hdr.Src.IsUnspecified() {
		hdr.Src = src
	}
	ttl := hdr.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if b.Len()+wire.IPv4MinHeaderLen > 65535 {
		l.Stats.OutDiscards++
		return syscall.EMSGSIZE
	}
	id := hdr.ID
	if !hdr.HasID {
		id = l.nextID(hdr.Src, hdr.Dst, hdr.Protocol)
	}
	rep := wire.IPv4Repr{
		TOS: hdr.TOS, ID: id, DontFragment: hdr.DontFragment, TTL: ttl,
		Protocol: hdr.Protocol, Src: hdr.Src, Dst: hdr.Dst, PayloadLen: b.Len(),
	}
	rep.Emit(b.Prepend(rep.HeaderLen()))
	pkt := b.Bytes()
	if r.Iface == nil {
		l.loopback(pkt)
		b.TrimFront(rep.HeaderLen())
		return nil
	}
	err = l.transmit(r.Iface, pkt)
	b.TrimFront(rep.HeaderLen()) // hand b back as the caller gave it
	return err
}

// SendRaw sends a datagram whose header the caller built (IP_HDRINCL). The
// header must be valid: a bad one is an error here, never a malformed packet
// on the wire. As Linux does (raw(7)), a zero ID and a zero source address
// are filled in and the checksum computed, on a copy: the caller's bytes are
// left alone. Such datagrams are not fragmented.
func (l *Layer) SendRaw(now time.Time, pkt []byte) error {
	l.Stats.OutRequests++
	if h, err := wire.NewIPv4(pkt); err != nil || len(h) != len(pkt) || h.TTL() == 0 {
		l.Stats.OutDiscards++
		return syscall.EINVAL
	}
	b := buf.From(0, pkt)
	defer b.Release()
	h := wire.IPv4(b.Bytes())
	r, src, err := l.Route(h.Dst())
	if err != nil {
		l.Stats.OutNoRoutes++
		return err
	}
	if h.Src().IsUnspecified() {
		h.SetSrc(src)
	}
	if h.ID() == 0 {
		id := l.nextID(h.Src(), h.Dst(), h.Protocol())
		if id == 0 {
			id = l.nextID(h.Src(), h.Dst(), h.Protocol()) // zero asks for one
		}
		h.SetID(id)
	}
	h.UpdateChecksum()
	if r.Iface == nil {
		l.loopback(h)
		return nil
	}
	if len(h) > r.Iface.MTU() {
		l.Stats.OutDiscards++
		return syscall.EMSGSIZE
	}
	return l.write(r.Iface, h)
}

// transmit writes a whole datagram, fragmenting it to the MTU if allowed.
func (l *Layer) transmit(ifc *Interface, pkt []byte) error {
	mtu := ifc.MTU()
	if len(pkt) <= mtu {
		return l.write(ifc, pkt)
	}
	h := wire.IPv4(pkt) // built by us: valid
	if h.DontFragment() {
		l.Stats.FragFails++
		l.Stats.OutDiscards++
		return syscall.EMSGSIZE
	}
	return l.fragment(ifc, h, mtu)
}

// fragment splits h into datagrams of at most mtu bytes (RFC 791 §3.2,
// "Fragmentation"): every fragment but the last carries a multiple of 8
// payload bytes and More Fragments; berth emits no options, so every
// fragment has the same header.
func (l *Layer) fragment(ifc *Interface, h wire.IPv4, mtu int) error {
	hl := h.HeaderLen()
	chunk := (mtu - hl) &^ 7
	if chunk <= 0 {
		l.Stats.FragFails++
		return syscall.EMSGSIZE
	}
	payload := h.Payload()
	baseOff := h.FragmentOffset()
	lastMF := h.MoreFragments()
	for off := 0; off < len(payload); off += chunk {
		end := min(off+chunk, len(payload))
		fb := buf.New(0, hl+end-off)
		f := fb.Extend(hl + end - off)
		copy(f, h[:hl])
		copy(f[hl:], payload[off:end])
		fh := wire.IPv4(f)
		fh.SetTotalLen(len(f))
		fh.SetFragment(false, end < len(payload) || lastMF, baseOff+off)
		fh.UpdateChecksum()
		err := l.write(ifc, f)
		fb.Release()
		if err != nil {
			return err
		}
		l.Stats.FragCreates++
	}
	l.Stats.FragOKs++
	return nil
}

func (l *Layer) write(ifc *Interface, pkt []byte) error {
	err := l.writeLink(ifc, pkt)
	if err != nil {
		l.Stats.OutDiscards++
	}
	return err
}

func (l *Layer) writeLink(ifc *Interface, pkt []byte) error {
	l.batch[0] = pkt
	_, err := ifc.Link.Write(l.batch[:])
	l.batch[0] = nil
	return err
}

// idBuckets is how many identification counters a layer keeps. A keyed
// hash of source, destination and protocol picks the counter: per-
// destination counters (RFC 7739 §5.3, Linux's ip_idents) do not reveal
// to one peer how much the host sends to others, and keep unrelated
// flows' IDs apart.
const idBuckets = 256

// nextID takes the next identification for a datagram from src to dst.
func (l *Layer) nextID(src, dst netip.Addr, proto uint8) uint16 {
	s, d := src.As4(), dst.As4()
	k := uint64(s[0])<<24 | uint64(s[1])<<16 | uint64(s[2])<<8 | uint64(s[3])
	k = k<<32 | uint64(d[0])<<24 | uint64(d[1])<<16 | uint64(d[2])<<8 | uint64(d[3])
	i := mix64(k^l.idKey+uint64(proto)) % idBuckets
	id := l.ids[i]
	l.ids[i]++
	return id
}

// FlowID is where a connected socket from src to dst starts numbering its
// datagrams: a keyed hash of the flow, so that it is unpredictable to
// others but the same in every run with the same key.
func (l *Layer) FlowID(src, dst netip.AddrPort, proto uint8) uint16 {
	s, d := src.Addr().As4(), dst.Addr().As4()
	k := uint64(s[0])<<24 | uint64(s[1])<<16 | uint64(s[2])<<8 | uint64(s[3])
	k = k<<32 | uint64(d[0])<<24 | uint64(d[1])<<16 | uint64(d[2])<<8 | uint64(d[3])
	p := uint64(src.Port())<<24 | uint64(dst.Port())<<8 | uint64(proto)
	return uint16(mix64(mix64(k^l.idKey) ^ p))
}

// mix64 is SplitMix64's finaliser: a fast bijective scramble, keyed by
// what the caller adds in.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
