package sim

import (
	"fmt"
	"net/netip"
	"time"
)

// A Fault is one impairment of a path. Give faults to New (DefaultFaults:
// every path starts with them), to Network.Link (both directions between two
// hosts) or to Path.Set and Link.Set while the simulation runs; each changes
// only what it names.
//
// Every random decision is drawn from the path's own stream, seeded from
// the network's seed and the two host names. Each packet draws the same
// fixed sequence of numbers whatever faults are on, so turning one fault on
// or off does not change another's decisions.
type Fault func(*faults)

// faults is the impairment of one direction of a path.
type faults struct {
	loss           float64
	ge             bool
	geP, geR       float64 // Gilbert-Elliott: P(good→bad), P(bad→good) per packet
	geGood, geBad  float64 // loss probability in each state
	delay, jitter  time.Duration
	dup            float64
	corrupt        float64
	mtu            int
	mtuICMP        bool // the router answers too-big DF packets (RouterMTU)
	rateBps        uint64
	rateQueueBytes int
}

func checkP(name string, p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("sim: %s probability %v not in [0, 1]", name, p))
	}
}

// Loss drops each packet independently with probability p.
func Loss(p float64) Fault {
	checkP("loss", p)
	return func(f *faults) { f.loss = p }
}

// GilbertElliott drops packets in bursts, as a wireless or congested path
// does: the path is in a good or a bad state; before each packet it moves
// from good to bad with probability p and from bad to good with
// probability r, then drops the packet with probability lossGood or
// lossBad of its state. The mean burst lasts 1/r packets. Gilbert's
// original model is GilbertElliott(p, r, 0, 1). Passing p = 0 and r = 1
// turns it off. It adds to Loss.
//
// The chain moves once per packet, as in netem, so when traffic thins out
// (a TCP sender backing off, with one retransmission every two minutes) a
// burst lasts longer in time: strong settings can then outlast TCP's
// retries in both directions, and the connection times out.
func GilbertElliott(p, r, lossGood, lossBad float64) Fault {
	checkP("Gilbert-Elliott p", p)
	checkP("Gilbert-Elliott r", r)
	checkP("Gilbert-Elliott good-state loss", lossGood)
	checkP("Gilbert-Elliott bad-state loss", lossBad)
	return func(f *faults) {
		f.ge = !(p == 0 && lossGood == 0)
		f.geP, f.geR, f.geGood, f.geBad = p, r, lossGood, lossBad
	}
}

// Delay holds each packet for d plus a uniform random amount in
// [-jitter, +jitter] (never below zero). A jitter larger than the gap
// between two packets reorders them, as a real path with several routes
// does. New networks start with Delay(time.Millisecond, 0).
func Delay(d, jitter time.Duration) Fault {
	if d < 0 || jitter < 0 {
		panic("sim: negative delay")
	}
	return func(f *faults) { f.delay, f.jitter = d, jitter }
}

// Duplicate delivers each packet twice with probability p; the copy draws
// its own jitter.
func Duplicate(p float64) Fault {
	checkP("duplicate", p)
	return func(f *faults) { f.dup = p }
}

// Corrupt flips one random bit of each packet with probability p. The
// receiver's checksums catch it (the IPv4 header checksum or TCP's, UDP's
// and ICMP's, whose pseudo-headers cover IPv6's addresses), so a corrupted
// packet is a lost one that still costs work. IPv6 has no header checksum
// (RFC 8200 §8.1): a flipped bit in its traffic class, flow label or hop
// limit goes unnoticed, as it would on a real link.
func Corrupt(p float64) Fault {
	checkP("corrupt", p)
	return func(f *faults) { f.corrupt = p }
}

// MTU makes the path carry packets of at most n bytes; larger ones vanish
// without an ICMP "fragmentation needed" or "packet too big", as behind a
// router that drops them silently (a path MTU black hole, RFC 2923 §2.1),
// IPv4 and IPv6 alike: under 1280 no full-sized IPv6 packet gets through.
// Zero removes the limit. To make hosts send smaller packets, give them
// InterfaceMTU.
func MTU(n int) Fault {
	if n < 0 {
		panic("sim: negative MTU")
	}
	return func(f *faults) { f.mtu, f.mtuICMP = n, false }
}

// RouterMTU is MTU(n) behind a router that tells, one path delay later.
//
// An IPv4 packet over n bytes with DF set is dropped and its sender gets an
// ICMP "fragmentation needed" (type 3, code 4) from RouterAddr with n as
// the next-hop MTU and the packet's header and first 8 bytes quoted (RFC
// 1191 §4, RFC 792). Too-big packets without DF vanish as with MTU: this
// router does not fragment.
//
// IPv6 has no DF: routers never fragment (RFC 8200 §5), so every IPv6
// packet over n bytes is dropped and answered with an ICMPv6 Packet Too
// Big (type 2) from RouterAddr6 carrying n as the MTU and quoting as much
// of the packet as fits a 1280-byte message (RFC 4443 §3.2, §2.4(c)),
// which is what path MTU discovery for IPv6 needs (RFC 8201). No Packet
// Too Big answers an ICMPv6 error (RFC 4443 §2.4(e.1)). A link that
// carries IPv6 has an MTU of at least 1280 (RFC 8200 §5), and a host
// ignores a smaller one in a Packet Too Big (RFC 8201 §4), so for IPv6
// packets a RouterMTU under 1280 acts as RouterMTU(1280): the router's
// IPv4 MTU may be smaller than its IPv6 one, as a tunnel's can be.
func RouterMTU(n int) Fault {
	if n < 68 {
		panic("sim: a router MTU under 68 bytes (RFC 791's minimum)")
	}
	return func(f *faults) { f.mtu, f.mtuICMP = n, true }
}

// RouterAddr is the source address of the ICMP messages a path's router
// sends (RouterMTU). It is in 198.18.0.0/15 but outside the 198.18.0.0/16
// hosts get by default.
var RouterAddr = netip.MustParseAddr("198.19.255.254")

// RouterAddr6 is the source address of the ICMPv6 messages a path's router
// sends (RouterMTU). It is in Prefix6, far above the addresses hosts get
// in creation order, and no host may take it.
var RouterAddr6 = netip.MustParseAddr("2001:2:0:ffff::fffe")

// Rate makes the path a bottleneck of bitsPerSecond: a packet leaves once
// those before it have been serialised at that rate, and at most
// queueBytes wait; a packet that would overflow the queue is dropped (tail
// drop). Rate(0, 0) removes the limit.
func Rate(bitsPerSecond uint64, queueBytes int) Fault {
	if queueBytes < 0 {
		panic("sim: negative queue")
	}
	return func(f *faults) { f.rateBps, f.rateQueueBytes = bitsPerSecond, queueBytes }
}

// None removes every fault, delay included.
func None() Fault { return func(f *faults) { *f = faults{} } }
