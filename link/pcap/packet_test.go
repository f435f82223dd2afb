package pcap

import (
	"encoding/binary"
	"net/netip"
)

// Test packets are built here by hand, so that these tests depend on
// nothing of berth's own wire code and an independent decoder checks them.

func checksum(b []byte, sum uint32) uint16 {
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ipv4 returns an IPv4 packet (RFC 791) carrying payload.
func ipv4(src, dst netip.Addr, proto byte, id uint16, payload []byte) []byte {
	p := make([]byte, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	binary.BigEndian.PutUint16(p[4:], id)
	p[8] = 64
	p[9] = proto
	s, d := src.As4(), dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	binary.BigEndian.PutUint16(p[10:], checksum(p[:20], 0))
	copy(p[20:], payload)
	return p
}

// echo returns an ICMP echo request or reply (RFC 792).
func echo(typ byte, id, seq uint16, data []byte) []byte {
	m := make([]byte, 8+len(data))
	m[0] = typ
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	copy(m[8:], data)
	binary.BigEndian.PutUint16(m[2:], checksum(m, 0))
	return m
}

// udp returns a UDP datagram (RFC 768) with its pseudo-header checksum.
func udp(src, dst netip.Addr, sport, dport uint16, data []byte) []byte {
	u := make([]byte, 8+len(data))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], data)
	binary.BigEndian.PutUint16(u[6:], checksum(u, pseudo(src, dst, 17, len(u))))
	return u
}

// pseudo sums the pseudo-header a UDP or TCP checksum covers (RFC 768).
func pseudo(src, dst netip.Addr, proto byte, length int) uint32 {
	var sum uint32
	for _, a := range [][4]byte{src.As4(), dst.As4()} {
		sum += (uint32(a[0])<<8 | uint32(a[1])) + (uint32(a[2])<<8 | uint32(a[3]))
	}
	return sum + uint32(proto) + uint32(length)
}
