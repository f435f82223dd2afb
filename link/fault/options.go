package fault

import (
	"fmt"
	"time"

	"berth/clock"
)

// Direction selects which way packets are impaired.
type Direction uint8

const (
	// Outbound is the Write path: packets the stack sends.
	Outbound Direction = 1 << iota
	// Inbound is the Deliver path: packets the wrapped link receives.
	Inbound
	// Both impairs both ways; each way draws from its own random stream.
	Both = Outbound | Inbound
)

func (d Direction) String() string {
	switch d {
	case Outbound:
		return "outbound"
	case Inbound:
		return "inbound"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Option sets one impairment. Options given to Set change only what they
// name; the rest stay as they were.
type Option func(*config)

type config struct {
	seed      int64
	reseed    bool // Seed was given: restart the random streams
	dirs      Direction
	loss      float64
	dup       float64
	corrupt   float64
	reorder   float64
	reorderBy time.Duration
	delay     time.Duration
	jitter    time.Duration
	rateBps   uint64
	rateQueue int
	clk       clock.Clock
}

func defaults() config { return config{dirs: Outbound, clk: clock.Real} }

func checkP(name string, p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("fault: %s probability %v not in [0, 1]", name, p))
	}
}

// Seed fixes the random streams (default 0). Given to Set, it restarts
// them, so a run can be replayed from a known point.
func Seed(s int64) Option { return func(c *config) { c.seed, c.reseed = s, true } }

// On selects the directions impaired (default Outbound only).
func On(d Direction) Option {
	if d&^Both != 0 {
		panic(fmt.Sprintf("fault: bad direction %d", d))
	}
	return func(c *config) { c.dirs = d }
}

// Loss drops each packet with probability p. Loss(1) is a partition.
func Loss(p float64) Option {
	checkP("loss", p)
	return func(c *config) { c.loss = p }
}

// Duplicate sends each packet twice with probability p.
func Duplicate(p float64) Option {
	checkP("duplicate", p)
	return func(c *config) { c.dup = p }
}

// Corrupt flips one random bit of each packet with probability p.
func Corrupt(p float64) Option {
	checkP("corrupt", p)
	return func(c *config) { c.corrupt = p }
}

// Reorder takes each packet out of order with probability p. With by > 0
// the packet is held back an extra by, so packets sent meanwhile overtake
// it. With by == 0 it is held until the next packet in the same direction
// goes out and is sent right after that one (one packet is held at a time;
// a held packet is discarded if the link closes first).
func Reorder(p float64, by time.Duration) Option {
	checkP("reorder", p)
	if by < 0 {
		panic("fault: negative reorder delay")
	}
	return func(c *config) { c.reorder, c.reorderBy = p, by }
}

// Delay holds every packet for d plus a uniform random amount in
// [-jitter, +jitter] (never less than zero). Jitter larger than the gap
// between packets reorders them, as on a real path.
func Delay(d, jitter time.Duration) Option {
	if d < 0 || jitter < 0 {
		panic("fault: negative delay")
	}
	return func(c *config) { c.delay, c.jitter = d, jitter }
}

// Rate limits each direction to bitsPerSecond: a packet leaves once the
// packets before it and itself have been serialized at that rate. At most
// queueBytes may wait; a packet that would exceed that is dropped (tail
// drop) and counted as Overflow. Rate(0, 0) removes the limit.
func Rate(bitsPerSecond uint64, queueBytes int) Option {
	if queueBytes < 0 {
		panic("fault: negative rate queue")
	}
	return func(c *config) { c.rateBps, c.rateQueue = bitsPerSecond, queueBytes }
}

// Clock sets the clock that times delays (default clock.Real). Packets
// already delayed keep the clock they were scheduled on.
func Clock(c clock.Clock) Option {
	if c == nil {
		panic("fault: nil clock")
	}
	return func(cf *config) { cf.clk = c }
}
