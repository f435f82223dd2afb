// Package stack is a berth host: links with addresses and routes, the IP
// layer (IPv4, and IPv6 as far as addresses and ping), the transports and their sockets, timers, and the counters. It is
// the one package that joins the layers, and the callback API lives here.
//
// Concurrency: all protocol processing of a stack is serialised by one
// mutex (mu). Callbacks to users are queued while it is held and run after
// it is released, so a callback may call back into the stack.
package stack

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"berth/clock"
	"berth/ip"
	"berth/link"
	"berth/port"
	"berth/tcp"
	"berth/wire"
)

// Options configures a Stack.
type Options struct {
	// Name labels the host in tables and traces.
	Name string
	// Clock drives every timer; default clock.Real.
	Clock clock.Clock
	// Seed makes every random choice (IP IDs, keys, ports, ISNs)
	// reproducible; zero draws a seed from crypto/rand.
	Seed uint64
	// IP tunes the IP layer.
	IP ip.Config
	// TCP configures stream sockets; nil means tcp.DefaultConfig() (the
	// Linux profile). Its ISN key is drawn from Seed when zero.
	TCP *tcp.Config
	// Ports configures the port spaces (ephemeral range, privileged ports).
	// Its Rand is drawn from Seed when nil.
	Ports port.Config
}

// Stack is one host.
type Stack struct {
	name string
	clk  clock.Clock

	mu       sync.Mutex
	ip       *ip.Layer
	rng      *rand.Rand
	links    []link.Link
	raw      rawTable
	udp      udpTable
	tcp      tcpTable
	ports    *port.Manager
	pingers6 map[*pinger6]struct{} // Pings waiting for an ICMPv6 echo reply
	pending  *[]event              // callbacks owed, from eventPool
	nextID   uint64
	closed   bool
	timers   timerHeap   // every protocol deadline
	timer    clock.Timer // armed at the earliest of them
	timerAt  time.Time
	ipEntry  timerEntry
	closedCh chan struct{}
}

// ErrClosed is returned by operations on a closed stack.
var ErrClosed = errors.New("stack: closed")

// New returns a stack with no links.
func New(opts Options) *Stack {
	seed := opts.Seed
	if seed == 0 {
		var b [8]byte
		crand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real
	}
	s := &Stack{name: opts.Name, clk: clk, closedCh: make(chan struct{})}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cfg := opts.IP
	if cfg.FirstID == 0 {
		cfg.FirstID = uint16(s.rng.Uint32())
	}
	s.ip = ip.New(cfg)
	s.ip.SetRawTap(s.rawInput)
	s.ipEntry = timerEntry{index: -1, item: ipTimer{s}}
	pc := opts.Ports
	if pc.Rand == nil {
		pc.Rand = rand.New(rand.NewPCG(s.rng.Uint64(), s.rng.Uint64()))
	}
	s.ports = port.NewManager(pc)
	s.udp.open = make(map[*UDPSocket]struct{})
	s.ip.SetHandler(uint8(port.UDP), udpHandler{s})
	s.ip.SetHandler6(uint8(port.UDP), udpHandler{s})
	s.pingers6 = make(map[*pinger6]struct{})
	s.ip.SetHandler6(wire.ProtoICMPv6, ping6Handler{s})
	s.initTCP(opts.TCP)
	return s
}

// Name is the host's name.
func (s *Stack) Name() string { return s.name }

// Clock is the stack's clock.
func (s *Stack) Clock() clock.Clock { return s.clk }

// nic receives a link's packets into the stack.
type nic struct {
	s   *Stack
	ifc *ip.Interface
}

func (n *nic) Deliver(pkt []byte) {
	s := n.s
	s.mu.Lock()
	if !s.closed {
		s.ip.Input(s.clk.Now(), n.ifc, pkt)
	}
	s.unlock()
}

// AddLink attaches l with address addr (its prefix gives the on-link route)
// and starts receiving from it. The stack closes l when it closes.
func (s *Stack) AddLink(name string, l link.Link, addr netip.Prefix) error {
	if !addr.Addr().Is4() {
		return errors.New("stack: only IPv4 addresses are supported")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if name == "" {
		name = "link" + string(rune('0'+len(s.links)))
	}
	ifc := s.ip.AddInterface(name, l, addr)
	s.links = append(s.links, l)
	s.mu.Unlock()
	l.Attach(&nic{s: s, ifc: ifc})
	return nil
}

// AddAddress gives the link named name another address: an IPv6 one (a
// link may have several), or an IPv4 one if it has none. The prefix
// becomes an on-link route. IPv6 needs a link MTU of at least 1280
// (EINVAL otherwise, as for an address no interface can have); EEXIST
// says the link has the address already.
func (s *Stack) AddAddress(name string, addr netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, ifc := range s.ip.Interfaces() {
		if ifc.Name == name {
			return s.ip.AddAddress(ifc, addr)
		}
	}
	return errors.New("stack: no link named " + strconv.Quote(name))
}

// AddRoute routes dst through the interface that reaches gateway.
func (s *Stack) AddRoute(dst netip.Prefix, gateway netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.ip.Routes().Lookup(gateway)
	if !ok {
		return errors.New("stack: gateway " + gateway.String() + " is not on a link")
	}
	s.ip.Routes().Add(ip.Route{Dst: dst, Gateway: gateway, Iface: r.Iface})
	return nil
}

// Addrs lists the interface addresses, each interface's IPv4 one first.
func (s *Stack) Addrs() []netip.Prefix {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.Prefix
	for _, ifc := range s.ip.Interfaces() {
		if ifc.Addr.IsValid() {
			out = append(out, ifc.Addr)
		}
		out = append(out, ifc.Addrs6...)
	}
	return out
}

// Routes lists the routing table, most specific first.
func (s *Stack) Routes() []ip.Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ip.Routes().Routes()
}

// Close detaches and closes every link and closes every socket.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closedCh)
	links := s.links
	s.links = nil
	if s.timer != nil {
		s.timer.Stop()
	}
	s.raw.closeAll(s)
	for u := range s.udp.open {
		u.close(s)
	}
	s.closeAllTCP()
	s.unlock()
	var err error
	for _, l := range links {
		l.Attach(nil)
		err = errors.Join(err, l.Close())
	}
	return err
}

// event is a callback owed to a socket, run after mu is released.
type event struct {
	n    notifier
	what Event
}

// Event says what became true of a socket.
type Event uint8

const (
	// Readable: data or an error waits to be read.
	Readable Event = 1 << iota
	// Writable: send space freed.
	Writable
	// Closed: the socket was closed, by its owner or by the stack.
	Closed
)

type notifier interface{ notify(Event) }

// callbacks holds a socket's notify callback. It runs outside the stack's
// lock and never twice at once for one socket: events that arrive while it
// runs are merged and delivered, in one call, when it returns.
type callbacks struct {
	fn      func(Event) // guarded by Stack.mu
	pending Event
	running bool
}

// run delivers ev to the callback.
func (c *callbacks) run(s *Stack, ev Event) {
	s.mu.Lock()
	c.pending |= ev
	if c.running {
		s.mu.Unlock()
		return
	}
	c.running = true
	for c.pending != 0 && c.fn != nil {
		ev, fn := c.pending, c.fn
		c.pending = 0
		s.mu.Unlock()
		fn(ev)
		s.mu.Lock()
	}
	c.pending = 0
	c.running = false
	s.mu.Unlock()
}

// set installs fn and, if initial is not zero, tells it at once.
func (c *callbacks) set(s *Stack, fn func(Event), initial Event) {
	s.mu.Lock()
	c.fn = fn
	s.mu.Unlock()
	if fn != nil && initial != 0 {
		c.run(s, initial)
	}
}

// post queues a callback; mu must be held.
func (s *Stack) post(n notifier, ev Event) {
	if s.pending == nil {
		s.pending = eventPool.Get().(*[]event)
	}
	*s.pending = append(*s.pending, event{n, ev})
}

// eventPool recycles the lists of owed callbacks: a list is handed from
// the goroutine that queued it to the one that runs it, so no single buffer
// can be reused under the lock.
var eventPool = sync.Pool{New: func() any { return new([]event) }}

// unlock re-arms the stack's timers, releases mu and runs the callbacks
// queued while it was held.
func (s *Stack) unlock() {
	if s.ip.Pending() && !s.closed {
		s.ip.Flush(s.clk.Now())
	}
	s.schedule(&s.ipEntry, s.ip.NextDeadline())
	s.armTimer()
	evs := s.pending
	s.pending = nil
	s.mu.Unlock()
	if evs == nil {
		return
	}
	for i, e := range *evs {
		e.n.notify(e.what)
		(*evs)[i] = event{}
	}
	*evs = (*evs)[:0]
	eventPool.Put(evs)
}

// newID numbers sockets for the socket table; mu must be held.
func (s *Stack) newID() uint64 {
	s.nextID++
	return s.nextID
}
