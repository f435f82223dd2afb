package port

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
)

// Options are the socket options that decide whether a bind may share a port.
type Options struct {
	// ReuseAddr is SO_REUSEADDR: share a port with sockets that also set it,
	// as long as the existing one is not listening (TCP), or always (UDP).
	// It also lets a bind succeed over a TIME-WAIT holder that set it.
	ReuseAddr bool
	// ReusePort is SO_REUSEPORT: sockets that all set it form a group on
	// one address and port; arriving flows are spread over the group by a
	// hash of the 4-tuple. (Linux also requires the same user; a berth host
	// has one user.)
	ReusePort bool
	// Privileged stands for CAP_NET_BIND_SERVICE: with
	// Config.RequirePrivilege, binds below Config.PrivilegedBelow need it.
	Privileged bool
	// V6Only is IPV6_V6ONLY (RFC 3493 §5.3): an IPv6 wildcard bind without
	// it also receives IPv4, and so overlaps IPv4 binds of the same port.
	V6Only bool
}

// Request describes one bind, connect or accept.
type Request struct {
	Proto Protocol
	// Local is the local address and port. For Bind, port 0 asks for an
	// ephemeral port (RFC 6056 algorithm 1) and an invalid address means
	// 0.0.0.0. For Connect it is the source address the route chose, with
	// port 0 for an ephemeral port (RFC 6056 algorithm 4).
	Local netip.AddrPort
	// Remote is the peer for Connect and Accept; ignored by Bind.
	Remote netip.AddrPort
	Opts   Options
	// Owner labels the application that holds the socket; it appears in
	// the socket table and in the text of a refused bind.
	Owner string
	// Endpoint is what Lookup returns for traffic to this binding.
	Endpoint any
}

// Config sets up a Manager. The zero value is Linux's defaults.
type Config struct {
	// EphemeralMin and EphemeralMax bound the ephemeral range, inclusive
	// (default 32768–60999, Linux's ip_local_port_range).
	EphemeralMin, EphemeralMax uint16
	// Reserved ports are never handed out by the allocators (Linux's
	// ip_local_reserved_ports); an explicit bind may still take them.
	Reserved []uint16
	// PrivilegedBelow is the first unprivileged port (default 1024).
	PrivilegedBelow uint16
	// RequirePrivilege makes binds below PrivilegedBelow fail with EACCES
	// unless the socket sets Options.Privileged. Off by default.
	RequirePrivilege bool
	// Key is the secret of RFC 6056 algorithm 4's hash (and of the
	// SO_REUSEPORT flow hash). Zero means: draw it from Rand.
	Key [16]byte
	// Rand drives the random choices (algorithm 1 start points, the
	// algorithm 4 counter table and its random increments). Nil means a
	// ChaCha8 generator seeded from crypto/rand. The same Key and the same
	// Rand seed give the same sequence of ports.
	Rand *rand.Rand
}

// Defaults of Config's zero fields.
const (
	DefaultEphemeralMin    = 32768
	DefaultEphemeralMax    = 60999
	DefaultPrivilegedBelow = 1024
)

func (c Config) withDefaults() Config {
	if c.EphemeralMin == 0 {
		c.EphemeralMin = DefaultEphemeralMin
	}
	if c.EphemeralMax == 0 {
		c.EphemeralMax = DefaultEphemeralMax
	}
	if c.PrivilegedBelow == 0 {
		c.PrivilegedBelow = DefaultPrivilegedBelow
	}
	return c
}

// Validate reports a configuration NewManager would refuse.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.EphemeralMin > c.EphemeralMax {
		return fmt.Errorf("port: ephemeral range %d-%d is empty", c.EphemeralMin, c.EphemeralMax)
	}
	return nil
}

func newRand(r *rand.Rand) *rand.Rand {
	if r != nil {
		return r
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails (crypto/rand.Read panics rather than return an error)
	return rand.New(rand.NewChaCha8(seed))
}

func keyWords(key [16]byte, r *rand.Rand) (k0, k1 uint64) {
	if key == ([16]byte{}) {
		return r.Uint64(), r.Uint64()
	}
	return binary.LittleEndian.Uint64(key[:8]), binary.LittleEndian.Uint64(key[8:])
}
