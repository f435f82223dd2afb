package port

import "strconv"

// Protocol is an IP protocol number (the IANA "Assigned Internet Protocol
// Numbers" registry). Each protocol has its own, independent port space.
type Protocol uint8

// Transport protocols that carry port numbers.
const (
	TCP  Protocol = 6   // RFC 9293
	UDP  Protocol = 17  // RFC 768
	DCCP Protocol = 33  // RFC 4340
	SCTP Protocol = 132 // RFC 9260
)

// String returns the lower-case name used in services(5) ("tcp", "udp",
// "dccp", "sctp"), or "proto-N" for other numbers.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case DCCP:
		return "dccp"
	case SCTP:
		return "sctp"
	}
	return "proto-" + strconv.Itoa(int(p))
}

// ParseProtocol maps a services(5) protocol name ("tcp", "udp", "dccp",
// "sctp"; case-insensitive) to its number.
func ParseProtocol(s string) (Protocol, bool) {
	switch len(s) {
	case 3, 4:
	default:
		return 0, false
	}
	var b [4]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:len(s)]) {
	case "tcp":
		return TCP, true
	case "udp":
		return UDP, true
	case "dccp":
		return DCCP, true
	case "sctp":
		return SCTP, true
	}
	return 0, false
}

// connectionOriented reports whether sockets of p listen and accept, so that
// the "existing socket is not listening" condition of SO_REUSEADDR applies
// and only listening (not merely bound) sockets receive new connections.
func (p Protocol) connectionOriented() bool {
	return p == TCP || p == SCTP || p == DCCP
}
