package tcp

import (
	"net/netip"
	"time"

	"berth/seq"
	"berth/wire"
)

// SYN cookies (RFC 4987 §3.6). When a listener's SYN queue is full, the
// SYN-ACK's sequence number carries everything needed to rebuild the
// connection, and nothing is stored:
//
//	 31      27 26  24 23                                              0
//	+----------+------+-------------------------------------------------+
//	|  t mod 32| MSS  |  SipHash(key, 4-tuple, t, client ISN) & 0xffffff |
//	+----------+------+-------------------------------------------------+
//
// t counts 64-second periods. The ACK that completes the handshake
// acknowledges cookie+1 and repeats the client's ISN+1, so the hash can be
// recomputed and checked; a cookie older than two periods is refused. An
// attacker who cannot see our SYN-ACKs cannot forge one without the key.
//
// The window scale and SACK-permitted options do not fit in 32 bits. When the
// client sends timestamps they ride in the low bits of our TSval, which the
// client echoes (as Linux does); without timestamps the cookie SYN-ACK offers
// neither option, so nothing is lost that the connection relies on.
const (
	cookiePeriod = 64 * time.Second
	cookieMaxAge = 2
	// TSval bits: window scale 0..14 in bits 0-3 (15: none), SACK in bit 4.
	cookieTSBits   = 0x3f
	cookieNoWScale = 0xf
	cookieSACK     = 0x10
)

// cookieMSS are the MSS values a cookie can encode (3 bits).
var cookieMSS = [8]uint16{216, 536, 1024, 1220, 1300, 1440, 1460, 8960}

func (l *Listener) cookiesInUse(now tick) bool {
	return l.lastOverflow != 0 && now-l.lastOverflow < tick(l.cfg.cookieWindow)
}

func cookieHash(cfg *Config, local, remote netip.AddrPort, period uint32, clientISN seq.Value) uint32 {
	return uint32(cfg.hashTuple(local, remote, saltCookie, uint64(period)<<32|uint64(clientISN))) & 0xffffff
}

// sendCookie answers a SYN with a SYN-ACK whose ISN is a cookie.
func (l *Listener) sendCookie(now tick, remote, local netip.AddrPort, seg *Segment) {
	cfg := l.cfg
	peerMSS := uint16(536)
	if seg.Options.MSS != 0 {
		peerMSS = seg.Options.MSS
	}
	idx := 0
	for i := len(cookieMSS) - 1; i > 0; i-- {
		if peerMSS >= cookieMSS[i] {
			idx = i
			break
		}
	}
	period := uint32(time.Duration(now) / cookiePeriod)
	cookie := (period&31)<<27 | uint32(idx)<<24 | cookieHash(cfg, local, remote, period, seg.Seq)

	s := Segment{
		Seq: seq.Value(cookie), Ack: seg.Seq.Add(1),
		Flags:  wire.FlagSYN | wire.FlagACK,
		Window: uint16(min(cfg.RcvBuf, 0xffff)),
	}
	s.Options.MSS = uint16(min(max(l.mssFor(remote), 64), 65495))
	if seg.Options.HasTimestamp && cfg.Timestamps {
		bits := uint32(cookieNoWScale)
		if seg.Options.HasWindowScale && cfg.WindowScale >= 0 {
			bits = uint32(min(seg.Options.WindowScale, 14))
			s.Options.HasWindowScale = true
			s.Options.WindowScale = uint8(cfg.WindowScale)
		}
		if seg.Options.SACKPermitted && cfg.SACKPermitted {
			bits |= cookieSACK
			s.Options.SACKPermitted = true
		}
		offset := uint32(cfg.hashTuple(local, remote, saltTimestamp, 0))
		ts := uint32(time.Duration(now)/time.Millisecond) + offset
		s.Options.HasTimestamp = true
		s.Options.TSVal = ts&^cookieTSBits | bits
		s.Options.TSEcr = seg.Options.TSVal
	}
	cfg.Stats.SyncookiesSent++
	l.lastOverflow = now
	l.reply(local, remote, s)
}

// cookieAck checks the ACK of a cookie SYN-ACK and, if the cookie is good,
// makes the connection, established and queued for Accept. handled is false
// when the ACK is no cookie ACK and the caller answers it with a RST.
func (l *Listener) cookieAck(now tick, remote, local netip.AddrPort, seg *Segment) (c *Conn, handled bool) {
	cfg := l.cfg
	cookie := uint32(seg.Ack - 1)
	clientISN := seg.Seq - 1
	period := uint32(time.Duration(now) / cookiePeriod)
	age := (period - cookie>>27) & 31
	if age > cookieMaxAge {
		cfg.Stats.SyncookiesFailed++
		return nil, false
	}
	period -= age
	if cookieHash(cfg, local, remote, period, clientISN) != cookie&0xffffff {
		cfg.Stats.SyncookiesFailed++
		return nil, false
	}
	if l.acceptQueueFull() {
		cfg.Stats.ListenOverflows++
		cfg.Stats.ListenDrops++
		return nil, true // dropped: the client retransmits
	}
	cfg.Stats.SyncookiesRecv++
	cfg.Stats.PassiveOpens++

	c = newConn(cfg, local, remote, l.mssFor(remote), l.out)
	c.parent = l
	c.state = StateSynReceived
	c.iss = seq.Value(cookie)
	c.irs = clientISN
	c.rcvNxt = seg.Seq
	c.lastAck = c.rcvNxt
	c.rcvAdv = c.rcvNxt.Add(seq.Size(min(c.rcvBufSize(), 0xffff)))
	c.sndUna, c.sndNxt, c.sndMax, c.recover = seg.Ack, seg.Ack, seg.Ack, seg.Ack

	peer := cookieMSS[(cookie>>24)&7]
	if seg.Options.HasTimestamp && cfg.Timestamps {
		c.set(fTimestamps)
		c.tsRecent = seg.Options.TSVal
		c.tsRecentAt = now
		bits := seg.Options.TSEcr & cookieTSBits
		if ws := bits & 0xf; ws != cookieNoWScale && cfg.WindowScale >= 0 {
			c.set(fWindowScale)
			c.sndScale = uint8(min(ws, 14))
			c.rcvScale = uint8(cfg.WindowScale)
		}
		if bits&cookieSACK != 0 && cfg.SACKPermitted {
			c.set(fSACK)
		}
	}
	mss := min(peer, c.advMSS)
	if c.has(fTimestamps) {
		mss -= 12
	}
	c.sndMSS = max(mss, 64)
	c.sndWnd = uint32(seg.Window) << c.sndScale
	c.maxWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = seg.Seq, seg.Ack
	c.establish(now)
	// The ACK may carry data (or a FIN): process it as the connection's
	// first segment.
	c.input(now, seg)
	return c, true
}
