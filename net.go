package berth

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"berth/port"
	"berth/port/services"
	"berth/socket"
	"berth/stack"
)

// ListenPacket announces on the local address, like net.ListenPacket:
// network "udp", "udp4" or "udp6" for a datagram socket, or "ip4:PROTO"
// or "ip6:PROTO" for a raw socket, PROTO a name ("icmp", "ipv6-icmp") or
// number ("253"); "ip:PROTO" is IPv6 when the address is, else IPv4. An
// IPv6 raw socket reads the payload without the IPv6 header (RFC 3542
// §3), an IPv4 one without the IPv4 header, as Go's net does. The address
// may name a service: ":echo", "198.18.0.2:domain", "[2001:2::1]:53".
// "udp" takes the family of the address (IPv4 when it has none). As in
// Go's net, "udp" on "[::]:port" is dual-stack: it receives IPv4 too,
// from IPv4-mapped addresses; any other IPv6 socket is IPV6_V6ONLY, so it
// neither receives IPv4 nor holds the port against IPv4 sockets.
func (h *Host) ListenPacket(network, address string) (net.PacketConn, error) {
	switch network {
	case "udp", "udp4", "udp6":
		local, err := h.resolveNet(port.UDP, network, address)
		if err != nil {
			return nil, opErr("listen", network, address, err)
		}
		u, err := h.s.OpenUDP(stack.UDPOptions{Owner: h.owner, DualStack: dualStack(network, local)})
		if err != nil {
			return nil, opErr("listen", network, address, err)
		}
		if err := u.Bind(local); err != nil {
			u.Close()
			return nil, &net.OpError{Op: "listen", Net: network, Source: nil, Addr: net.UDPAddrFromAddrPort(local), Err: os.NewSyscallError("bind", err)}
		}
		return socket.NewUDP(u, network), nil
	}
	if fam, proto, ok, err := rawProtocol(network); ok {
		if err != nil {
			return nil, opErr("listen", network, address, err)
		}
		var a netip.Addr
		if address != "" {
			if a, err = rawAddr(fam, address); err != nil {
				return nil, opErr("listen", network, address, err)
			}
		}
		r, err := h.openRaw(fam, proto, a)
		if err != nil {
			return nil, opErr("listen", network, address, err)
		}
		if a.IsValid() {
			if err := r.Bind(a); err != nil {
				r.Close()
				return nil, opErr("listen", network, address, os.NewSyscallError("bind", err))
			}
		}
		return socket.NewRaw(r, network), nil
	}
	return nil, opErr("listen", network, address, net.UnknownNetworkError(network))
}

// Listen announces on the local address, like net.Listen: network "tcp",
// "tcp4" or "tcp6"; the address may name a service (":http",
// "[2001:2::1]:http"). Families as in ListenPacket.
func (h *Host) Listen(network, address string) (net.Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, opErr("listen", network, address, net.UnknownNetworkError(network))
	}
	local, err := h.resolveNet(port.TCP, network, address)
	if err != nil {
		return nil, opErr("listen", network, address, err)
	}
	l, err := h.s.ListenTCP(local, stack.TCPOptions{Owner: h.owner, ReuseAddr: true, Backlog: 4096, DualStack: dualStack(network, local)})
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: net.TCPAddrFromAddrPort(local), Err: os.NewSyscallError("bind", err)}
	}
	return socket.NewTCPListener(l, network), nil
}

// Dial connects to the address on the named network, like net.Dial.
func (h *Host) Dial(network, address string) (net.Conn, error) {
	return h.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context, for http.Transport.DialContext.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, opErr("dial", network, address, err)
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
		remote, err := h.resolveNet(port.TCP, network, address)
		if err != nil {
			return nil, opErr("dial", network, address, err)
		}
		c, err := socket.DialTCP(ctx, h.s, network, remote, stack.TCPOptions{Owner: h.owner})
		if err != nil {
			return nil, err
		}
		c.SetNoDelay(true) // as Go's net does for every TCP conn
		return c, nil
	case "udp", "udp4", "udp6":
		remote, err := h.resolveNet(port.UDP, network, address)
		if err != nil {
			return nil, opErr("dial", network, address, err)
		}
		u, err := h.s.OpenUDP(stack.UDPOptions{Owner: h.owner})
		if err != nil {
			return nil, opErr("dial", network, address, err)
		}
		if err := u.Connect(remote); err != nil {
			u.Close()
			return nil, &net.OpError{Op: "dial", Net: network, Addr: net.UDPAddrFromAddrPort(remote), Err: os.NewSyscallError("connect", err)}
		}
		return socket.NewUDP(u, network), nil
	}
	if fam, proto, ok, err := rawProtocol(network); ok {
		if err != nil {
			return nil, opErr("dial", network, address, err)
		}
		a, err := rawAddr(fam, address)
		if err != nil {
			return nil, opErr("dial", network, address, err)
		}
		r, err := h.openRaw(fam, proto, a)
		if err != nil {
			return nil, opErr("dial", network, address, err)
		}
		r.Connect(a)
		return socket.NewRaw(r, network), nil
	}
	return nil, opErr("dial", network, address, net.UnknownNetworkError(network))
}

// resolve parses "host:port" where port may be a service name.
func (h *Host) resolve(proto port.Protocol, address string) (netip.AddrPort, error) {
	return services.ParseAddrPort(address, proto, h.reg)
}

// resolveNet is resolve for a network that may fix the family: "tcp4"
// and "udp4" take IPv4 addresses only, "tcp6" and "udp6" IPv6 ones (an
// empty host is then [::]); "tcp" and "udp" take either, an empty host
// meaning 0.0.0.0 as before IPv6. IPv4-mapped addresses are IPv4.
func (h *Host) resolveNet(proto port.Protocol, network, address string) (netip.AddrPort, error) {
	ap, err := h.resolve(proto, address)
	if err != nil {
		return ap, err
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	switch network[len(network)-1] {
	case '4':
		if !ap.Addr().Is4() {
			return ap, &net.AddrError{Err: "no suitable address found", Addr: ap.Addr().String()}
		}
	case '6':
		host, _, _ := net.SplitHostPort(address)
		if host == "" {
			return netip.AddrPortFrom(netip.IPv6Unspecified(), ap.Port()), nil
		}
		if !ap.Addr().Is6() {
			return ap, &net.AddrError{Err: "no suitable address found", Addr: ap.Addr().String()}
		}
	}
	return ap, nil
}

// dualStack reports whether a socket listening on local for network takes
// both families: "tcp" or "udp" (not "tcp6" or "udp6") on the IPv6
// wildcard, as Go's net makes it (IPV6_V6ONLY off).
func dualStack(network string, local netip.AddrPort) bool {
	return (network == "tcp" || network == "udp") && local.Addr() == netip.IPv6Unspecified()
}

func opErr(op, network, address string, err error) error {
	var addr net.Addr
	if address != "" {
		addr = addrString(address)
	}
	return &net.OpError{Op: op, Net: network, Addr: addr, Err: err}
}

type addrString string

func (a addrString) Network() string { return "" }
func (a addrString) String() string  { return string(a) }

// rawProtocol parses "ip4:icmp" / "ip6:ipv6-icmp" / "ip6:253" /
// "ip:icmp" as Go's net does; fam is "ip", "ip4" or "ip6".
func rawProtocol(network string) (fam string, proto uint8, ok bool, err error) {
	fam, name, found := strings.Cut(network, ":")
	if !found || (fam != "ip" && fam != "ip4" && fam != "ip6") {
		return "", 0, false, nil
	}
	if n, e := strconv.ParseUint(name, 10, 8); e == nil {
		return fam, uint8(n), true, nil
	}
	if n, found := protocolNumbers[strings.ToLower(name)]; found {
		return fam, n, true, nil
	}
	return fam, 0, true, errors.New("unknown IP protocol " + strconv.Quote(name))
}

// rawAddr parses a raw socket's address literal: "ip4" takes IPv4 ones
// only, "ip6" IPv6 ones only, as Go's net does; IPv4-mapped addresses are
// IPv4.
func rawAddr(fam, address string) (netip.Addr, error) {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return a, err
	}
	a = a.Unmap()
	if (fam == "ip4" && !a.Is4()) || (fam == "ip6" && !a.Is6()) {
		return a, &net.AddrError{Err: "no suitable address found", Addr: address}
	}
	return a, nil
}

// openRaw opens the raw socket of fam's family, or for "ip" of a's (IPv4
// when a is invalid).
func (h *Host) openRaw(fam string, proto uint8, a netip.Addr) (*stack.RawSocket, error) {
	opts := stack.RawOptions{Owner: h.owner}
	if fam == "ip6" || (fam == "ip" && a.Is6()) {
		return h.s.OpenRaw6(proto, opts)
	}
	return h.s.OpenRaw(proto, opts)
}

// protocolNumbers are the IANA protocol names Go's net knows without
// /etc/protocols, and a few more.
var protocolNumbers = map[string]uint8{
	"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "ipv6": 41, "gre": 47, "esp": 50, "ah": 51,
	"ipv6-icmp": 58, "ospf": 89, "pim": 103, "vrrp": 112, "l2tp": 115, "sctp": 132, "udplite": 136,
}
