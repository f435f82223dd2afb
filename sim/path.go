package sim

import (
	"berth/link"
	"berth/wire"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Path is one direction between two hosts: what from sends to to. Each
// path has its own faults and random stream. Paths exist between every two
// hosts from the start, with the network's default faults; Network.Path
// and Network.Link return them to change.
type Path struct {
	n        *Network
	from, to *Host

	// guarded by n.mu
	f           faults
	rng         *rand.Rand
	bad         bool  // Gilbert-Elliott state
	busyUntil   int64 // Rate: when the last accepted packet has been serialised
	partitioned bool
	holding     bool
	held        []*event
	stats       PathStats
}

// PathStats counts what happened to the packets a path was offered.
type PathStats struct {
	Sent        uint64 // packets offered to the path
	Delivered   uint64 // arrivals at a running host; a duplicate counts twice
	Lost        uint64 // dropped by Loss or GilbertElliott
	Partitioned uint64 // dropped by a partition or an isolated host
	QueueDrops  uint64 // tail drops of Rate's queue
	MTUDrops    uint64 // larger than MTU
	Duplicated  uint64 // packets sent twice
	Corrupted   uint64 // packets with a bit flipped
	Held        uint64 // packets held by Hold (released or not)
	HostDown    uint64 // arrived at a crashed host
}

func (s *PathStats) add(o PathStats) {
	s.Sent += o.Sent
	s.Delivered += o.Delivered
	s.Lost += o.Lost
	s.Partitioned += o.Partitioned
	s.QueueDrops += o.QueueDrops
	s.MTUDrops += o.MTUDrops
	s.Duplicated += o.Duplicated
	s.Corrupted += o.Corrupted
	s.Held += o.Held
	s.HostDown += o.HostDown
}

// Path returns the path from one host to another.
func (n *Network) Path(from, to *Host) *Path {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.path(from, to)
}

// path returns the path, making it with the default faults; n.mu held.
// Paths are made lazily, but each path's seed comes from the two names, so
// when a path is made does not change what it does.
func (n *Network) path(from, to *Host) *Path {
	k := [2]int32{from.idx, to.idx}
	if p := n.paths[k]; p != nil {
		return p
	}
	s := derive(n.seed, "path", from.name, to.name)
	p := &Path{n: n, from: from, to: to, f: n.defaults,
		rng: rand.New(rand.NewPCG(s, s^0x9e3779b97f4a7c15))}
	n.paths[k] = p
	return p
}

// From and To are the path's ends.
func (p *Path) From() *Host { return p.from }
func (p *Path) To() *Host   { return p.to }

// Set changes the path's faults; packets already on their way keep their
// fate.
func (p *Path) Set(f ...Fault) {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	for _, o := range f {
		o(&p.f)
	}
	if !p.f.ge {
		p.bad = false
	}
}

// Partition drops every packet sent on the path from now on (a one-way
// partition), until Heal. Packets already on their way still arrive.
func (p *Path) Partition() { p.control("partition", func() { p.partitioned = true }) }

// Heal ends a partition.
func (p *Path) Heal() { p.control("heal", func() { p.partitioned = false }) }

// Hold keeps every packet sent on the path from now on, in order, until
// Release; the sender sees nothing wrong.
func (p *Path) Hold() { p.control("hold", func() { p.holding = true }) }

// Release ends Hold: the held packets go on their way now, in the order
// they were sent, meeting the path's faults as they go.
func (p *Path) Release() {
	p.control("release", func() {
		p.holding = false
		held := p.held
		p.held = nil
		for _, ev := range held {
			p.transmit(p.n.now(), ev)
		}
	})
}

func (p *Path) control(verb string, f func()) {
	n := p.n
	n.mu.Lock()
	b := n.trace.begin(n.now(), verb, p.from.name, p.to.name)
	n.trace.end(b[:len(b)-1])
	f()
	n.mu.Unlock()
	n.kick() // Release queues arrivals the scheduler may be sleeping past
}

// Stats returns the path's counters.
func (p *Path) Stats() PathStats {
	p.n.mu.Lock()
	defer p.n.mu.Unlock()
	return p.stats
}

// Link is the two paths between two hosts. Its methods act on both.
type Link struct{ ab, ba *Path }

// Link returns both directions between a and b, first giving them f.
func (n *Network) Link(a, b *Host, f ...Fault) *Link {
	n.mu.Lock()
	l := &Link{n.path(a, b), n.path(b, a)}
	n.mu.Unlock()
	l.Set(f...)
	return l
}

// Path returns the direction that starts at from.
func (l *Link) Path(from *Host) *Path {
	if from == l.ab.from {
		return l.ab
	}
	return l.ba
}

// Set gives both directions the faults.
func (l *Link) Set(f ...Fault) { l.ab.Set(f...); l.ba.Set(f...) }

// Partition cuts both directions (a two-way partition) until Heal.
func (l *Link) Partition() { l.ab.Partition(); l.ba.Partition() }

// Heal ends a partition in both directions.
func (l *Link) Heal() { l.ab.Heal(); l.ba.Heal() }

// Hold holds both directions until Release.
func (l *Link) Hold() { l.ab.Hold(); l.ba.Hold() }

// Release releases both directions.
func (l *Link) Release() { l.ab.Release(); l.ba.Release() }

// Stats sums both directions' counters.
func (l *Link) Stats() PathStats {
	s := l.ab.Stats()
	s.add(l.ba.Stats())
	return s
}

// packet is a copy of a packet in flight.
type packet struct{ b []byte }

var packets = sync.Pool{New: func() any { return new(packet) }}

func getPacket(p []byte) *packet {
	pk := packets.Get().(*packet)
	pk.b = append(pk.b[:0], p...)
	return pk
}

func putPacket(pk *packet) {
	if cap(pk.b) <= 64<<10 {
		packets.Put(pk)
	}
}

// depart takes a packet from its sender to the path's faults; n.mu held.
func (n *Network) depart(ev *event) {
	pk := ev.pkt
	src := n.hosts[ev.host]
	ts := n.wallAt(ev.at)
	for _, c := range n.caps {
		c.record(ts, pk.b)
	}
	for _, c := range src.caps {
		c.record(ts, pk.b)
	}
	dstAddr := dstOf(pk.b)
	dst := n.byAddr[dstAddr]
	if dst == nil || dst == src {
		b := n.trace.begin(ev.at, "drop:noroute", src.name, dstAddr.String())
		n.trace.end(n.appendSummary(b, pk.b))
		putPacket(pk)
		return
	}
	p := n.path(src, dst)
	p.stats.Sent++
	if p.partitioned || src.isolated || dst.isolated {
		p.stats.Partitioned++
		b := n.trace.begin(ev.at, "drop:partition", src.name, dst.name)
		n.trace.end(n.appendSummary(b, pk.b))
		putPacket(pk)
		return
	}
	if p.holding {
		p.stats.Held++
		p.held = append(p.held, ev)
		b := n.trace.begin(ev.at, "hold", src.name, dst.name)
		n.trace.end(n.appendSummary(b, pk.b))
		return
	}
	p.transmit(ev.at, ev)
}

// dstOf reads the destination address of an IPv4 or IPv6 packet, by the
// version nibble; the zero Addr if it is neither or too short.
func dstOf(p []byte) netip.Addr {
	switch {
	case len(p) >= 20 && p[0]>>4 == 4:
		return netip.AddrFrom4([4]byte(p[16:20]))
	case len(p) >= wire.IPv6HeaderLen && p[0]>>4 == 6:
		return netip.AddrFrom16([16]byte(p[24:40]))
	}
	return netip.Addr{}
}

// draws are the random numbers each packet takes from its path's stream,
// always all of them and in this order, so that decisions stay aligned
// with the seed whatever faults are on.
type draws struct {
	geStep, geLoss, loss float64
	corrupt              float64
	bit                  uint64
	dup                  float64
	jitter, jitter2      float64
}

func (p *Path) draw() (u draws) {
	r := p.rng
	u.geStep, u.geLoss, u.loss = r.Float64(), r.Float64(), r.Float64()
	u.corrupt, u.bit = r.Float64(), r.Uint64()
	u.dup, u.jitter, u.jitter2 = r.Float64(), r.Float64(), r.Float64()
	return u
}

// transmit applies the path's faults to a packet leaving at time at and
// schedules its arrivals; n.mu held.
func (p *Path) transmit(at int64, ev *event) {
	n := p.n
	pk := ev.pkt
	f := &p.f
	u := p.draw()
	if f.ge {
		if p.bad {
			p.bad = u.geStep >= f.geR
		} else {
			p.bad = u.geStep < f.geP
		}
	}
	drop := ""
	mtu := f.mtu
	if f.mtuICMP && mtu < wire.IPv6MinMTU && isIPv6(pk.b) {
		mtu = wire.IPv6MinMTU // see RouterMTU
	}
	switch {
	case mtu > 0 && len(pk.b) > mtu:
		drop = "drop:mtu"
		p.stats.MTUDrops++
	case u.loss < f.loss:
		drop = "drop:loss"
		p.stats.Lost++
	case f.ge && ((p.bad && u.geLoss < f.geBad) || (!p.bad && u.geLoss < f.geGood)):
		drop = "drop:burst"
		p.stats.Lost++
	}
	leave := at
	if drop == "" && f.rateBps > 0 {
		start := max(at, p.busyUntil)
		// Bytes still queued ahead of this packet, in float64: duration ×
		// rate overflows 64 bits on long backlogs, and float64 is as
		// deterministic.
		backlog := float64(start-at) * float64(f.rateBps) / 8e9
		if backlog+float64(len(pk.b)) > float64(f.rateQueueBytes) {
			drop = "drop:queue"
			p.stats.QueueDrops++
		} else {
			p.busyUntil = start + int64(uint64(len(pk.b))*8*uint64(time.Second)/f.rateBps)
			leave = p.busyUntil
		}
	}
	if drop != "" {
		b := n.trace.begin(at, drop, p.from.name, p.to.name)
		n.trace.end(n.appendSummary(b, pk.b))
		if drop == "drop:mtu" && f.mtuICMP {
			if isIPv6(pk.b) {
				p.tooBig6(at, ev, mtu)
			} else {
				p.tooBig(at, ev)
			}
		}
		putPacket(pk)
		return
	}
	// Summarise before corrupting: the line says what the sender sent.
	n.sum = n.appendSummary(n.sum[:0], pk.b)
	verb := "send"
	if u.corrupt < f.corrupt && len(pk.b) > 0 {
		bit := u.bit % uint64(len(pk.b)*8)
		pk.b[bit/8] ^= 1 << (bit % 8)
		p.stats.Corrupted++
		verb += "+corrupt"
	}
	copies := 1
	if u.dup < f.dup {
		copies = 2
		p.stats.Duplicated++
		verb += "+dup"
	}
	n.trace.end(append(n.trace.begin(at, verb, p.from.name, p.to.name), n.sum...))
	for i := range copies {
		j := u.jitter
		if i == 1 {
			j = u.jitter2
		}
		d := f.delay
		if f.jitter > 0 {
			d = max(d+time.Duration((2*j-1)*float64(f.jitter)), 0)
		}
		cp := pk
		if i == 1 {
			cp = getPacket(pk.b)
		}
		n.q.push(&event{at: leave + int64(d), host: ev.host, cls: ev.cls, id: ev.id, ctr: ev.ctr, sub: uint8(i),
			kind: evArrive, pkt: cp, path: p})
	}
}

// isIPv6 reports whether p's version nibble says IPv6.
func isIPv6(p []byte) bool { return len(p) > 0 && p[0]>>4 == 6 }

// arrive records a packet's arrival; n.mu held. It returns the receiver
// to hand it to once n.mu is released, or nil if nobody takes it.
func (n *Network) arrive(ev *event) link.Receiver {
	p := ev.path
	inc := p.to.cur
	verb := "recv"
	var r link.Receiver
	if inc == nil {
		verb = "drop:down"
		p.stats.HostDown++
	} else {
		p.stats.Delivered++
		r = inc.nic.receiver()
		ts := n.wallAt(ev.at)
		for _, c := range p.to.caps {
			c.record(ts, ev.pkt.b)
		}
	}
	b := n.trace.begin(ev.at, verb, p.from.name, p.to.name)
	n.trace.end(n.appendSummary(b, ev.pkt.b))
	return r
}

// tooBig has the path's router answer a too-big DF packet with "fragmentation
// needed" (RouterMTU); n.mu held. The message reaches the sender one path
// delay later, keyed after the packet it answers.
func (p *Path) tooBig(at int64, ev *event) {
	h, err := wire.NewIPv4(ev.pkt.b)
	if err != nil || !h.DontFragment() || h.FragmentOffset() != 0 {
		return
	}
	if h.Protocol() == wire.ProtoICMP {
		// RFC 1122 §3.2.2: never an ICMP error about an ICMP error.
		if m, err := wire.NewICMPv4(h.Payload()); err != nil || wire.IsICMPv4Error(m.Type()) {
			return
		}
	}
	quote := h[:min(len(h), h.HeaderLen()+8)]
	m := wire.ICMPv4Repr{Type: wire.ICMPv4DestUnreachable, Code: wire.ICMPv4FragNeeded, NextHopMTU: uint16(p.f.mtu), Data: quote}
	ip := wire.IPv4Repr{TTL: 64, Protocol: wire.ProtoICMP, Src: RouterAddr, Dst: h.Src(), PayloadLen: m.Len()}
	b := make([]byte, ip.HeaderLen()+m.Len())
	ip.Emit(b)
	m.Emit(b[ip.HeaderLen():])
	p.routerReply(at, ev, b)
}

// tooBig6 has the path's router answer a too-big IPv6 packet with an ICMPv6
// Packet Too Big carrying mtu (RFC 4443 §3.2, RFC 8201 §4); n.mu held. IPv6
// has no DF bit: every too-big packet gets one, since routers never
// fragment IPv6 (RFC 8200 §5).
func (p *Path) tooBig6(at int64, ev *event, mtu int) {
	h, err := wire.NewIPv6(ev.pkt.b)
	if err != nil {
		return
	}
	// RFC 4443 §2.4(e.1): never an ICMPv6 error about an ICMPv6 error. A
	// header chain the router cannot walk might hide one, so it gets no
	// answer either.
	t, err := h.Transport()
	if err != nil {
		return
	}
	if t.Proto == wire.ProtoICMPv6 {
		if m, err := wire.NewICMPv6(h[t.Offset:]); err != nil || wire.IsICMPv6Error(m.Type()) {
			return
		}
	}
	// RFC 4443 §2.4(c): as much of the packet as fits a minimum-MTU message.
	quote := h[:min(len(h), wire.IPv6MinMTU-wire.IPv6HeaderLen-wire.ICMPv6HeaderLen)]
	m := wire.ICMPv6Repr{Type: wire.ICMPv6PacketTooBig, MTU: uint32(mtu), Data: quote}
	ip := wire.IPv6Repr{NextHeader: wire.ProtoICMPv6, HopLimit: 64, Src: RouterAddr6, Dst: h.Src(), PayloadLen: m.Len()}
	b := make([]byte, ip.HeaderLen()+m.Len())
	ip.Emit(b)
	m.Emit(b[ip.HeaderLen():], ip.Src, ip.Dst)
	p.routerReply(at, ev, b)
}

// routerReply traces the router's ICMP message b and schedules it to reach
// the sender of ev one path delay later, keyed after the packet it
// answers; n.mu held.
func (p *Path) routerReply(at int64, ev *event, b []byte) {
	n := p.n
	back := n.path(p.to, p.from)
	tr := n.trace.begin(at, "icmp:too-big", "router", p.from.name)
	n.trace.end(n.appendSummary(tr, b))
	n.q.push(&event{at: at + int64(p.f.delay), host: ev.host, cls: ev.cls, id: ev.id, ctr: ev.ctr, sub: 2,
		kind: evArrive, pkt: getPacket(b), path: back})
}
