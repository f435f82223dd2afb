package sim

import "hash/fnv"

// Goroutines of the program under test that run at the same virtual
// instant race each other in real time. The schedule's keys make most of
// that harmless (packets are ordered by host and flow, not by who sent
// first), but two goroutines of one host that open sockets at once would
// take its ephemeral ports and socket numbers in either order. So the
// calls that open sockets (Dial, Listen, ListenPacket, Ping) first wait at
// a gate, and the scheduler, once every goroutine is idle, opens the gates
// one at a time in the order of a key made of the host, the operation and
// its address — never in the order the goroutines arrived. These calls
// block anyway (Dial waits for the handshake), so the gate adds no new way
// for a program to stall its bubble.
//
// Reads, writes and closes pass no gate: a gate makes a call wait until
// every other goroutine is idle, and programs often make those calls
// holding a mutex another goroutine waits for (http.Server.Close closes
// its connections under its lock), which a bubble cannot tell from
// progress.
//
// What stays the program's own race: two goroutines opening sockets to the
// same address from one host at the same instant, and goroutines of one
// host sharing memory at the same instant.

// op names a gated operation.
type op uint8

const (
	opDial op = iota + 1
	opListen
	opListenPacket
	opPing
)

type gateKey struct {
	host int32
	op   op
	arg  uint64
}

func (a gateKey) less(b gateKey) bool {
	switch {
	case a.host != b.host:
		return a.host < b.host
	case a.op != b.op:
		return a.op < b.op
	}
	return a.arg < b.arg
}

type gate struct {
	key  gateKey
	open chan struct{}
}

// pass waits for the scheduler to open the gate. Outside a bubble, or once
// the network is closed, it returns at once.
func (n *Network) pass(k gateKey) {
	if !n.bubble {
		return
	}
	g := &gate{key: k, open: make(chan struct{})}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.gates = append(n.gates, g)
	n.mu.Unlock()
	n.kick()
	<-g.open
}

// nextGate removes and returns the waiting gate with the least key, or
// nil; n.mu held.
func (n *Network) nextGate() *gate {
	if len(n.gates) == 0 {
		return nil
	}
	best := 0
	for i, g := range n.gates[1:] {
		if g.key.less(n.gates[best].key) {
			best = i + 1
		}
	}
	g := n.gates[best]
	last := len(n.gates) - 1
	n.gates[best] = n.gates[last]
	n.gates[last] = nil
	n.gates = n.gates[:last]
	return g
}

// openAll releases every waiting gate: the network is closing.
func (n *Network) openAll() {
	n.mu.Lock()
	gs := n.gates
	n.gates = nil
	n.mu.Unlock()
	for _, g := range gs {
		close(g.open)
	}
}

func hashArg(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
