// Package ip is berth's IP layer, IPv4 and IPv6 side by side: it validates
// what links deliver, reassembles fragments, answers pings, routes and
// fragments what the transports send, and generates and dispatches ICMP and
// ICMPv6 errors.
//
// Input dispatches on the version nibble. An IPv6 packet is checked by
// wire.NewIPv6, its extension headers walked (RFC 8200 §4) and any problem
// answered with the Parameter Problem RFC 8200 and RFC 4443 ask for;
// fragments are reassembled (RFC 8200 §4.5) by the same bounded reassembler
// as IPv4's. Links are layer-3 links (TUN, in memory) with no link-layer
// addresses, so there is no Neighbor Discovery: NDP and MLD messages are
// counted and dropped. An interface carries at most one IPv4 address and
// any number of IPv6 ones (AddAddress).
//
// Transports register per family: SetHandler for IPv4, SetHandler6 for
// IPv6. The raw-socket tap (SetRawTap) sees whole inbound packets of both
// families, reassembled, before their protocol's handler does.
//
// The layer has no lock and starts no goroutine: the stack serialises every
// call and arms the one timer the layer asks for (NextDeadline, Tick).
package ip

import (
	"net/netip"
	"syscall"
	"time"

	"berth/buf"
	"berth/link"
	"berth/wire"
)

// DefaultTTL is the TTL of datagrams berth originates (Linux's default).
const DefaultTTL = 64

// Interface is a link with its addresses.
type Interface struct {
	Index  int
	Name   string
	Link   link.Link
	Addr   netip.Prefix   // the IPv4 address and its subnet; zero if none
	Addrs6 []netip.Prefix // IPv6 addresses and their prefixes (AddAddress)
}

// MTU is the link's MTU.
func (i *Interface) MTU() int { return i.Link.MTU() }

// Packet is an inbound datagram addressed to this host, validated and
// reassembled. Its bytes are lent for the duration of the call.
type Packet struct {
	Now    time.Time
	Iface  *Interface // nil for loopback
	Header wire.IPv4  // the IPv4 datagram; nil for IPv6
	// Header6 is the IPv6 packet, extension headers included (reassembled
	// if it came in fragments); nil for IPv4.
	Header6 wire.IPv6
	Payload []byte // the upper-layer packet
	// Protocol is the upper-layer protocol: IPv4's Protocol field, or for
	// IPv6 the Next Header that ends the extension-header chain.
	Protocol uint8
}

// ICMPError is an ICMP or ICMPv6 error that arrived for a datagram this
// host sent: Original is set for ICMPv4, Original6 for ICMPv6.
type ICMPError struct {
	Now        time.Time
	From       netip.Addr // who reported it
	Type, Code uint8      // ICMPv4's, or ICMPv6's when Original6 is set
	// MTU is the next-hop MTU of "fragmentation needed" (ICMPv4) or of
	// Packet Too Big (ICMPv6, RFC 4443 §3.2).
	MTU uint32
	// Pointer is where a parameter problem points in the quoted datagram.
	Pointer  uint32
	Original wire.IPv4 // the quoted IPv4 datagram; nil for ICMPv6
	// Original6 is the quoted IPv6 packet, as much as the error carried;
	// nil for ICMPv4.
	Original6   wire.IPv6
	OrigPayload []byte // the quoted start of the original transport header
}

// Is6 reports whether the error is an ICMPv6 one.
func (e *ICMPError) Is6() bool { return e.Original6 != nil }

// Errno maps the error to what a socket reports, as Linux does
// (icmp_err_convert in net/ipv4/icmp.c, icmpv6_err_convert in
// net/ipv6/icmp.c).
func (e *ICMPError) Errno() syscall.Errno {
	if e.Is6() {
		return errno6(e.Type, e.Code)
	}
	switch e.Type {
	case wire.ICMPv4DestUnreachable:
		switch e.Code {
		case wire.ICMPv4NetUnreachable, wire.ICMPv4NetUnknown, wire.ICMPv4NetTOS:
			return syscall.ENETUNREACH
		case wire.ICMPv4ProtoUnreachable:
			return syscall.ENOPROTOOPT
		case wire.ICMPv4PortUnreachable:
			return syscall.ECONNREFUSED
		case wire.ICMPv4FragNeeded:
			return syscall.EMSGSIZE
		case wire.ICMPv4SourceRouteFailed:
			return syscall.EOPNOTSUPP
		case wire.ICMPv4NetProhibited, wire.ICMPv4HostProhibited, wire.ICMPv4AdminProhibited:
			return syscall.EACCES
		}
		return syscall.EHOSTUNREACH
	case wire.ICMPv4TimeExceeded:
		return syscall.EHOSTUNREACH
	case wire.ICMPv4ParamProblem:
		return syscall.EPROTO
	}
	return syscall.EHOSTUNREACH
}

// Handler is a transport protocol above IP. One installed with SetHandler
// sees IPv4 (Packet.Header, ICMPError.Original); one installed with
// SetHandler6 sees IPv6 (Packet.Header6, ICMPError.Original6).
type Handler interface {
	// HandlePacket takes a datagram of the handler's protocol.
	HandlePacket(p *Packet)
	// HandleError takes an ICMP error quoting a datagram of its protocol.
	HandleError(e *ICMPError)
}

// RawTap sees every inbound packet, IPv4 or IPv6, whole and reassembled,
// before the layer handles it (raw sockets); Packet.Protocol says whose it
// is. It reports whether some raw socket took the packet, which keeps the
// layer from answering a protocol no handler serves with ICMP "protocol
// unreachable" (IPv4) or Parameter Problem "unrecognized Next Header"
// (IPv6), as Linux's raw_local_deliver and raw6_local_deliver do.
type RawTap func(p *Packet) bool

// Header describes the IP header of an outbound datagram. An IPv6 Dst
// (not IPv4-mapped) makes it an IPv6 header: TTL is then the Hop Limit,
// TOS the Traffic Class, Protocol the Next Header, and DontFragment
// forbids fragmenting at the source (IPV6_DONTFRAG); the ID fields are
// IPv4's alone (IPv6 fragments take 32-bit IDs from the layer).
type Header struct {
	Src, Dst     netip.Addr // an invalid or unspecified Src is chosen from the route
	Protocol     uint8
	TTL          uint8 // 0 means DefaultTTL
	TOS          uint8
	DontFragment bool
	// HasID says the sender chose ID: a connected socket numbers its own
	// datagrams (RFC 6864 §4.1, Linux's inet_id), so one flow's IDs never
	// depend on what other flows send. Otherwise the layer takes the next
	// value of the counter for the destination.
	HasID bool
	ID    uint16
}

// Layer is one host's IP layer.
type Layer struct {
	Stats  Stats
	ICMP   ICMPStats
	Stats6 Stats6
	ICMP6  ICMP6Stats

	ifaces    []*Interface
	routes    Table
	handlers  [256]Handler
	handlers6 [256]Handler
	rawTap    RawTap

	ids     [idBuckets]uint16 // identification counters, by idBucket
	ids6    [idBuckets]uint32 // IPv6 fragment identification counters
	pmtu    map[netip.Addr]pmtuEntry
	idKey   uint64
	reasm   reassembler
	limiter tokenBucket

	loop  []*buf.Buffer // datagrams to this host, handled after the current one
	depth int           // nesting of Input and Send calls
	batch [1][]byte
	pkt   Packet // lent to handlers by deliver
}

// Config tunes a Layer.
type Config struct {
	// IDKey keys the choice and the starting values of the
	// identification counters (randomise it); zero derives one from
	// FirstID.
	IDKey   uint64
	FirstID uint16
	// Reassembly bounds; zero picks the defaults.
	ReasmTimeout     time.Duration // default 30 s (RFC 791's upper bound, as Linux)
	ReasmTimeout6    time.Duration // IPv6, default 60 s (RFC 8200 §4.5)
	ReasmPerSource   int           // bytes held per source address, default 256 KiB
	ReasmMaxPerSrc   int           // datagrams in reassembly per source, default 64
	ReasmTotal       int           // bytes held in all, default 4 MiB (Linux ipfrag_high_thresh)
	ICMPRatePerSec   int           // ICMP and ICMPv6 errors per second, one budget, default 1000 (Linux icmp_msgs_per_sec)
	ICMPRateBurst    int           // default 50 (Linux icmp_msgs_burst)
	DisableICMPLimit bool
}

// New returns an IP layer.
func New(cfg Config) *Layer {
	l := &Layer{idKey: cfg.IDKey}
	if l.idKey == 0 {
		l.idKey = mix64(uint64(cfg.FirstID) | 1<<32)
	}
	for i := range l.ids {
		l.ids[i] = uint16(mix64(l.idKey + uint64(i)))
	}
	for i := range l.ids6 {
		l.ids6[i] = uint32(mix64(l.idKey ^ (0x6<<56 + uint64(i))))
	}
	l.reasm.init(cfg)
	rate, burst := cfg.ICMPRatePerSec, cfg.ICMPRateBurst
	if rate == 0 {
		rate = 1000
	}
	if burst == 0 {
		burst = 50
	}
	if cfg.DisableICMPLimit {
		rate, burst = 1<<30, 1<<30
	}
	l.limiter = tokenBucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
	return l
}

// AddInterface attaches a link with its IPv4 address and adds the on-link
// route. A zero addr attaches it with no IPv4 address; AddAddress gives it
// IPv6 ones.
func (l *Layer) AddInterface(name string, lk link.Link, addr netip.Prefix) *Interface {
	ifc := &Interface{Index: len(l.ifaces) + 1, Name: name, Link: lk, Addr: addr}
	l.ifaces = append(l.ifaces, ifc)
	if addr.IsValid() {
		l.routes.Add(Route{Dst: addr.Masked(), Iface: ifc})
	}
	return ifc
}

// Interfaces lists the interfaces in the order they were added.
func (l *Layer) Interfaces() []*Interface { return l.ifaces }

// Routes is the routing table.
func (l *Layer) Routes() *Table { return &l.routes }

// SetHandler installs the transport for protocol proto.
func (l *Layer) SetHandler(proto uint8, h Handler) { l.handlers[proto] = h }

// SetHandler6 installs the IPv6 transport for upper-layer protocol proto.
// For wire.ProtoICMPv6 the handler sees what the layer does not answer
// itself: echo replies, and errors quoting an ICMPv6 message this host sent.
func (l *Layer) SetHandler6(proto uint8, h Handler) { l.handlers6[proto] = h }

// SetRawTap installs the raw-socket tap.
func (l *Layer) SetRawTap(t RawTap) { l.rawTap = t }

// IsLocal reports whether a is one of this host's addresses (loopback included).
func (l *Layer) IsLocal(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	for _, ifc := range l.ifaces {
		if ifc.Addr.Addr() == a || ifc.has6(a) {
			return true
		}
	}
	return false
}

// isBroadcast reports whether a is the limited broadcast address or the
// directed broadcast of one of our subnets.
func (l *Layer) isBroadcast(a netip.Addr) bool {
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, ifc := range l.ifaces {
		if ifc.Addr.Bits() < 31 && ifc.Addr.Contains(a) && a == lastAddr(ifc.Addr) {
			return true
		}
	}
	return false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Route finds the route to dst and the source address to use from it.
func (l *Layer) Route(dst netip.Addr) (Route, netip.Addr, error) {
	if dst.IsLoopback() {
		return Route{}, dst, nil
	}
	if l.IsLocal(dst) {
		return Route{}, dst, nil
	}
	if dst.Is4In6() {
		// IPv4-mapped addresses stand for IPv4 nodes at the socket layer
		// (RFC 4291 §2.5.5.2); they never go on the wire in IPv6.
		return Route{}, netip.Addr{}, syscall.ENETUNREACH
	}
	r, ok := l.routes.Lookup(dst)
	if !ok {
		return Route{}, netip.Addr{}, syscall.ENETUNREACH
	}
	src := r.Iface.Addr.Addr()
	if dst.Is6() {
		src = r.Iface.source6(dst)
	}
	if !src.IsValid() {
		return Route{}, netip.Addr{}, syscall.EADDRNOTAVAIL // the interface has no address of dst's family
	}
	return r, src, nil
}

// LocalMTU is the MTU of the interface that holds the local address a
// (65535 for loopback and unknown addresses).
func (l *Layer) LocalMTU(a netip.Addr) int {
	for _, ifc := range l.ifaces {
		if ifc.Addr.Addr() == a || ifc.has6(a) {
			return ifc.MTU()
		}
	}
	return 65535
}

// PathMTU is the largest datagram that goes to dst unfragmented: the
// MTU of the interface that reaches it, or less where "fragmentation
// needed" said so (LearnPathMTU) and the news is not yet PMTUExpiry old.
func (l *Layer) PathMTU(now time.Time, dst netip.Addr) int {
	r, _, err := l.Route(dst)
	if err != nil || r.Iface == nil {
		return 65535
	}
	return l.learnedMTU(now, dst, r.Iface.MTU())
}

// learnedMTU is mtu, or less where LearnPathMTU said so for dst.
func (l *Layer) learnedMTU(now time.Time, dst netip.Addr, mtu int) int {
	if e, ok := l.pmtu[dst]; ok {
		if now.Before(e.until) {
			return min(mtu, e.mtu)
		}
		delete(l.pmtu, dst)
	}
	return mtu
}

// PMTUExpiry is how long a learned path MTU holds before datagrams to the
// destination try the link's MTU again (RFC 1191 §6.3 suggests 10
// minutes; Linux's mtu_expires is 600 s).
const PMTUExpiry = 10 * time.Minute

// maxPMTUEntries bounds the destinations whose path MTU a layer remembers:
// forged messages cannot grow the table without end.
const maxPMTUEntries = 4096

type pmtuEntry struct {
	mtu   int
	until time.Time
}

// LearnPathMTU records that datagrams to dst must be at most mtu bytes,
// for PMTUExpiry (RFC 1191 §6.3). A transport calls it once it has checked
// that the "fragmentation needed" message quotes something it sent (for
// TCP, a sequence number in flight: RFC 5927 §4.1). A full table forgets
// the entries that have expired, or else one at random. For IPv6 the path
// MTU never goes below 1280 (RFC 8201 §4): a Packet Too Big saying less
// keeps 1280, and no atomic fragments are sent for it (RFC 8021).
func (l *Layer) LearnPathMTU(now time.Time, dst netip.Addr, mtu int) {
	if dst.Is6() && mtu < wire.IPv6MinMTU {
		mtu = wire.IPv6MinMTU
	}
	if l.pmtu == nil {
		l.pmtu = make(map[netip.Addr]pmtuEntry)
	}
	if _, ok := l.pmtu[dst]; !ok && len(l.pmtu) >= maxPMTUEntries {
		for a, e := range l.pmtu {
			if !now.Before(e.until) {
				delete(l.pmtu, a)
			}
		}
		for a := range l.pmtu {
			if len(l.pmtu) < maxPMTUEntries {
				break
			}
			delete(l.pmtu, a)
		}
	}
	l.pmtu[dst] = pmtuEntry{mtu: mtu, until: now.Add(PMTUExpiry)}
}
