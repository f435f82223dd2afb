package tcp

import (
	"syscall"
	"time"

	"berth/seq"
	"berth/wire"
)

// handleSynSent is RFC 9293 §3.10.7.3: a reply to our SYN.
func (c *Conn) handleSynSent(now tick, s *Segment) {
	ackOK := false
	if s.Flags&wire.FlagACK != 0 {
		// First, check the ACK: it must acknowledge our SYN and
		// nothing we have not sent.
		if s.Ack.LessThanEq(c.iss) || s.Ack.GreaterThan(c.sndMax) {
			if s.Flags&wire.FlagRST == 0 {
				c.emit(now, wire.FlagRST, s.Ack, nil) // <SEQ=SEG.ACK><CTL=RST>
			}
			return
		}
		ackOK = true
	}
	if s.Flags&wire.FlagRST != 0 {
		// Second, a RST counts only with an acceptable ACK (RFC 5961
		// §3.2 agrees for this state): the port is closed.
		if ackOK {
			c.close(syscall.ECONNREFUSED)
		}
		return
	}
	if s.Flags&wire.FlagSYN == 0 {
		return // Fourth: neither SYN nor RST, drop.
	}
	c.irs = s.Seq
	c.rcvNxt = s.Seq.Add(1)
	c.lastAck = c.rcvNxt
	c.rcvAdv = c.rcvNxt.Add(seq.Size(min(c.rcvBufSize(), 0xffff)))
	c.takeSynOptions(now, s)
	c.sndWnd = uint32(s.Window) // never scaled in a SYN (RFC 7323 §2.2)
	c.maxWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = s.Seq, s.Ack
	if !ackOK {
		// Simultaneous open (RFC 9293 Figure 7): answer with our SYN
		// again, now acknowledging theirs. Data on the SYN is left for
		// the peer to send again once we are synchronized.
		c.setState(StateSynReceived)
		c.emitSyn(now)
		return
	}
	c.sndUna = s.Ack
	c.ackedSyn(now)
	c.establish(now)
	c.emitAck(now) // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
	if len(s.Payload) > 0 || s.Flags&wire.FlagFIN != 0 {
		// "If there are other controls or text in the segment, continue
		// processing at the sixth step": the data after the SYN.
		rest := *s
		rest.Flags &^= wire.FlagSYN
		rest.Seq++
		c.trim(&rest)
		c.processText(now, &rest)
		c.processFin(now, &rest)
	}
	c.trySend(now)
	if c.has(fAckNow) {
		c.emitAck(now)
	}
}

// takeSynOptions records what the peer's SYN or SYN-ACK offers and settles
// the options of the connection (RFC 9293 §3.7.1, RFC 7323, RFC 2018).
func (c *Conn) takeSynOptions(now tick, s *Segment) {
	o := &s.Options
	// An option counts when both sides sent it: the Config decides what
	// our SYN offers and what our SYN-ACK may answer.
	if o.HasWindowScale && c.cfg.WindowScale >= 0 {
		c.set(fWindowScale)
		// RFC 7323 §2.3: a shift over 14 is taken as 14.
		c.sndScale = min(o.WindowScale, 14)
		c.rcvScale = uint8(c.cfg.WindowScale)
	} else {
		c.clear(fWindowScale)
		c.sndScale, c.rcvScale = 0, 0
	}
	if o.HasTimestamp && c.cfg.Timestamps {
		c.set(fTimestamps)
		c.tsRecent = o.TSVal
		c.tsRecentAt = now
	}
	if o.SACKPermitted && c.cfg.SACKPermitted {
		c.set(fSACK)
	}
	// RFC 9293 §3.7.1: without an MSS option assume 536 (RFC 1122
	// §4.2.2.6), or 1220 over IPv6 (RFC 8200 §8.3: 1280 less 60 bytes of
	// headers); send no more than our own route allows either.
	peer := uint16(536)
	if a := c.remote.Addr(); a.Is6() && !a.Is4In6() {
		peer = 1220
	}
	if o.MSS != 0 {
		peer = o.MSS
	}
	mss := min(peer, c.advMSS)
	if c.has(fTimestamps) {
		mss -= 12 // the timestamps option rides on every segment (RFC 6691 §3)
	}
	c.sndMSS = max(mss, 64)
}

// ackedSyn takes the RTT sample of the handshake and stops its timer once
// our SYN (or SYN-ACK) is acknowledged.
func (c *Conn) ackedSyn(now tick) {
	if c.rttAt != 0 && !c.has(fSynRetransmitted) {
		c.rttSample(time.Duration(now - c.rttAt))
	}
	c.rttAt = 0
	c.rtxAt = 0
	c.rtxStart = 0
	c.backoff = 0
}

// establish enters ESTABLISHED (RFC 9293 §3.10.7.3 and the SYN-RECEIVED
// part of §3.10.7.4).
func (c *Conn) establish(now tick) {
	c.setState(StateEstablished)
	c.events |= EventEstablished | EventWritable
	mss := uint32(c.sndMSS)
	// RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)) for the default of
	// 10 segments; the Config may choose another count.
	iw := uint32(c.cfg.InitialWindow) * mss
	if c.cfg.InitialWindow == 10 {
		iw = min(10*mss, max(2*mss, 14600))
	}
	c.cong = CongestionState{Cwnd: iw, Ssthresh: maxCwnd}
	if c.has(fSynRetransmitted) && c.srtt == 0 {
		c.rto = max(3*time.Second, c.cfg.MinRTO) // RFC 6298 §5.7
	}
	c.lastRecv = now
	c.recover = c.sndUna
	c.sndSml = c.sndUna
	if c.has(fKeepalive) {
		c.keepAt = now + tick(c.keepIdle())
	}
	if c.has(fFinQueued) {
		c.setState(StateFinWait1) // CloseWrite came during the handshake
	}
	if c.parent != nil {
		c.parent.established(c)
	}
}

// handleSynReceived: the third segment of the handshake (RFC 9293
// §3.10.7.4, fifth check, SYN-RECEIVED).
func (c *Conn) handleSynReceived(now tick, s *Segment) {
	if !(c.sndUna.LessThan(s.Ack) && s.Ack.LessThanEq(c.sndMax)) {
		c.emit(now, wire.FlagRST, s.Ack, nil) // <SEQ=SEG.ACK><CTL=RST>
		return
	}
	if c.parent != nil && c.parent.acceptQueueFull() {
		// Linux: with the accept queue full, drop the ACK and stay;
		// the SYN-ACK timer will offer the handshake again.
		c.cfg.Stats.ListenOverflows++
		c.cfg.Stats.ListenDrops++
		return
	}
	c.sndUna = s.Ack
	c.sndWnd = uint32(s.Window) << c.sndScale
	c.maxWnd = max(c.maxWnd, c.sndWnd)
	c.sndWl1, c.sndWl2 = s.Seq, s.Ack
	c.ackedSyn(now)
	c.establish(now)
	c.handleState(now, s) // continue as ESTABLISHED (or FIN-WAIT-1)
}

// handleEstablished processes a segment in ESTABLISHED.
func (c *Conn) handleEstablished(now tick, s *Segment) {
	if !c.processAck(now, s) {
		return
	}
	c.processText(now, s)
	c.processFin(now, s)
	c.trySend(now)
}

// handleFinWait1: our FIN is sent (or queued) but not acknowledged.
func (c *Conn) handleFinWait1(now tick, s *Segment) {
	if !c.processAck(now, s) {
		return
	}
	if c.has(fFinAcked) {
		c.enterFinWait2(now)
	}
	if c.abortOnData(now, s) {
		return
	}
	c.processText(now, s)
	c.processFin(now, s)
	c.trySend(now)
}

// handleFinWait2: our FIN is acknowledged; the peer may still send.
func (c *Conn) handleFinWait2(now tick, s *Segment) {
	if !c.processAck(now, s) {
		return
	}
	if c.abortOnData(now, s) {
		return
	}
	c.processText(now, s)
	c.processFin(now, s)
}

// handleCloseWait: the peer has finished sending; we may still send.
func (c *Conn) handleCloseWait(now tick, s *Segment) {
	if !c.processAck(now, s) {
		return
	}
	c.trySend(now)
}

// handleClosing: both FINs crossed (RFC 9293 Figure 13); waiting for the
// ACK of ours.
func (c *Conn) handleClosing(now tick, s *Segment) {
	if !c.processAck(now, s) {
		return
	}
	if c.has(fFinAcked) {
		c.enterTimeWait(now)
		return
	}
	c.trySend(now)
}

// handleLastAck: we closed after the peer; its ACK of our FIN ends it.
func (c *Conn) handleLastAck(now tick, s *Segment) {
	if !c.processAck(now, s) {
		return
	}
	if c.has(fFinAcked) {
		c.close(0)
		return
	}
	c.trySend(now)
}

func (c *Conn) enterFinWait2(now tick) {
	c.setState(StateFinWait2)
	c.rtxAt = 0
	if c.has(fOrphan) {
		// Nobody will read or write this connection again; do not let
		// a silent peer hold it forever (Linux tcp_fin_timeout).
		c.keepAt = now + tick(c.finWait2Timeout())
	} else {
		c.keepAt = 0
	}
}

func (c *Conn) enterTimeWait(now tick) {
	c.setState(StateTimeWait)
	c.rtxAt, c.delackAt = 0, 0
	c.keepAt = now + tick(2*c.cfg.MSL)
	c.sndBuf.release()
	c.ooo = nil
}

// abortOnData resets a connection that the application has closed for
// reading when new data arrives anyway: "If such a host issues a CLOSE
// call while received data is still pending in TCP, or if new data is
// received after CLOSE is called, its TCP SHOULD send a RST to show that
// data was lost" (RFC 1122 §4.2.2.13). Linux answers as if no connection
// existed, from the offending segment.
func (c *Conn) abortOnData(now tick, s *Segment) bool {
	if !c.has(fReadClosed) || len(s.Payload) == 0 {
		return false
	}
	c.cfg.Stats.AbortOnData++
	if r, ok := RSTFor(s, len(s.Payload)); ok {
		c.emit(now, r.Flags, r.Seq, nil)
	}
	c.close(syscall.ECONNRESET)
	return true
}

// processText is the seventh step of RFC 9293 §3.10.7.4: queue the
// segment's data (already trimmed to the window), in order or out of order,
// and decide when to acknowledge it.
func (c *Conn) processText(now tick, s *Segment) {
	n := len(s.Payload)
	if n == 0 {
		return
	}
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
	default:
		return // after the peer's FIN there is no more data
	}
	start := s.Seq
	end := start.Add(seq.Size(n))
	readSeq := c.rcvNxt - seq.Value(c.rcvBuf.len())
	c.rcvBuf.reserve(int(end.Sub(readSeq)))
	c.rcvBuf.writeAt(int(start.Sub(readSeq)), s.Payload)
	if n > int(c.rcvMSS) {
		c.rcvMSS = uint16(min(n, int(c.advMSS)))
	}
	first := !c.has(fGotData)
	c.set(fGotData)
	if len(c.ooo) > 0 {
		c.dsackOverlap(start, end) // RFC 2883 §4.1: part of it was here
	}
	if start != c.rcvNxt {
		// Out of order: hold it, and send a duplicate ACK at once
		// (RFC 5681 §4.2) so the sender can detect the loss.
		var ok bool
		c.ooo, ok = oooInsert(c.ooo, start, end, c.cfg.MaxOOORanges)
		if !ok {
			c.cfg.Stats.OOODrops++
			s.Flags &^= wire.FlagFIN
		}
		c.set(fAckNow)
		return
	}
	nxt := end
	filled := len(c.ooo) > 0
	if filled {
		c.ooo, nxt = oooAdvance(c.ooo, end)
		if len(c.ooo) == 0 {
			c.ooo = nil
		}
	}
	c.rcvBuf.commit(int(nxt.Sub(c.rcvNxt)))
	c.bytesReceived += uint64(nxt.Sub(c.rcvNxt))
	c.rcvNxt = nxt
	c.events |= EventReadable
	if filled {
		c.set(fAckNow) // RFC 5681 §4.2: ACK at once when a hole fills
		return
	}
	c.ackPolicy(now, first)
}

// ackPolicy decides how to acknowledge in-order data (RFC 1122 §4.2.3.2,
// RFC 5681 §4.2): at once while quick ACKs last (Linux starts each
// connection with up to 16 so the peer's slow start is not slowed by our
// delay), at once when more than one full-sized segment is unacknowledged
// ("at least every second full-sized segment"), otherwise after DelayedAck
// unless data leaves first and carries the ACK.
func (c *Conn) ackPolicy(now tick, first bool) {
	if first && c.cfg.QuickAcks > 0 {
		c.quick = uint8(min(c.cfg.QuickAcks, 255))
	}
	if c.quick > 0 && !c.has(fPingPong) {
		c.quick--
		c.set(fAckNow)
		return
	}
	if c.rcvNxt.Sub(c.lastAck) > seq.Size(c.rcvMSS) {
		c.set(fAckNow)
		return
	}
	if c.delackAt == 0 {
		c.delackAt = now + tick(c.cfg.DelayedAck)
	}
}

// processFin is the eighth step of RFC 9293 §3.10.7.4. A FIN is taken only
// in order: one that arrives early waits at rcvFin for the data before it.
func (c *Conn) processFin(now tick, s *Segment) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
	default:
		return
	}
	if s.Flags&wire.FlagFIN != 0 {
		at := s.Seq.Add(seq.Size(len(s.Payload)))
		if at != c.rcvNxt {
			c.rcvFin = at
			c.set(fOOOFin | fAckNow)
			return
		}
	} else if !c.has(fOOOFin) || c.rcvFin != c.rcvNxt {
		return
	}
	c.clear(fOOOFin)
	c.rcvNxt++
	c.set(fFinRcvd)
	if c.sack != nil {
		// Linux's tcp_fin resets its SACK state, D-SACK included:
		// the ACK of a FIN that came with old data reports none.
		c.sack.dsack = seqRange{}
	}
	c.events |= EventReadClosed | EventReadable
	switch c.state {
	case StateEstablished:
		c.setState(StateCloseWait)
		// Linux acknowledges this FIN after its delayed-ACK time, in
		// case the application answers with its own FIN at once; on a
		// connection that never carried data its ACK timeout is zero.
		if c.has(fGotData) {
			if c.delackAt == 0 {
				c.delackAt = now + tick(c.cfg.DelayedAck)
			}
		} else {
			c.set(fAckNow)
		}
	case StateFinWait1:
		if c.has(fFinAcked) {
			c.enterTimeWait(now)
		} else {
			c.setState(StateClosing) // simultaneous close (RFC 9293 Figure 13)
		}
		c.set(fAckNow)
	case StateFinWait2:
		c.enterTimeWait(now)
		c.set(fAckNow)
	}
}
