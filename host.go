// Package berth is the Internet's port-and-socket system as a userspace
// TCP/IP stack. A Host is one berth host: give it links with addresses, then
// use it as you would package net — Dial, Listen, ListenPacket return the
// standard net.Conn, net.Listener and net.PacketConn — or use its stack's
// callback API for asynchronous sockets with no goroutine per socket.
//
//	la, lb := mem.Pair()
//	a, b := berth.NewHost(berth.Options{Name: "a"}), berth.NewHost(berth.Options{Name: "b"})
//	a.AddLink(la, netip.MustParsePrefix("198.18.0.1/24"))
//	b.AddLink(lb, netip.MustParsePrefix("198.18.0.2/24"))
//	pc, _ := b.ListenPacket("udp", ":echo")
//	c, _ := a.Dial("udp", "198.18.0.2:echo")
package berth

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"

	"berth/clock"
	"berth/link"
	"berth/port"
	"berth/port/services"
	"berth/stack"
	"berth/tcp"
)

// Options configures a Host.
type Options struct {
	// Name labels the host.
	Name string
	// Seed makes the host's random choices reproducible; zero is random.
	Seed uint64
	// Clock drives the host's timers; default the real clock.
	Clock clock.Clock
	// Ports configures the port spaces.
	Ports port.Config
	// Services resolves service names in addresses ("host:http") and
	// names the ports in the socket table; nil means services.Default().
	Services *services.Registry
	// Owner labels the sockets this host's net-style calls open, in the
	// socket table; default the program's name.
	Owner string
	// TCP configures stream sockets; nil is the Linux profile.
	TCP *tcp.Config
}

// Host is one berth host.
type Host struct {
	s     *stack.Stack
	reg   *services.Registry
	owner string
}

// NewHost returns a host with no links.
func NewHost(opts Options) *Host {
	reg := opts.Services
	if reg == nil {
		reg = services.Default()
	}
	owner := opts.Owner
	if owner == "" {
		owner = filepath.Base(os.Args[0])
	}
	return &Host{
		s:     stack.New(stack.Options{Name: opts.Name, Seed: opts.Seed, Clock: opts.Clock, Ports: opts.Ports, TCP: opts.TCP}),
		reg:   reg,
		owner: owner,
	}
}

// Stack is the host's stack: the callback API and the layers below.
func (h *Host) Stack() *stack.Stack { return h.s }

// Name is the host's name.
func (h *Host) Name() string { return h.s.Name() }

// AddLink attaches l with address addr; the prefix gives the on-link route.
func (h *Host) AddLink(l link.Link, addr netip.Prefix) error { return h.s.AddLink("", l, addr) }

// AddRoute routes dst through gateway, which must be on a link.
func (h *Host) AddRoute(dst netip.Prefix, gateway netip.Addr) error {
	return h.s.AddRoute(dst, gateway)
}

// Close closes every socket and link of the host.
func (h *Host) Close() error { return h.s.Close() }

// Ping sends one echo request and waits for its reply.
func (h *Host) Ping(ctx context.Context, dst netip.Addr, seq uint16, size int) (stack.PingReply, error) {
	return h.s.Ping(ctx, dst, 0xbe27, seq, size)
}

// Socket is a row of the host's socket table.
type Socket struct {
	stack.SocketInfo
	// Service is the registered name of the local port ("http"): the
	// port's registration, not proof of what listens there.
	Service string
	// Suspicious notes a port with a history of abuse by trojans: a
	// hint, never a verdict.
	Suspicious string
}

// Sockets answers the seed's question for this host: which local endpoint
// talks which protocol to which remote endpoint, in what state, for whom.
func (h *Host) Sockets() []Socket {
	infos := h.s.Sockets()
	out := make([]Socket, len(infos))
	for i, si := range infos {
		out[i] = Socket{SocketInfo: si}
		if si.Proto == "raw" {
			continue
		}
		proto := port.Protocol(si.Protocol)
		if names := h.reg.ByPort(proto, si.Local.Port()); len(names) > 0 {
			out[i].Service = names[0]
		}
		if n, ok := services.Suspicious(proto, si.Local.Port()); ok {
			out[i].Suspicious = "used by " + n.Name + " (a hint, not a verdict)"
		}
	}
	return out
}
