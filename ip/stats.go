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
