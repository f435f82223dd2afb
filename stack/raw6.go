package stack

import (
	"net/netip"
	"syscall"
	"time"

	"berth/buf"
	"berth/ip"
	"berth/wire"
)

// OpenRaw6 opens a raw IPv6 socket for upper-layer protocol proto, as
// socket(AF_INET6, SOCK_RAW, proto) does on Linux. It receives the payload
// of every inbound IPv6 packet whose extension-header chain ends in proto,
// without the IPv6 header or extension headers (RFC 3542 §3), and sends
// payloads behind an IPv6 header the stack builds: the source from the
// route (or the bound address), Hop Limit 64. For ICMPv6 (58) the stack
// computes the checksum of what is sent and drops what arrives with a bad
// one (RFC 3542 §3.1: the kernel always does both for ICMPv6).
//
// There is no header inclusion for IPv6: Linux offers it only for
// IPPROTO_RAW (255), which berth does not. HeaderIncluded and proto 255
// are refused with EINVAL.
func (s *Stack) OpenRaw6(proto uint8, opts RawOptions) (*RawSocket, error) {
	if opts.HeaderIncluded || proto == 255 {
		return nil, syscall.EINVAL
	}
	return s.openRaw(proto, true, opts)
}

// is6 reports whether a is an IPv6 address proper, not an IPv4-mapped one
// (which stands for an IPv4 node, RFC 4291 §2.5.5.2).
func is6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

// rawInput6 queues the payload of an IPv6 packet to each matching raw
// IPv6 socket of its protocol.
func (s *Stack) rawInput6(p *ip.Packet) bool {
	socks := s.raw.byProto6[p.Protocol]
	if len(socks) == 0 {
		return false
	}
	src, dst := p.Header6.Src(), p.Header6.Dst()
	if p.Protocol == wire.ProtoICMPv6 {
		// RFC 3542 §3.1: the kernel verifies the ICMPv6 checksum for raw
		// sockets; a message that fails goes to none of them (Linux drops
		// it in rawv6_recvmsg). The layer counts it as InCsumErrors.
		m, err := wire.NewICMPv6(p.Payload)
		if err != nil || !m.ChecksumValid(src, dst) {
			return false
		}
	}
	return s.rawDeliver(socks, src, dst, p.Payload, true)
}

// send6 is Send on an IPv6 socket; mu is held.
func (r *RawSocket) send6(now time.Time, p []byte, dst netip.Addr) error {
	s := r.s
	if !dst.IsValid() {
		dst = r.remote
	}
	if !dst.IsValid() {
		return syscall.EDESTADDRREQ
	}
	if !is6(dst) {
		return syscall.EAFNOSUPPORT // an ip6: socket sends IPv6 only
	}
	if len(p) > 0xffff { // the Payload Length field; no jumbograms (RFC 2675)
		return syscall.EMSGSIZE
	}
	src := r.local
	if !src.IsValid() {
		_, rs, err := s.ip.Route(dst)
		if err != nil {
			return err
		}
		src = rs
	}
	b := buf.From(buf.Headroom, p)
	defer b.Release()
	if r.proto == wire.ProtoICMPv6 {
		// RFC 3542 §3.1: the kernel computes the ICMPv6 checksum, over
		// the pseudo-header of the addresses the packet will carry. Linux
		// refuses a message too short to hold the field (EINVAL).
		if len(p) < 4 {
			return syscall.EINVAL
		}
		wire.ICMPv6(b.Bytes()).UpdateChecksum(src, dst)
	}
	if err := s.ip.Send(now, b, ip.Header{Src: src, Dst: dst, Protocol: r.proto}); err != nil {
		return err
	}
	r.txPackets++
	return nil
}
