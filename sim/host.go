package sim

import (
	"context"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"net/netip"
	"strconv"
	"sync/atomic"

	"berth"
	"berth/link"
	"berth/wire"
)

// linkName is the name of a host's one interface in its stack.
const linkName = "link0"

// Host is a simulated machine: one berth host with one interface on the
// network, a name other hosts can dial, and a life that can crash and
// restart. Its Dial, Listen and ListenPacket work like package net's and
// resolve the names of the network's hosts ("db:5432").
type Host struct {
	n    *Network
	name string
	idx  int32
	addr netip.Addr
	// addr6 is the IPv6 address, invalid on an IPv4-only host.
	addr6 netip.Addr
	only4 bool // IPv4Only
	mtu   int
	cfg   []func(*berth.Options)

	// guarded by n.mu
	timers   uint64            // timers made so far, numbering them
	flows    map[uint64]uint64 // packets sent so far per flow
	cur      *incarnation      // nil while down
	boots    int               // incarnations so far
	isolated bool              // every path to and from it drops
	caps     []*capture        // Host.Capture
	onBoot   []func(context.Context)
}

// incarnation is one life of a host, from boot to crash.
type incarnation struct {
	h      *Host
	num    int
	bh     *berth.Host
	nic    *nic
	ctx    context.Context
	cancel context.CancelFunc
	dead   bool // guarded by n.mu
	socks  sockets
}

// HostOption configures a host.
type HostOption func(*Host)

// Addr gives the host this address instead of the next free one of the
// network's prefix.
func Addr(a netip.Addr) HostOption { return func(h *Host) { h.addr = a } }

// Addr6 gives the host this IPv6 address, in Prefix6, instead of the next
// free one.
func Addr6(a netip.Addr) HostOption { return func(h *Host) { h.addr6, h.only4 = a, false } }

// IPv4Only leaves the host without an IPv6 address: it can neither send
// nor receive IPv6. Hosts whose InterfaceMTU is under 1280, the least IPv6
// allows (RFC 8200 §5), are IPv4-only too.
func IPv4Only() HostOption { return func(h *Host) { h.addr6, h.only4 = netip.Addr{}, true } }

// InterfaceMTU sets the MTU of the host's interface (default 1500): the
// largest packet it sends and accepts, from which TCP picks its MSS.
func InterfaceMTU(n int) HostOption {
	if n < 68 || n > 65535 {
		panic("sim: MTU out of range [68, 65535]")
	}
	return func(h *Host) { h.mtu = n }
}

// Configure changes the berth options of each incarnation before it boots
// (TCP configuration, port ranges, services). Name, Seed and Clock are the
// simulation's: changing them breaks determinism. TCP must be a fresh
// *tcp.Config on every call, since a stack owns the one it is given.
func Configure(f func(*berth.Options)) HostOption {
	return func(h *Host) { h.cfg = append(h.cfg, f) }
}

// Host adds a host and boots it. Names are unique; a host's address is the
// next free one of the network's prefix unless Addr says otherwise, and
// its IPv6 address the next free one of Prefix6 unless Addr6 or IPv4Only
// says otherwise (or its InterfaceMTU is under 1280). Host panics on a
// duplicate name or address, as a test's setup mistake, and on Addr6 with
// an InterfaceMTU under 1280.
func (n *Network) Host(name string, opts ...HostOption) *Host {
	h := &Host{n: n, name: name, mtu: 1500}
	for _, o := range opts {
		o(h)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		panic("sim: Host on a closed network")
	}
	if _, dup := n.byName[name]; dup || name == "" {
		n.mu.Unlock()
		panic(fmt.Sprintf("sim: host name %q empty or taken", name))
	}
	// Checked before any address is handed out, so that a setup mistake
	// recovered from leaves the numbering as it was.
	if h.addr6.IsValid() && (!Prefix6.Contains(h.addr6) || h.addr6 == RouterAddr6 || n.byAddr[h.addr6] != nil || h.mtu < wire.IPv6MinMTU) {
		n.mu.Unlock()
		panic(fmt.Sprintf("sim: IPv6 address %v of %q is outside %v, taken, or on an MTU under %d", h.addr6, name, Prefix6, wire.IPv6MinMTU))
	}
	if !h.addr.IsValid() {
		for n.byAddr[n.next] != nil {
			n.next = n.next.Next()
		}
		h.addr = n.next
		n.next = n.next.Next()
	}
	if !n.prefix.Contains(h.addr) || n.byAddr[h.addr] != nil {
		n.mu.Unlock()
		panic(fmt.Sprintf("sim: address %v of %q is outside %v or taken", h.addr, name, n.prefix))
	}
	if !h.addr6.IsValid() && !h.only4 && h.mtu >= wire.IPv6MinMTU {
		for n.byAddr[n.next6] != nil {
			n.next6 = n.next6.Next()
		}
		h.addr6 = n.next6
		n.next6 = n.next6.Next()
	}
	h.idx = int32(len(n.hosts))
	n.hosts = append(n.hosts, h)
	n.byName[name] = h
	n.byAddr[h.addr] = h
	if h.addr6.IsValid() {
		n.byAddr[h.addr6] = h
	}
	n.mu.Unlock()
	h.boot()
	return h
}

// boot starts a new incarnation.
func (h *Host) boot() {
	n := h.n
	n.mu.Lock()
	inc := &incarnation{h: h, num: h.boots}
	h.boots++
	n.mu.Unlock()
	inc.ctx, inc.cancel = context.WithCancel(context.Background())
	opts := berth.Options{Owner: h.name}
	for _, f := range h.cfg {
		f(&opts)
	}
	opts.Name = h.name
	opts.Seed = derive(n.seed, "host", h.name, strconv.Itoa(inc.num))
	opts.Clock = hostClock{inc}
	inc.bh = berth.NewHost(opts)
	inc.nic = &nic{inc: inc}
	s := inc.bh.Stack()
	if err := s.AddLink(linkName, inc.nic, netip.PrefixFrom(h.addr, n.prefix.Bits())); err != nil {
		panic("sim: " + err.Error())
	}
	// The IPv6 address makes the stack send nothing by itself: the link
	// carries bare IP, so there is no Neighbor Discovery, duplicate
	// address detection or MLD report to announce it, and a host's
	// IPv4-only traffic, and its trace, are as they were before IPv6.
	if h.addr6.IsValid() {
		if err := s.AddAddress(linkName, netip.PrefixFrom(h.addr6, Prefix6.Bits())); err != nil {
			panic("sim: " + err.Error())
		}
	}
	n.mu.Lock()
	h.cur = inc
	if inc.num > 0 {
		n.traceHostEvent("restart", h)
	}
	boots := append([]func(context.Context){}, h.onBoot...)
	n.mu.Unlock()
	for _, f := range boots {
		go f(inc.ctx)
	}
}

// Name is the host's name.
func (h *Host) Name() string { return h.name }

// Addr is the host's IPv4 address.
func (h *Host) Addr() netip.Addr { return h.addr }

// Addr6 is the host's IPv6 address, or the zero Addr on an IPv4-only
// host.
func (h *Host) Addr6() netip.Addr { return h.addr6 }

// Network is the network the host is on.
func (h *Host) Network() *Network { return h.n }

// String is the host's name.
func (h *Host) String() string { return h.name }

// Berth is the berth host of the current incarnation (its stack, socket
// table, callback API), or nil while the host is down.
func (h *Host) Berth() *berth.Host {
	if inc := h.current(); inc != nil {
		return inc.bh
	}
	return nil
}

func (h *Host) current() *incarnation {
	h.n.mu.Lock()
	defer h.n.mu.Unlock()
	return h.cur
}

// Up reports whether the host is running (not crashed).
func (h *Host) Up() bool { return h.current() != nil }

// Context is done when the current incarnation crashes: programs running
// "on" the host watch it to stop as a crash would stop them. While the
// host is down it returns a context that is already done.
func (h *Host) Context() context.Context {
	if inc := h.current(); inc != nil {
		return inc.ctx
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// OnBoot runs f in a new goroutine now, if the host is up, and after every
// Restart, with the incarnation's context: the host's "init system". Use
// it for servers that should come back after a crash.
func (h *Host) OnBoot(f func(ctx context.Context)) {
	n := h.n
	n.mu.Lock()
	h.onBoot = append(h.onBoot, f)
	inc := h.cur
	n.mu.Unlock()
	if inc != nil {
		go f(inc.ctx)
	}
}

// Crash stops the host at once, as a power cut would: every socket
// vanishes without a FIN or RST, timers stop, packets in flight to it are
// dropped on arrival, its context is cancelled, and calls blocked on its
// sockets return errors. Peers learn of it only from silence, or from the
// resets a restarted host sends. Crash on a down host does nothing.
func (h *Host) Crash() { h.down(true) }

func (h *Host) down(trace bool) {
	n := h.n
	n.mu.Lock()
	inc := h.cur
	if inc == nil {
		n.mu.Unlock()
		return
	}
	h.cur = nil
	inc.dead = true
	if trace {
		n.traceHostEvent("crash", h)
	}
	n.mu.Unlock()
	inc.cancel()
	// berth's Close drops TCP state without a word on the wire (as a
	// crash does) and detaches the link, so nothing it does from here on
	// reaches the network.
	inc.bh.Close()
	inc.socks.closeAll()
}

// Restart boots a new incarnation of a crashed host: a fresh stack (new
// ISN key, ports, IP IDs, all derived from the seed and the incarnation
// number) with the same name and address, running the OnBoot programs
// again. A host that is up is crashed first.
func (h *Host) Restart() {
	h.Crash()
	h.boot()
}

// Isolate cuts the host off from every other host in both directions
// until Rejoin, as pulling its cable would; its stack keeps running.
func (h *Host) Isolate() { h.setIsolated("isolate", true) }

// Rejoin ends Isolate.
func (h *Host) Rejoin() { h.setIsolated("rejoin", false) }

func (h *Host) setIsolated(verb string, on bool) {
	n := h.n
	n.mu.Lock()
	defer n.mu.Unlock()
	h.isolated = on
	n.traceHostEvent(verb, h)
}

// Capture records what the host's interface sees into w as a pcap file,
// like tcpdump on that host: packets it sends as they leave, packets it
// receives as they arrive, after the network's faults (so duplicates,
// corrupted packets and reordering show). It spans restarts.
func (h *Host) Capture(w io.Writer) error {
	c, err := newCapture(w)
	if err != nil {
		return err
	}
	h.n.mu.Lock()
	h.caps = append(h.caps, c)
	h.n.mu.Unlock()
	return nil
}

// Sockets is the host's socket table, empty while it is down.
func (h *Host) Sockets() []berth.Socket {
	if b := h.Berth(); b != nil {
		return b.Sockets()
	}
	return nil
}

// flowOf names the flow a packet belongs to: protocol, destination and,
// for TCP and UDP, both ports. Later fragments of a datagram (which carry
// no ports) share a flow per destination and protocol.
func flowOf(p []byte) uint64 {
	h := fnv.New64a()
	if isIPv6(p) {
		return flowOf6(h, p)
	}
	if len(p) < 20 {
		h.Write(p)
		return h.Sum64()
	}
	h.Write(p[9:10])  // protocol
	h.Write(p[16:20]) // destination
	ihl := int(p[0]&0x0f) * 4
	firstFragment := p[6]&0x1f == 0 && p[7] == 0
	if (p[9] == 6 || p[9] == 17) && firstFragment && len(p) >= ihl+4 {
		h.Write(p[ihl : ihl+4]) // ports
	}
	return h.Sum64()
}

// flowOf6 is flowOf for an IPv6 packet: the upper-layer protocol after the
// extension headers, destination and, for TCP and UDP, both ports; later
// fragments share a flow per destination and protocol.
func flowOf6(h hash.Hash64, p []byte) uint64 {
	ip, err := wire.NewIPv6(p)
	if err != nil {
		h.Write(p)
		return h.Sum64()
	}
	t, err := ip.Transport()
	if err != nil {
		h.Write(p[:wire.IPv6HeaderLen])
		return h.Sum64()
	}
	h.Write([]byte{6, t.Proto})
	h.Write(p[24:40]) // destination
	firstFragment := t.Fragment.FragmentOffset == 0
	if (t.Proto == wire.ProtoTCP || t.Proto == wire.ProtoUDP) && firstFragment && len(ip) >= t.Offset+4 {
		h.Write(ip[t.Offset : t.Offset+4]) // ports
	}
	return h.Sum64()
}

// nic is the host's interface: a link.Link whose other end is the network.
type nic struct {
	inc    *incarnation
	recv   atomic.Pointer[link.ReceiverFunc]
	closed atomic.Bool
}

var _ link.Link = (*nic)(nil)

func (l *nic) MTU() int { return l.inc.h.mtu }

// Write copies each packet into the schedule as a departure at the
// current time; the network does the rest in schedule order.
func (l *nic) Write(pkts [][]byte) (int, error) {
	h := l.inc.h
	n := h.n
	for i, p := range pkts {
		if l.closed.Load() {
			return i, link.ErrClosed
		}
		if len(p) > h.mtu {
			return i, link.ErrTooBig
		}
		pk := getPacket(p)
		n.mu.Lock()
		if l.inc.dead || n.closed {
			n.mu.Unlock()
			putPacket(pk)
			return i, link.ErrClosed
		}
		flow := flowOf(p)
		if h.flows == nil {
			h.flows = make(map[uint64]uint64)
		}
		h.flows[flow]++
		n.q.push(&event{at: n.now(), host: h.idx, cls: 1, id: flow, ctr: h.flows[flow], kind: evDepart, pkt: pk})
		n.mu.Unlock()
	}
	n.kick()
	return len(pkts), nil
}

func (l *nic) Attach(r link.Receiver) {
	if r == nil {
		l.recv.Store(nil)
		return
	}
	f := link.ReceiverFunc(r.Deliver)
	l.recv.Store(&f)
}

func (l *nic) receiver() link.Receiver {
	if l.closed.Load() {
		return nil
	}
	if f := l.recv.Load(); f != nil {
		return *f
	}
	return nil
}

func (l *nic) Close() error {
	l.closed.Store(true)
	return nil
}
