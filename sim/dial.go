package sim

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"berth/stack"
)

// Resolve returns the IPv4 address of the host with that name, or parses
// an IPv4 or IPv6 literal, as a name service would inside the simulation.
// Unknown names give a *net.DNSError with IsNotFound set, as package net
// does.
func (n *Network) Resolve(name string) (netip.Addr, error) {
	return n.resolve("ip4", name)
}

// Resolve6 is Resolve for the host's IPv6 address. A host without one
// (IPv4Only) gives a *net.DNSError with IsNotFound set.
func (n *Network) Resolve6(name string) (netip.Addr, error) {
	return n.resolve("ip6", name)
}

// resolve looks name up for a network of package net's: IPv6 for the
// ones ending in 6 ("tcp6", "udp6", "ip6:..."), IPv4 for the rest, so
// that "tcp" and "udp" dial what they did before hosts had IPv6 (and
// seeded runs replay unchanged). Literals pass through as they are.
func (n *Network) resolve(network, name string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(name); err == nil {
		return a, nil
	}
	if h := n.Lookup(name); h != nil {
		a := h.addr
		if wants6(network) {
			a = h.addr6
		}
		if a.IsValid() {
			return a, nil
		}
	}
	return netip.Addr{}, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// wants6 reports whether a network name of package net asks for IPv6.
func wants6(network string) bool {
	fam, _, raw := cutRaw(network)
	if raw {
		return fam == "ip6"
	}
	return strings.HasSuffix(network, "6")
}

// resolveHostPort rewrites "name:port" to "addr:port" for network; ports
// may be service names, which berth resolves.
func (n *Network) resolveHostPort(network, address string) (string, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return address, nil // let berth report the syntax error
	}
	if host == "" {
		return address, nil
	}
	a, err := n.resolve(network, host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(a.String(), port), nil
}

// live returns the current incarnation, or the error the kernel gives on
// a host whose network is down.
func (h *Host) live(op, network, address string) (*incarnation, error) {
	if inc := h.current(); inc != nil {
		return inc, nil
	}
	return nil, &net.OpError{Op: op, Net: network, Addr: addrString(address), Err: syscall.ENETDOWN}
}

type addrString string

func (a addrString) Network() string { return "" }
func (a addrString) String() string  { return string(a) }

// Dial connects to address on the named network, like net.Dial: "tcp",
// "tcp4", "tcp6", "udp", "udp4", "udp6", "ip4:PROTO" or "ip6:PROTO", with
// the host part a host name of the network or an address ("db:5432",
// "198.18.0.2:http", "[2001:2::2]:80"). A name resolves to the host's
// IPv6 address on the networks ending in 6 and to its IPv4 address on the
// others.
func (h *Host) Dial(network, address string) (net.Conn, error) {
	return h.DialContext(context.Background(), network, address)
}

// DialContext is Dial with a context; it fits http.Transport.DialContext.
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	h.n.pass(gateKey{host: h.idx, op: opDial, arg: hashArg(network, address)})
	inc, err := h.live("dial", network, address)
	if err != nil {
		return nil, err
	}
	resolved := address
	if _, _, isRaw := cutRaw(network); isRaw {
		a, err := h.n.resolve(network, address)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Addr: addrString(address), Err: err}
		}
		resolved = a.String()
	} else if resolved, err = h.n.resolveHostPort(network, address); err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: addrString(address), Err: err}
	}
	ctx, cancel := crashContext(ctx, inc)
	defer cancel()
	c, err := inc.bh.DialContext(ctx, network, resolved)
	if err != nil {
		return nil, err
	}
	return wrapConn(inc, c), nil
}

// Listen announces on the local address, like net.Listen ("tcp", ":80").
func (h *Host) Listen(network, address string) (net.Listener, error) {
	h.n.pass(gateKey{host: h.idx, op: opListen, arg: hashArg(network, address)})
	inc, err := h.live("listen", network, address)
	if err != nil {
		return nil, err
	}
	resolved, err := h.n.resolveHostPort(network, address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: addrString(address), Err: err}
	}
	l, err := inc.bh.Listen(network, resolved)
	if err != nil {
		return nil, err
	}
	return wrapListener(inc, l), nil
}

// ListenPacket announces on the local address, like net.ListenPacket
// ("udp", ":53"; "udp6", "[::]:53"; "ip4:icmp", "").
func (h *Host) ListenPacket(network, address string) (net.PacketConn, error) {
	h.n.pass(gateKey{host: h.idx, op: opListenPacket, arg: hashArg(network, address)})
	inc, err := h.live("listen", network, address)
	if err != nil {
		return nil, err
	}
	resolved := address
	if _, _, isRaw := cutRaw(network); !isRaw {
		if resolved, err = h.n.resolveHostPort(network, address); err != nil {
			return nil, &net.OpError{Op: "listen", Net: network, Addr: addrString(address), Err: err}
		}
	} else if address != "" {
		a, err := h.n.resolve(network, address)
		if err != nil {
			return nil, &net.OpError{Op: "listen", Net: network, Addr: addrString(address), Err: err}
		}
		resolved = a.String()
	}
	c, err := inc.bh.ListenPacket(network, resolved)
	if err != nil {
		return nil, err
	}
	return wrapPacketConn(inc, c), nil
}

// Ping sends one ICMP echo request of size bytes to the named host (its
// IPv4 address) or address (an ICMPv6 one to an IPv6 address) and waits
// for the reply or the end of ctx.
func (h *Host) Ping(ctx context.Context, to string, seq uint16, size int) (stack.PingReply, error) {
	h.n.pass(gateKey{host: h.idx, op: opPing, arg: hashArg(to, strconv.Itoa(int(seq)))})
	inc, err := h.live("ping", "ip4:icmp", to)
	if err != nil {
		return stack.PingReply{}, err
	}
	a, err := h.n.Resolve(to)
	if err != nil {
		return stack.PingReply{}, err
	}
	ctx, cancel := crashContext(ctx, inc)
	defer cancel()
	return inc.bh.Ping(ctx, a, seq, size)
}

// cutRaw splits "ip4:icmp" as net does.
func cutRaw(network string) (fam, proto string, ok bool) {
	for i := 0; i < len(network); i++ {
		if network[i] == ':' {
			fam, proto = network[:i], network[i+1:]
			return fam, proto, fam == "ip" || fam == "ip4" || fam == "ip6"
		}
	}
	return "", "", false
}
