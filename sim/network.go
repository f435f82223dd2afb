package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"sync"
	"testing/synctest"
	"time"
)

// Network is a simulated IPv4 and IPv6 network: hosts, the paths between them with
// their faults, and one schedule of every packet and timer. Make one with
// New, inside a testing/synctest bubble (Run does both) to run on virtual
// time, and Close it when done.
type Network struct {
	seed   uint64
	start  time.Time
	bubble bool
	prefix netip.Prefix

	mu       sync.Mutex // guards everything below; never held while calling a stack or user code
	q        eventHeap
	hosts    []*Host
	byName   map[string]*Host
	byAddr   map[netip.Addr]*Host
	paths    map[[2]int32]*Path
	defaults faults
	next     netip.Addr // next address to hand out
	next6    netip.Addr // next IPv6 address to hand out
	trace    *tracer
	caps     []*capture
	closed   bool
	sum      []byte  // scratch for one packet summary
	gates    []*gate // socket operations waiting for their turn

	kickc  chan struct{}
	done   chan struct{}
	exited chan struct{}
}

// Option configures a Network.
type Option func(*config)

type config struct {
	seed      uint64
	seedSet   bool
	traceW    io.Writer
	prefix    netip.Prefix
	defaults  []Fault
	realClock bool
}

// Seed sets the seed every random choice of the simulation derives from:
// each host's stack (ISNs, ephemeral ports, IP IDs, keys) and each path's
// faults. The same seed and the same program give the same run. The
// default is 1.
func Seed(s uint64) Option { return func(c *config) { c.seed, c.seedSet = s, true } }

// Trace writes the text trace to w as the simulation runs: one line per
// packet event (sent, dropped and why, held, received) and per crash,
// restart, partition or heal, with its virtual time. TraceHash is the
// SHA-256 of these lines whether or not they are written anywhere.
func Trace(w io.Writer) Option { return func(c *config) { c.traceW = w } }

// Prefix sets the subnet hosts get their addresses from, in creation
// order (default 198.18.0.0/15, the benchmarking range of RFC 2544, which
// has room for 131,070 hosts).
func Prefix(p netip.Prefix) Option {
	if !p.Addr().Is4() || p.Bits() > 30 {
		panic("sim: prefix must be IPv4 with room for hosts")
	}
	return func(c *config) { c.prefix = p.Masked() }
}

// Prefix6 is the subnet hosts get their IPv6 addresses from, in creation
// order (2001:2::1, 2001:2::2, ...): the benchmarking range of RFC 5180.
// Every host has it as an on-link prefix; there is no Neighbor Discovery,
// since the simulated links carry bare IP packets.
var Prefix6 = netip.MustParsePrefix("2001:2::/48")

// DefaultFaults sets the faults every path starts with, before Link or
// Path.Set change them (default Delay(time.Millisecond, 0)).
func DefaultFaults(f ...Fault) Option {
	return func(c *config) { c.defaults = append(c.defaults, f...) }
}

// New returns an empty network. Inside a testing/synctest bubble it runs
// on the bubble's virtual time and is deterministic; elsewhere (a main
// program, an Example) it runs on real time, with the same API and faults
// but no promise about the order of events at one instant.
func New(opts ...Option) *Network {
	c := config{seed: 1, prefix: netip.MustParsePrefix("198.18.0.0/15")}
	for _, o := range opts {
		o(&c)
	}
	n := &Network{
		seed:   c.seed,
		start:  time.Now(),
		bubble: inBubble(),
		prefix: c.prefix,
		byName: make(map[string]*Host),
		byAddr: make(map[netip.Addr]*Host),
		paths:  make(map[[2]int32]*Path),
		next:   c.prefix.Addr().Next(),
		next6:  Prefix6.Addr().Next(),
		trace:  newTracer(c.traceW),
		kickc:  make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	n.defaults.delay = time.Millisecond
	for _, f := range c.defaults {
		f(&n.defaults)
	}
	go n.run()
	return n
}

// inBubble reports whether the caller runs inside a synctest bubble.
func inBubble() (in bool) {
	defer func() {
		if recover() != nil {
			in = false
		}
	}()
	synctest.Wait()
	return true
}

// Seed is the network's seed.
func (n *Network) Seed() uint64 { return n.seed }

// Virtual reports whether the network runs on a synctest bubble's virtual
// time (and so deterministically).
func (n *Network) Virtual() bool { return n.bubble }

// Elapsed is the time since the network was made: virtual time in a bubble.
func (n *Network) Elapsed() time.Duration { return time.Duration(n.now()) }

// TraceHash is the SHA-256, in hex, of the trace so far: two runs with the
// same hash saw the same packets at the same virtual times with the same
// fates.
func (n *Network) TraceHash() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.trace.sum()
}

// TraceLines is how many lines the trace has so far.
func (n *Network) TraceLines() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.trace.n
}

// Capture records every packet of the network, as it leaves its sender,
// into w as a pcap file (raw IP of both families, nanosecond timestamps of virtual time).
// Host.Capture records one host's view, arrivals included. If w has a
// Flush() error method (a *bufio.Writer), Close flushes it.
func (n *Network) Capture(w io.Writer) error {
	c, err := newCapture(w)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.caps = append(n.caps, c)
	n.mu.Unlock()
	return nil
}

// Flush flushes the captures and the trace (writers with a Flush() error
// method, such as *bufio.Writer) and returns the first error writing any
// of them. The scheduler writes them as packets go; after Flush returns,
// the writers hold everything recorded so far and may be read.
func (n *Network) Flush() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var err error
	flush := func(c *capture) {
		c.flush()
		err = errors.Join(err, c.err)
	}
	for _, c := range n.caps {
		flush(c)
	}
	for _, h := range n.hosts {
		for _, c := range h.caps {
			flush(c)
		}
	}
	if f, ok := n.trace.w.(interface{ Flush() error }); ok && n.trace.err == nil {
		n.trace.err = f.Flush()
	}
	return errors.Join(err, n.trace.err)
}

// Lookup returns the host with that name, or nil.
func (n *Network) Lookup(name string) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byName[name]
}

// Hosts returns the hosts in the order they were made.
func (n *Network) Hosts() []*Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*Host(nil), n.hosts...)
}

// Close crashes every host (their sockets vanish, blocked calls return
// errors), stops the scheduler and flushes the captures. Call it from the
// goroutine that runs the test, not from a socket callback; Run calls it.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	hosts := append([]*Host(nil), n.hosts...)
	n.mu.Unlock()
	for _, h := range hosts {
		h.down(false)
	}
	close(n.done)
	<-n.exited
	n.openAll()
	return n.Flush()
}

// now is the virtual time in nanoseconds since the network started.
func (n *Network) now() int64 { return int64(time.Since(n.start)) }

// wallAt is the absolute time of a schedule time, for pcap stamps.
func (n *Network) wallAt(at int64) time.Time { return n.start.Add(time.Duration(at)) }

func (n *Network) kick() {
	select {
	case n.kickc <- struct{}{}:
	default:
	}
}

// run is the scheduler: it runs due events one at a time in key order.
// Inside a bubble, before each event that can wake goroutines it waits
// (synctest.Wait) until every other goroutine is durably blocked, so the
// consequences of one event — the packets a woken program sends, the
// timers it arms — are all queued before the next event runs.
func (n *Network) run() {
	defer close(n.exited)
	// The wake-up timer is never moved while pending: moving a pending
	// runtime timer earlier makes the runtime rescan its whole timer heap
	// when it fires, and the program under test may have thousands of
	// timers there. An earlier wake-up takes a new timer (the old one is
	// stopped, which costs nothing until it reaches the top of the heap); a
	// later one lets the armed timer fire early and re-arms then.
	var wake *time.Timer
	wakeAt := int64(-1) // when wake fires; -1 when not armed
	// settle: something ran since the last synctest.Wait that may have
	// woken goroutines. Waiting is needed only before acting at the
	// current instant; when the next event lies ahead, the bubble cannot
	// reach it before every goroutine is idle anyway.
	settle := true
	for {
		n.mu.Lock()
		ev := n.q.peek()
		now := n.now()
		due := len(n.gates) > 0 || (ev != nil && ev.at <= now)
		if due && settle && n.bubble {
			n.mu.Unlock()
			synctest.Wait()
			settle = false
			continue // look again: the goroutines may have queued more
		}
		// Socket operations waiting at this instant go first, one at a
		// time: each may send packets and arm timers, which join the
		// schedule before anything else happens.
		if g := n.nextGate(); g != nil {
			n.mu.Unlock()
			close(g.open)
			settle = true
			continue
		}
		if !due {
			if ev != nil && (wakeAt < 0 || ev.at < wakeAt) {
				if wakeAt >= 0 {
					wake.Stop()
				}
				wake, wakeAt = time.NewTimer(time.Duration(ev.at-now)), ev.at
			}
			var fired <-chan time.Time
			if wakeAt >= 0 {
				fired = wake.C
			}
			n.mu.Unlock()
			select {
			case <-fired:
				wakeAt = -1
			case <-n.kickc:
			case <-n.done:
				if wakeAt >= 0 {
					wake.Stop()
				}
				return
			}
			settle = true // whatever woke us woke others too
			continue
		}
		n.q.pop()
		switch ev.kind {
		case evDepart:
			n.depart(ev) // touches no stack and wakes no one
			n.mu.Unlock()
		case evArrive:
			settle = true
			r := n.arrive(ev)
			n.mu.Unlock()
			if r != nil {
				r.Deliver(ev.pkt.b)
			}
			putPacket(ev.pkt)
		case evTimer:
			settle = true
			tm := ev.tm
			dead := tm.inc.dead
			n.mu.Unlock()
			if !dead {
				tm.f()
			}
		}
	}
}

// derive makes an independent seed for one part of the simulation from the
// network's seed and names, never from the order things happen in.
func derive(seed uint64, parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	for _, p := range parts {
		binary.LittleEndian.PutUint64(b[:], uint64(len(p)))
		h.Write(b[:])
		h.Write([]byte(p))
	}
	x := h.Sum64()
	// SplitMix64's finaliser spreads FNV's bits.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	if x == 0 {
		x = 1 // berth reads a zero seed as "random"
	}
	return x
}

// traceHostEvent writes a line about a host (crash, restart); n.mu held.
func (n *Network) traceHostEvent(verb string, h *Host) {
	b := n.trace.begin(n.now(), verb, h.name, h.name)
	n.trace.end(append(b, h.addr.String()...))
}

// addrName names an address by its host, IPv4 or IPv6, if it has one.
func (n *Network) addrName(a netip.Addr) string {
	if h := n.byAddr[a]; h != nil {
		return h.name
	}
	return a.String()
}

var errClosed = fmt.Errorf("sim: network closed")
