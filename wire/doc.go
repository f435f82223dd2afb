// Package wire reads and writes the headers of IPv4, IPv6, ICMPv4, ICMPv6,
// UDP and TCP.
//
// Each header is a typed view over bytes (IPv4, IPv6, IPv6Fragment, ICMPv4,
// ICMPv6, UDP, TCP) with accessors and setters, entered only through a
// checked constructor (NewIPv4, NewIPv6, NewTCP, ...): once the constructor
// accepts the bytes, no accessor can panic. Beside each view a plain
// struct, its Repr, parses from the view and emits into an exact-size
// buffer. The package uses the standard library only and never allocates on
// the parse and emit paths.
//
// The files, one subject each:
//
//	checksum.go       the Internet checksum (RFC 1071), pseudo-header sums for
//	                  IPv4 and IPv6, incremental updates (RFC 1624)
//	errors.go         the sentinel errors constructors and parsers return
//	ipv4.go           IPv4 header (RFC 791), protocol numbers
//	icmpv4.go         ICMPv4 (RFC 792, RFC 1122 §3.2.2)
//	ipv6.go           IPv6 fixed header (RFC 8200 §3), extension header numbers
//	ipv6_ext.go       the walk of the extension header chain (RFC 8200 §4) to
//	                  the upper-layer header, with its Parameter Problem pointers
//	ipv6_fragment.go  IPv6 Fragment header (RFC 8200 §4.5)
//	icmpv6.go         ICMPv6 errors and echo (RFC 4443), NDP and MLD type numbers
//	udp.go            UDP (RFC 768; over IPv6, RFC 8200 §8.1)
//	tcp.go            TCP header (RFC 9293 §3.1)
//	tcp_options.go    TCP options (RFC 9293, RFC 7323, RFC 2018)
//
// The TCP and UDP checksum methods take the source and destination
// addresses and choose the pseudo-header by their family, so one set of
// functions serves IPv4 and IPv6.
package wire
