package tcp

import (
	"syscall"
	"time"

	"berth/seq"
)

// ICMPError is what an ICMP error that quotes one of a connection's
// segments tells it. The stack finds the connection by the quoted 4-tuple.
type ICMPError struct {
	// Seq is the sequence number in the quoted TCP header.
	Seq seq.Value
	// Errno is what the error means to a socket (ECONNREFUSED,
	// EHOSTUNREACH, ...; Linux's icmp_err_convert).
	Errno syscall.Errno
	// FragNeeded marks "fragmentation needed and DF set" (RFC 1191):
	// PathMTU is the next-hop MTU the router reported, 0 if it gave none,
	// and DatagramLen the length of the quoted datagram.
	FragNeeded  bool
	PathMTU     int
	DatagramLen int
	// IPv6 marks an ICMPv6 error. With FragNeeded it is Packet Too Big
	// (RFC 8201), which always reports the next-hop MTU: that MTU is
	// taken as it is, never below IPv6's minimum of 1280 (RFC 8200 §5,
	// RFC 8201 §4), and the fixed IPv6 and TCP headers take 60 bytes of
	// it, not 40 (RFC 6691).
	IPv6 bool
	// Hard marks errors that end a half-open connection from the
	// listener's side (Linux tcp_req_err: net and host unreachable, time
	// exceeded, parameter problem).
	Hard bool
}

// MinPathMTU is the smallest path MTU a "fragmentation needed" message may
// set: an attacker's forged message cannot shrink segments below it
// (RFC 5927 §7.2; Linux's min_pmtu, 552).
const MinPathMTU = 552

// MinPathMTU6 is the same floor over IPv6: every IPv6 link carries 1280
// bytes (RFC 8200 §5), so a Packet Too Big reporting less is clamped to it
// (RFC 8201 §4) and no atomic fragments follow (RFC 8021).
const MinPathMTU6 = 1280

// plateaus are RFC 1191 §7's MTU plateaus, for a router that reports no
// next-hop MTU: the next one below the datagram that did not fit.
var plateaus = [...]int{32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68}

// HandleICMP takes an ICMP error about one of the connection's segments,
// as Linux's tcp_v4_err does (RFC 1122 §4.2.3.9, RFC 5927):
//
//   - An error quoting a sequence number outside SND.UNA..SND.MAX is not
//     about any segment in flight and is ignored (RFC 5927 §4.1: a blind
//     attacker must guess it).
//   - "Fragmentation needed" lowers the MSS to the reported path MTU
//     (RFC 1191 §6.1), no lower than MinPathMTU allows, and resends what
//     is in flight in segments that fit; it is not congestion, so the
//     congestion window stays.
//   - In SYN-SENT any other error ends the attempt: connect fails with
//     its errno at once instead of after the SYN retries. A half-open
//     passive connection ends on a hard error.
//   - Otherwise the error is soft: the connection goes on, and if it later
//     times out it reports this errno instead of ETIMEDOUT.
//
// It reports whether the error changed anything.
func (c *Conn) HandleICMP(now time.Time, e ICMPError) bool {
	t := c.cfg.tick(now)
	switch c.state {
	case StateClosed, StateListen, StateTimeWait:
		return false
	}
	if e.Seq.LessThan(c.sndUna) || c.sndMax.LessThan(e.Seq) {
		c.cfg.Stats.OutOfWindowICMPs++
		return false
	}
	if e.FragNeeded {
		return c.pathMTU(t, e)
	}
	switch c.state {
	case StateSynSent:
		c.close(e.Errno)
		return true
	case StateSynReceived:
		if e.Hard {
			c.cfg.Stats.ListenDrops++
			c.close(e.Errno)
			return true
		}
	}
	if e.Errno < 256 {
		c.softErr = uint8(e.Errno)
	}
	return true
}

// NextHopMTU is the path MTU a "fragmentation needed" message teaches: the
// MTU it reports, or, if it reports none (an RFC 792 router) or one the
// datagram would have fitted, the RFC 1191 plateau below the datagram;
// never below MinPathMTU. Over IPv6 it is the reported MTU, never below
// MinPathMTU6.
func (e ICMPError) NextHopMTU() int {
	mtu := e.PathMTU
	if e.IPv6 {
		return max(mtu, MinPathMTU6)
	}
	if mtu == 0 || mtu >= e.DatagramLen && e.DatagramLen > 0 {
		mtu = 0
		for _, p := range plateaus {
			if p < e.DatagramLen {
				mtu = p
				break
			}
		}
	}
	return max(mtu, MinPathMTU)
}

// pathMTU lowers the MSS after "fragmentation needed" and resends what was
// in flight at the new size (Linux's tcp_mtu_reduced and
// tcp_simple_retransmit).
func (c *Conn) pathMTU(now tick, e ICMPError) bool {
	headers := 40 // IPv4 and TCP headers without options (RFC 6691)
	if e.IPv6 {
		headers = 60 // IPv6's fixed header is 40 bytes
	}
	mss := e.NextHopMTU() - headers
	if c.has(fTimestamps) {
		mss -= 12
	}
	if mss >= int(c.sndMSS) {
		return false
	}
	c.sndMSS = uint16(mss)
	c.cfg.Stats.PMTUReductions++
	if !c.canSend() || c.sndNxt == c.sndUna {
		return true
	}
	// What is in flight was too big (or may have been): go back to
	// SND.UNA and send it again in segments that fit. Karn: no RTT sample
	// from resent data.
	c.sndNxt = c.sndUna
	c.rttAt = 0
	c.clear(fTLPOut)
	c.trySend(now)
	return true
}
