// Package ip is berth's IPv4 layer: it validates what links deliver,
// reassembles fragments, answers pings, routes and fragments what the
// transports send, and generates and dispatches ICMP errors.
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

// Interface is a link with its address.
type Interface struct {
	Index int
	Name  string
	Link  link.Link
	Addr  netip.Prefix // the interface address and its subnet
}

// MTU is the link's MTU.
func (i *Interface) MTU() int { return i.Link.MTU() }

// Packet is an inbound datagram addressed to this host, validated and
// reassembled. Its bytes are lent for the duration of the call.
type Packet struct {
	Now     time.Time
	Iface   *Interface // nil for loopback
	Header  wire.IPv4
	Payload []byte
}

// ICMPError is an ICMP error that arrived for a datagram this host sent.
type ICMPError struct {
	Now         time.Time
	From        netip.Addr // who reported it
	Type, Code  uint8
	MTU         uint16 // next-hop MTU of "fragmentation needed"
	Pointer     uint8  // parameter problem
	Original    wire.IPv4
	OrigPayload []byte // the quoted start of the original transport header
}

// Errno maps the error to what a socket reports, as Linux does
// (icmp_err_convert in net/ipv4/icmp.c).
func (e *ICMPError) Errno() syscall.Errno {
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

// Handler is a transport protocol above IP.
type Handler interface {
	// HandlePacket takes a datagram of the handler's protocol.
	HandlePacket(p *Packet)
	// HandleError takes an ICMP error quoting a datagram of its protocol.
	HandleError(e *ICMPError)
}

// RawTap sees a copy of every inbound datagram before the layer handles it
// (raw sockets). It reports whether some raw socket took the packet, which
// keeps the layer from answering "protocol unreachable".
type RawTap func(p *Packet) bool

// Header describes the IPv4 header of an outbound datagram.
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

// Layer is one host's IPv4 layer.
type Layer struct {
	Stats Stats
	ICMP  ICMPStats

	ifaces   []*Interface
	routes   Table
	handlers [256]Handler
	rawTap   RawTap

	ids     [idBuckets]uint16 // identification counters, by idBucket
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
	ReasmPerSource   int           // bytes held per source address, default 256 KiB
	ReasmMaxPerSrc   int           // datagrams in reassembly per source, default 64
	ReasmTotal       int           // bytes held in all, default 4 MiB (Linux ipfrag_high_thresh)
	ICMPRatePerSec   int           // ICMP errors per second, default 1000 (Linux icmp_msgs_per_sec)
	ICMPRateBurst    int           // default 50 (Linux icmp_msgs_burst)
	DisableICMPLimit bool
}

// New returns an IPv4 layer.
func New(cfg Config) *Layer {
	l := &Layer{idKey: cfg.IDKey}
	if l.idKey == 0 {
		l.idKey = mix64(uint64(cfg.FirstID) | 1<<32)
	}
	for i := range l.ids {
		l.ids[i] = uint16(mix64(l.idKey + uint64(i)))
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

// AddInterface attaches a link with its address and adds the on-link route.
func (l *Layer) AddInterface(name string, lk link.Link, addr netip.Prefix) *Interface {
	ifc := &Interface{Index: len(l.ifaces) + 1, Name: name, Link: lk, Addr: addr}
	l.ifaces = append(l.ifaces, ifc)
	l.routes.Add(Route{Dst: addr.Masked(), Iface: ifc})
	return ifc
}

// Interfaces lists the interfaces in the order they were added.
func (l *Layer) Interfaces() []*Interface { return l.ifaces }

// Routes is the routing table.
func (l *Layer) Routes() *Table { return &l.routes }

// SetHandler installs the transport for protocol proto.
func (l *Layer) SetHandler(proto uint8, h Handler) { l.handlers[proto] = h }

// SetRawTap installs the raw-socket tap.
func (l *Layer) SetRawTap(t RawTap) { l.rawTap = t }

// IsLocal reports whether a is one of this host's addresses (loopback included).
func (l *Layer) IsLocal(a netip.Addr) bool {
	if a.IsLoopback() {
		return true
	}
	for _, ifc := range l.ifaces {
		if ifc.Addr.Addr() == a {
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
	r, ok := l.routes.Lookup(dst)
	if !ok {
		return Route{}, netip.Addr{}, syscall.ENETUNREACH
	}
	return r, r.Iface.Addr.Addr(), nil
}

// LocalMTU is the MTU of the interface that holds the local address a
// (65535 for loopback and unknown addresses).
func (l *Layer) LocalMTU(a netip.Addr) int {
	for _, ifc := range l.ifaces {
		if ifc.Addr.Addr() == a {
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
	mtu := r.Iface.MTU()
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
// the entries that have expired, or else one at random.
func (l *Layer) LearnPathMTU(now time.Time, dst netip.Addr, mtu int) {
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
