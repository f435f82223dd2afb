// Package tun attaches berth to a Linux TUN device: the kernel's end of a
// point-to-point link that carries bare IP packets (IFF_TUN|IFF_NO_PI, no
// link-layer header and no packet-information prefix), so the kernel's own
// tools (ping, curl, nc) can talk to a berth host.
//
// Open creates the device if it does not exist, or attaches to an existing
// one. Non-persistent devices vanish when their last file closes. Opening
// needs CAP_NET_ADMIN (root); without it, or without /dev/net/tun, Open
// returns an error that says which.
package tun

import "errors"

// Option configures Open.
type Option func(*config)

type config struct {
	mtu int
}

// MTU sets the device's MTU, 68 to 65535 bytes. Without it the device
// keeps the MTU it has (1500 for a new one).
func MTU(n int) Option { return func(c *config) { c.mtu = n } }

// ErrUnavailable reports that the system offers no TUN devices: no
// /dev/net/tun (a container without it, or the tun module not loaded) or a
// system other than Linux.
var ErrUnavailable = errors.New("tun: TUN unavailable")

const (
	// minMTU is the datagram every IPv4 host must handle (RFC 791).
	minMTU = 68
	// maxPacket is the largest IPv4 packet (Total Length is 16 bits) and
	// the largest MTU the kernel allows a TUN device.
	maxPacket = 65535
)
