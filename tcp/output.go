package tcp

import (
	"time"

	"berth/seq"
	"berth/wire"
)

// emit sends one segment. Every segment but a bare RST carries the ACK of
// RCV.NXT and a fresh window; sending it satisfies any pending ACK.
func (c *Conn) emit(now tick, flags wire.TCPFlags, sq seq.Value, payload []byte) {
	s := &c.cfg.seg
	*s = Segment{Seq: sq, Flags: flags, Payload: payload}
	if flags&wire.FlagSYN != 0 {
		c.synOptions(now, s)
	} else {
		if c.has(fTimestamps) {
			s.Options.HasTimestamp = true
			s.Options.TSVal = c.tsClock(now)
			s.Options.TSEcr = c.tsRecent
		}
		if flags&wire.FlagACK != 0 {
			s.Window = c.advertise()
			if c.has(fSACK) && flags&wire.FlagRST == 0 && (len(c.ooo) > 0 || c.sack != nil) {
				c.sackBlocks(&s.Options)
			}
		}
	}
	if flags&wire.FlagACK != 0 {
		s.Ack = c.rcvNxt
		c.lastAck = c.rcvNxt
		c.delackAt = 0
		c.clear(fAckNow)
	}
	if flags&wire.FlagRST != 0 {
		c.cfg.Stats.OutRsts++
	}
	c.cfg.Stats.OutSegs++
	s.IPID = uint16(c.iss) ^ uint16(c.iss>>16) + uint16(c.segsOut)
	c.segsOut++
	c.out.SendSegment(c.local, c.remote, s)
	s.Payload = nil
}

// synOptions fills the options and window of our SYN or SYN-ACK. A SYN
// offers what the Config enables; a SYN-ACK answers only what the peer's
// SYN offered (RFC 7323 §2.2, §3.2; RFC 2018 §2). The window in a SYN is
// never scaled (RFC 7323 §2.2).
func (c *Conn) synOptions(now tick, s *Segment) {
	o := &s.Options
	o.MSS = c.advMSS
	synAck := s.Flags&wire.FlagACK != 0
	if c.cfg.WindowScale >= 0 && (!synAck || c.has(fWindowScale)) {
		o.HasWindowScale = true
		o.WindowScale = c.rcvScale
	}
	if c.cfg.Timestamps && (!synAck || c.has(fTimestamps)) {
		o.HasTimestamp = true
		o.TSVal = c.tsClock(now)
		if synAck {
			o.TSEcr = c.tsRecent
		}
	}
	if c.cfg.SACKPermitted && (!synAck || c.has(fSACK)) {
		o.SACKPermitted = true
	}
	s.Window = uint16(min(c.rcvBufSize(), 0xffff))
}

func (c *Conn) emitSyn(now tick) {
	if c.state == StateSynSent {
		c.rcvScale = uint8(max(c.cfg.WindowScale, 0))
		c.emit(now, wire.FlagSYN, c.iss, nil)
		return
	}
	c.emit(now, wire.FlagSYN|wire.FlagACK, c.iss, nil)
}

// emitAck sends a bare ACK: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, where
// SND.NXT is RFC 9293's: the highest sequence number sent (sndMax), not the
// point a retransmission timeout rewound sndNxt to. A peer that received
// more than we know must find the ACK in its window, or two ends that both
// rewound would each drop the other's ACKs as old and never recover.
func (c *Conn) emitAck(now tick) {
	c.emit(now, wire.FlagACK, c.sndMax, nil)
}

// emitReset aborts the peer's side: <SEQ=SND.NXT><CTL=RST>, with the ACK
// bit and RCV.NXT as Linux sends it (RFC 9293 §3.10.5, ABORT call). The
// highest sequence number sent is the one the peer expects after all our
// data arrived, which is what RFC 5961 §3.2 checks exactly.
func (c *Conn) emitReset(now tick) {
	c.emit(now, wire.FlagRST|wire.FlagACK, c.sndMax, nil)
}

// advertise computes the window field of an outgoing segment and records
// the right edge it promises.
//
// The window offers the receive buffer less the bytes waiting to be read.
// Receiver-side silly window avoidance (RFC 1122 §4.2.3.3): the right edge
// moves only by at least min(buffer/2, MSS); until then it stays put, so the
// window shrinks as data arrives and reopens in useful steps. The right edge
// never moves left (RFC 9293 §3.8.6.2.2; RFC 7323 §2.4 excuses the rounding
// of scaled windows).
func (c *Conn) advertise() uint16 {
	buf := seq.Size(c.rcvBufSize())
	dataEnd := c.rcvDataEnd()
	unread := seq.Size(c.rcvBuf.len())
	edge := dataEnd.Add(buf - min(unread, buf))
	if c.rcvAdv.LessThan(edge) && edge.Sub(c.rcvAdv) < min(buf/2, seq.Size(c.advMSS)) {
		edge = c.rcvAdv
	}
	if edge.LessThan(c.rcvAdv) {
		edge = c.rcvAdv
	}
	var wnd uint32
	if c.rcvNxt.LessThan(edge) {
		wnd = uint32(edge.Sub(c.rcvNxt)) >> c.rcvScale
	}
	wnd = min(wnd, 0xffff)
	adv := c.rcvNxt.Add(seq.Size(wnd << c.rcvScale))
	if c.rcvAdv.LessThan(adv) {
		c.rcvAdv = adv
	}
	return uint16(wnd)
}

// canSend reports whether the state lets data or a FIN go out.
func (c *Conn) canSend() bool {
	switch c.state {
	case StateEstablished, StateCloseWait, StateFinWait1, StateClosing, StateLastAck:
		return true
	}
	return false
}

// trySend sends what the send buffer holds as far as the peer's window, the
// congestion window, Nagle's algorithm and sender-side silly window
// avoidance allow, and arms the timers that follow from it. In SACK
// recovery lost holes go first, and a hole not yet known lost goes when
// nothing new can (RFC 6675 §4 NextSeg, rules 1 to 3).
func (c *Conn) trySend(now tick) {
	if !c.canSend() {
		return
	}
	mss := c.segMSS()
	sackRecovery := c.has(fRecovery) && c.has(fSACK) && c.sack != nil
	if sackRecovery {
		edge := c.lossEdge()
		for c.cwndRoom() >= mss {
			s, n, ok := c.nextHole(c.sack.highRxt, edge)
			if !ok {
				break
			}
			c.retransmitAt(now, s, n)
		}
	}
	sent := 0
	// The segment taken last waits until the next is taken or the loop
	// ends: with PushBursts the last segment of the burst carries PSH, as
	// does the last of every run of push segments.
	var last dataSeg
	held, push, run := false, 0, 0
	if c.cfg.PushBursts {
		push = c.tsoSegs(mss)
	}
	sacked := c.hasSACKed() // sending does not change it
	running := c.rtxAt != 0
	for {
		var sackNext seq.Value // with SACKed data ahead, send no further than this
		resend := sacked && c.sndNxt.LessThan(c.sndMax)
		if resend {
			// Slow start after a timeout resends only what the peer
			// has not SACKed.
			e, in, next := c.sackedRangeAt(c.sndNxt)
			if in {
				c.sndNxt = e
				continue
			}
			sackNext = next
		}
		end := c.sndEnd()
		var avail seq.Size
		if c.sndNxt.LessThan(end) {
			avail = end.Sub(c.sndNxt)
		}
		finToSend := c.finPending() && c.sndNxt.LessThanEq(end)
		if avail == 0 && !finToSend {
			break
		}
		var wndLeft seq.Size
		if wndEnd := c.sndUna.Add(seq.Size(c.sndWnd)); c.sndNxt.LessThan(wndEnd) {
			wndLeft = wndEnd.Sub(c.sndNxt)
		}
		flight := c.sndNxt.Sub(c.sndUna)
		if sacked {
			flight = c.flight()
		}
		cwnd := seq.Size(c.cong.Cwnd)
		if !c.has(fRecovery) && c.dupAcks > 0 && c.dupAcks < dupThresh && !sacked {
			// Limited transmit (RFC 3042): each of the first two
			// duplicate ACKs lets one new segment out. With SACK the
			// SACKed bytes leave the flight instead.
			cwnd += seq.Size(c.dupAcks) * mss
		}
		var cwndLeft seq.Size
		if flight < cwnd {
			cwndLeft = cwnd - flight
		}
		n := min(avail, mss, wndLeft, cwndLeft)
		if resend {
			n = min(n, sackNext.Sub(c.sndNxt))
		} else if finToSend && avail <= mss && avail <= wndLeft {
			// The last segment, with the FIN, goes whatever the
			// congestion window, as Linux's tcp_cwnd_test has it:
			// "Don't be strict about the congestion window for the
			// final FIN." It is one small segment, and the close
			// does not wait a round trip for nothing.
			n = avail
		}
		fin := finToSend && c.sndNxt.Add(n) == end
		if n == 0 && !fin {
			break
		}
		if n < mss && !fin && c.sndMax.LessThan(c.sndNxt.Add(n)) {
			if n < avail {
				// The window, not the data, limits this segment:
				// sender SWS avoidance (RFC 1122 §4.2.3.4) sends it
				// only if it is at least half the largest window the
				// peer has offered. Otherwise wait for an ACK, or for
				// the persist timer if nothing is in flight.
				if n < seq.Size(c.maxWnd/2) || n == 0 {
					break
				}
			} else if !c.has(fNoDelay) && c.sndUna.LessThan(c.sndSml) {
				// Nagle (RFC 1122 §4.2.3.4, RFC 896) in Minshall's
				// variant, as Linux: hold a small segment while an
				// earlier small segment is unacknowledged. Both
				// rules are for new data; retransmissions go.
				break
			}
		}
		d := c.takeData(now, n, fin)
		if held {
			c.emitData(now, last)
		}
		if run++; push > 0 && run == push {
			d.push, run = d.n > 0, 0 // the end of a TSO-sized run
		}
		last, held = d, true
		sent++
	}
	if held {
		if push > 0 && last.n > 0 {
			last.push = true // the end of the burst
		}
		c.emitData(now, last)
	}
	if (sent > 1 || sent > 0 && running) && c.has(fTLPArmed) {
		// RFC 8985 §7.2: restart the probe timer after transmitting new
		// data (the first segment's arming already did, if it was alone).
		c.rearmProbe(now)
	}
	if sackRecovery && sent == 0 && c.cwndRoom() >= mss && len(c.sack.sacked) > 0 {
		// Rule 3: nothing new can go, so send a hole below the highest
		// SACKed data that is not yet known lost.
		last := c.sack.sacked[len(c.sack.sacked)-1]
		if s, n, ok := c.nextHole(c.sack.highRxt, last.start); ok {
			c.retransmitAt(now, s, n)
		}
	}
	c.armAfterSend(now)
}

// cwndRoom is how much the congestion window has left.
func (c *Conn) cwndRoom() seq.Size {
	cwnd, f := seq.Size(c.cong.Cwnd), c.flight()
	if f >= cwnd {
		return 0
	}
	return cwnd - f
}

// sendData sends n bytes from SND.NXT, with a FIN if fin, and advances
// SND.NXT.
func (c *Conn) sendData(now tick, n seq.Size, fin bool) {
	c.emitData(now, c.takeData(now, n, fin))
}

// dataSeg is a data segment taken from the send buffer and not yet
// emitted: trySend holds the last one back until it knows whether the
// burst ends with it.
type dataSeg struct {
	seq               seq.Value
	n                 seq.Size
	fin, push, resent bool
}

// takeData advances the send state over n bytes from SND.NXT (and the FIN
// if fin) as sending them does, and returns the segment to emit. PSH goes
// on the segment that empties the send buffer.
func (c *Conn) takeData(now tick, n seq.Size, fin bool) dataSeg {
	d := dataSeg{seq: c.sndNxt, n: n, fin: fin, push: n > 0 && c.sndNxt.Add(n) == c.sndEnd(), resent: c.sndNxt != c.sndMax}
	c.clear(fProbeOut)
	if !d.resent {
		c.sndLast = c.sndNxt
		if c.rttAt == 0 && n > 0 {
			c.rttAt, c.rttSeq = now, c.sndNxt
		}
	}
	if n < c.segMSS() {
		c.sndSml = c.sndNxt.Add(n)
	}
	if n > 0 && c.has(fGotData) && now-c.lastRecv < tick(c.cfg.DelayedAck) {
		// Data going out right after data came in: interactive
		// traffic, where ACKs ride on replies (Linux "pingpong").
		c.set(fPingPong)
	}
	c.sndNxt = c.sndNxt.Add(n)
	if fin {
		c.sndNxt++
	}
	if c.sndMax.LessThan(c.sndNxt) {
		c.sndMax = c.sndNxt
	}
	if c.rtxAt == 0 {
		c.armRetransmit(now)
	}
	return d
}

// emitData sends a segment takeData took.
func (c *Conn) emitData(now tick, d dataSeg) {
	flags := wire.FlagACK
	if d.push {
		flags |= wire.FlagPSH
	}
	if d.fin {
		flags |= wire.FlagFIN
	}
	off := int(d.seq.Sub(c.sndBase()))
	payload := c.sndBuf.peek(off, int(d.n), c.cfg.scratchFor(int(d.n)))
	c.emit(now, flags, d.seq, payload)
	if d.resent {
		c.countRetrans()
	}
}

// tsoSegs is how many segments Linux's TSO autosizing (tcp_tso_autosize)
// puts in one packet: what the pacing rate allows in 1/1024 s, at least
// two, at most 64 KiB. The pacing rate is cwnd·MSS/SRTT, twice that in
// slow start below half of ssthresh and 1.2 times otherwise
// (tcp_update_pacing_rate); before the first RTT sample nothing paces.
func (c *Conn) tsoSegs(mss seq.Size) int {
	most := max(65536/int(mss), 1)
	if c.srtt <= 0 {
		return most
	}
	ratio := uint64(120)
	if c.cong.Cwnd < c.cong.Ssthresh/2 {
		ratio = 200
	}
	rate := uint64(c.cong.Cwnd) * ratio / 100 * uint64(time.Second) / uint64(c.srtt) // bytes per second
	return min(max(int(rate>>10)/int(mss), 2), most)
}

// armAfterSend arms the persist timer when data waits but nothing is in
// flight to bring the ACK that would release it (RFC 9293 §3.8.6.1).
func (c *Conn) armAfterSend(now tick) {
	if c.rtxAt != 0 || c.sndNxt != c.sndUna {
		return
	}
	if c.sndNxt.LessThan(c.sndEnd()) {
		c.rtxAt = now + tick(c.backedOff(c.backoff))
	}
}

// retransmitHead resends the first unacknowledged segment without moving
// SND.NXT: fast retransmit and NewReno partial ACKs (RFC 5681 §3.2,
// RFC 6582 §3.2).
func (c *Conn) retransmitHead(now tick) {
	end := c.sndEnd()
	var n seq.Size
	if c.sndUna.LessThan(end) {
		n = min(end.Sub(c.sndUna), c.segMSS(), c.sndMax.Sub(c.sndUna))
	}
	c.retransmitAt(now, c.sndUna, n)
}

// retransmitAt resends n bytes from s, below SND.MAX, without moving
// SND.NXT; with the FIN if they end where the FIN sits and it was sent.
func (c *Conn) retransmitAt(now tick, s seq.Value, n seq.Size) {
	end := c.sndEnd()
	fin := c.finPending() && s.Add(n) == end && c.sndMax.GreaterThan(end)
	if n == 0 && !fin {
		return
	}
	flags := wire.FlagACK
	if fin {
		flags |= wire.FlagFIN
	}
	if n > 0 && s.Add(n) == end {
		flags |= wire.FlagPSH // as the segment that emptied the buffer had it
	}
	off := int(s.Sub(c.sndBase()))
	payload := c.sndBuf.peek(off, int(n), c.cfg.scratchFor(int(n)))
	c.emit(now, flags, s, payload)
	c.countRetrans()
	if c.rttAt != 0 && c.rttSeq.LessThanEq(s.Add(n)) {
		c.rttAt = 0 // Karn: no sample from a retransmitted sequence range
	}
	if sb := c.sack; sb != nil && c.has(fRecovery) {
		if e := s.Add(n); sb.highRxt.LessThan(e) {
			sb.highRxt = e
		}
		if s == c.sndUna {
			sb.rxtMark = c.sndMax
		}
	}
}

// countRetrans moves the segment just emitted from OutSegs, which counts
// only first transmissions (RFC 1213 tcpOutSegs), to RetransSegs.
func (c *Conn) countRetrans() {
	c.cfg.Stats.OutSegs--
	c.cfg.Stats.RetransSegs++
	c.retrans++
}
