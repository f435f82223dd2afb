package ip

// Stats counts IPv4 traffic, in the shape of the Ip group of `netstat -s`
// (RFC 4293 names), plus the reason behind every header error.
//
// Every inbound packet is counted once in InReceives and ends in exactly one
// of: InHdrErrors, InAddrErrors, InUnknownProtos, InDiscards, InDelivers,
// or (for a fragment) ReasmReqds.
type Stats struct {
	InReceives      uint64
	InLoopback      uint64 // of InReceives, datagrams this host sent itself
	InHdrErrors     uint64
	InAddrErrors    uint64
	InUnknownProtos uint64
	InDiscards      uint64
	InDelivers      uint64
	OutRequests     uint64
	OutDiscards     uint64
	OutNoRoutes     uint64
	ReasmTimeout    uint64
	ReasmReqds      uint64
	ReasmOKs        uint64
	ReasmFails      uint64
	ReasmOverlaps   uint64
	FragOKs         uint64
	FragFails       uint64
	FragCreates     uint64

	// Why InHdrErrors rose.
	InTruncated    uint64 // shorter than a header, or than its total length
	InBadVersion   uint64
	InBadHeaderLen uint64
	InBadChecksum  uint64
	InBadTTL       uint64 // TTL 0: no host may send it (RFC 1122 §3.2.1.7)
	InBadSource    uint64 // source broadcast, multicast or unspecified (RFC 1122 §3.2.1.3)
}

// ICMPStats counts ICMPv4 messages, in the shape of the Icmp group of
// `netstat -s`.
type ICMPStats struct {
	InMsgs          uint64
	InErrors        uint64
	InCsumErrors    uint64
	InDestUnreachs  uint64
	InTimeExcds     uint64
	InParmProbs     uint64
	InEchos         uint64
	InEchoReps      uint64
	OutMsgs         uint64
	OutErrors       uint64
	OutDestUnreachs uint64
	OutTimeExcds    uint64
	OutEchos        uint64
	OutEchoReps     uint64
	OutRateLimited  uint64
}

// Stats6 counts IPv6 traffic, in the shape of the Ip6 group of `netstat
// -s` (RFC 4293 names, as Linux's /proc/net/snmp6), plus the reason behind
// every header error.
//
// Every inbound packet is counted once in InReceives and ends in at least
// one of: InHdrErrors, InAddrErrors, InUnknownProtos, InDiscards,
// InDelivers, or (for a fragment) ReasmReqds. A fragment that completes a
// packet ends in ReasmReqds and then, as the reassembled packet, in one of
// the others; every other packet ends in exactly one.
type Stats6 struct {
	InReceives      uint64
	InLoopback      uint64 // of InReceives, packets this host sent itself
	InHdrErrors     uint64
	InAddrErrors    uint64 // not for this host: another unicast address, a group not joined, a bad scope
	InUnknownProtos uint64 // no transport for the Next Header: Parameter Problem code 1 (RFC 8200 §4)
	InDiscards      uint64
	InDelivers      uint64
	OutRequests     uint64
	OutDiscards     uint64
	OutNoRoutes     uint64
	ReasmTimeout    uint64
	ReasmReqds      uint64
	ReasmOKs        uint64
	ReasmFails      uint64
	ReasmOverlaps   uint64 // of ReasmFails, overlapping fragments (RFC 5722)
	FragOKs         uint64
	FragFails       uint64
	FragCreates     uint64

	// Why InHdrErrors rose.
	InTruncated      uint64 // shorter than 40 bytes, its Payload Length, or an extension header
	InBadSource      uint64 // source multicast, IPv4-mapped, or loopback from a link (RFC 4291 §2.5.3, §2.7)
	InBadHeaderChain uint64 // Hop-by-Hop not first, a Routing header to follow, too many headers, nested fragments
	InBadOption      uint64 // an option running past its header
	InUnknownOption  uint64 // an option whose type says discard (RFC 8200 §4.2)
	InBadFragment    uint64 // RFC 8200 §4.5: length not a multiple of 8, beyond 65535, or a first fragment without the upper-layer header (RFC 7112)
}

// ICMP6Stats counts ICMPv6 messages, in the shape of the Icmp6 group of
// `netstat -s` (Linux's /proc/net/snmp6 names). Neighbor Discovery and
// MLD messages are counted by type and dropped: berth's links carry IP
// without link-layer addresses, where neither applies (RFC 4861 §1, §3.1).
type ICMP6Stats struct {
	InMsgs                   uint64
	InErrors                 uint64
	InCsumErrors             uint64
	InDestUnreachs           uint64
	InPktTooBigs             uint64
	InTimeExcds              uint64
	InParmProblems           uint64
	InEchos                  uint64
	InEchoReplies            uint64
	InGroupMembQueries       uint64
	InGroupMembResponses     uint64
	InGroupMembReductions    uint64
	InRouterSolicits         uint64
	InRouterAdvertisements   uint64
	InNeighborSolicits       uint64
	InNeighborAdvertisements uint64
	InRedirects              uint64
	InMLDv2Reports           uint64
	InOtherTypes             uint64 // unknown types: errors go up (RFC 4443 §2.4(a)), others are dropped (§2.4(b))
	OutMsgs                  uint64
	OutErrors                uint64
	OutDestUnreachs          uint64
	OutPktTooBigs            uint64
	OutTimeExcds             uint64
	OutParmProblems          uint64
	OutEchos                 uint64
	OutEchoReplies           uint64
	OutRateLimited           uint64
}
