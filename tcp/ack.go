package tcp

import (
	"time"

	"berth/seq"
	"berth/wire"
)

// dupThresh is the duplicate ACK count that triggers fast retransmit
// (RFC 5681 §3.2).
const dupThresh = 3

// processAck is the fifth step of RFC 9293 §3.10.7.4 for synchronized
// states: validate the ACK, update the send window, take acknowledged data
// off the send buffer, and run RTT estimation and congestion control. It
// reports whether processing of the segment goes on.
//
//	   SND.UNA-MAX.SND.WND        SND.UNA               SND.NXT (sndMax)
//	--------|---------------------------|-----------------------|---------
//	  too old: challenge ACK  |  old: ignore  |  new: take it   | not sent: ACK, drop
//	        (RFC 5961 §5.2)
func (c *Conn) processAck(now tick, s *Segment) bool {
	ack := s.Ack
	limit := c.sndMax
	if c.has(fProbeOut) {
		limit++ // the peer took our zero-window probe
	}
	if ack.GreaterThan(limit) {
		// It acknowledges something not yet sent: "send an ACK, drop
		// the segment, and return" (rate-limited per RFC 5961 §5.2).
		c.challengeAck(now)
		return false
	}
	if ack.LessThan(c.sndUna - seq.Value(c.maxWnd)) {
		c.challengeAck(now) // RFC 5961 §5.2: blind injection guard
		return false
	}
	var sacked seq.Size
	var dsack bool
	if c.has(fSACK) && s.Options.NumSACK > 0 {
		sacked, dsack = c.takeSACK(s)
	}
	oldWnd := c.sndWnd
	// RFC 9293: update the window only from a segment newer than the
	// one it was last taken from (SND.WL1, SND.WL2), so that an old,
	// reordered segment cannot shrink it.
	if c.sndUna.LessThanEq(ack) &&
		(c.sndWl1.LessThan(s.Seq) || (c.sndWl1 == s.Seq && c.sndWl2.LessThanEq(ack))) {
		c.sndWnd = uint32(s.Window) << c.sndScale
		c.sndWl1, c.sndWl2 = s.Seq, ack
		c.maxWnd = max(c.maxWnd, c.sndWnd)
		if oldWnd == 0 && c.sndWnd > 0 && c.sndNxt == c.sndUna {
			// The window opened: the persist timer's backoff is
			// over; trySend takes it from here.
			c.backoff = 0
			c.rtxAt = 0
		}
	}
	switch {
	case ack.GreaterThan(c.sndUna):
		c.ackNewData(now, s)
	case ack != c.sndUna || c.sndMax == c.sndUna:
	case c.has(fSACK) && s.Options.NumSACK > 0:
		// With SACK, a duplicate ACK is one that SACKs new data
		// (RFC 6675 §2), whatever else it carries: in a transfer each
		// way most of them ride on data. A duplicated ACK is not one.
		if sacked > 0 {
			c.onDupAck(now)
		}
	case len(s.Payload) == 0 && s.Flags&(wire.FlagSYN|wire.FlagFIN) == 0 &&
		c.sndWnd == oldWnd && c.sndNxt != c.sndUna:
		// A duplicate ACK as RFC 5681 §2 defines it: nothing new,
		// same window, data outstanding (a window probe beyond a
		// closed window is not).
		c.onDupAck(now)
	}
	if c.has(fSACK) && (dsack || c.has(fRecovery|fTLPOut) || c.hasSACKed()) {
		c.afterSACK(now, dsack)
	}
	return true
}

// afterSACK finishes an ACK on a SACK connection: recovery starts once the
// segment at SND.UNA is lost by IsLost (RFC 6675 §5 (4)), a lost
// retransmission goes again, and a loss probe episode may end.
func (c *Conn) afterSACK(now tick, dsack bool) {
	if dsack && c.has(fTLPOut) {
		c.set(fTLPDSACK)
	}
	switch {
	case c.has(fRecovery):
		c.sackRecoveryAck(now)
	case c.hasSACKed() && c.sndUna.GreaterThanEq(c.recover) && c.sndNxt == c.sndMax &&
		c.lossEdge() != c.sndUna:
		c.enterSACKRecovery(now)
	}
	if c.has(fTLPOut) {
		c.tlpAck(now)
	}
}

// ackNewData handles SND.UNA < SEG.ACK =< SND.MAX.
func (c *Conn) ackNewData(now tick, s *Segment) {
	ack := s.Ack
	acked := ack.Sub(c.sndUna)
	data := acked
	if c.finPending() && ack == c.sndEnd().Add(1) {
		c.set(fFinAcked)
		data--
	}
	flightBefore := c.sndNxt.Sub(c.sndUna)
	c.sndBuf.discard(int(data))
	c.bytesAcked += uint64(data)
	c.sndUna = ack
	if c.sack != nil {
		c.sackAdvance()
	}
	if c.sndNxt.LessThan(ack) {
		c.sndNxt = ack // acknowledged beyond a rewind after a timeout
	}
	if c.sndMax.LessThan(ack) {
		c.sndMax = ack // the zero-window probe byte
	}
	c.clear(fProbeOut)

	// RTT (RFC 6298 §3 with Karn's rule; RFC 7323 §4.1 with timestamps,
	// which stay valid across retransmissions).
	if c.rttAt != 0 && ack.GreaterThan(c.rttSeq) {
		c.rttSample(time.Duration(now - c.rttAt))
		c.rttAt = 0
	} else if c.has(fTimestamps) && s.Options.HasTimestamp && s.Options.TSEcr != 0 {
		if d := int32(c.tsClock(now) - s.Options.TSEcr); d >= 0 {
			c.rttSample(time.Duration(d) * time.Millisecond)
		}
	}
	if c.backoff != 0 {
		c.backoff = 0
		if c.srtt != 0 {
			c.rto = c.computeRTO() // undo the backoff (RFC 6298 §5.7 note)
		}
	}

	mss := uint32(c.sndMSS)
	restartTimer := true
	if c.has(fRecovery) {
		if ack.GreaterThanEq(c.recover) {
			// Full acknowledgment (RFC 6582 §3.2 step 3): deflate to
			// min(ssthresh, max(FlightSize, SMSS) + SMSS) and leave.
			flight := uint32(c.sndMax.Sub(c.sndUna))
			c.cong.Cwnd = min(c.cong.Ssthresh, max(flight, mss)+mss)
			c.clear(fRecovery | fPartialAck)
			c.dupAcks = 0
		} else if c.has(fSACK) {
			// RFC 6675: the scoreboard, not the partial ACK, says
			// what to retransmit; trySend does it as pipe allows.
		} else {
			// Partial acknowledgment (step 4): the next hole is lost
			// too. Retransmit it, deflate by what was acknowledged,
			// add back one SMSS; restart the timer on the first
			// partial ACK only ("Impatient", §4).
			c.retransmitHead(now)
			c.cong.Cwnd -= min(uint32(data), c.cong.Cwnd)
			if uint32(data) >= mss {
				c.cong.Cwnd += mss
			}
			c.cong.Cwnd = max(c.cong.Cwnd, mss)
			restartTimer = !c.has(fPartialAck)
			c.set(fPartialAck)
		}
	} else {
		c.dupAcks = 0
		if c.cwndLimited(uint32(flightBefore)) {
			c.cc.OnAck(&c.cong, CongestionEvent{
				Acked: uint32(data), FlightSize: uint32(flightBefore), MSS: mss,
				Now: time.Duration(now), SRTT: c.srtt,
			})
			c.cong.Cwnd = min(c.cong.Cwnd, maxCwnd)
		}
	}

	// RFC 6298 §5.2, §5.3: stop the timer when everything is
	// acknowledged, restart it when new data is.
	if c.sndUna == c.sndMax {
		c.rtxAt = 0
		c.rtxStart = 0
		c.clear(fTLPArmed)
	} else if restartTimer {
		c.rtxStart = now
		c.armRetransmit(now)
	}
	if c.sndBuf.len() == 0 {
		c.sndBuf.release()
	}
	if c.has(fWriteBlocked) {
		// Wake a blocked writer once a useful amount is free, as
		// Linux's sk_stream_write_space does: free >= queued/2.
		if free := c.sndBufSize() - c.sndBuf.len(); free >= c.sndBuf.len()/2 && free > 0 {
			c.clear(fWriteBlocked)
			c.events |= EventWritable
		}
	}
}

// cwndLimited reports whether the congestion window was in use when this
// ACK arrived, so an application-limited sender does not grow a window it
// never tests (RFC 7661 §4.5's concern; Linux tcp_is_cwnd_limited).
func (c *Conn) cwndLimited(flight uint32) bool {
	if c.cong.Cwnd < c.cong.Ssthresh {
		return 2*flight >= c.cong.Cwnd
	}
	return flight+uint32(c.sndMSS) >= c.cong.Cwnd
}

// onDupAck counts duplicate ACKs: fast retransmit on the third, and NewReno
// fast recovery (RFC 5681 §3.2, RFC 6582 §3.2).
func (c *Conn) onDupAck(now tick) {
	if c.dupAcks < 255 {
		c.dupAcks++
	}
	mss := uint32(c.sndMSS)
	if c.has(fRecovery) {
		if !c.has(fSACK) {
			c.cong.Cwnd += mss // step 4: each further dup ACK means a segment left the network
		}
		return
	}
	// Step 2 of RFC 6582: only if this loss is not part of a recovery
	// already handled (SND.UNA past "recover").
	if c.dupAcks != dupThresh || c.sndUna.LessThan(c.recover) {
		return
	}
	if c.has(fSACK) {
		if c.sndNxt == c.sndMax {
			c.enterSACKRecovery(now)
		}
		return
	}
	flight := uint32(c.sndMax.Sub(c.sndUna))
	c.cc.OnLoss(&c.cong, CongestionEvent{FlightSize: flight, MSS: mss, Now: time.Duration(now), SRTT: c.srtt})
	c.recover = c.sndMax
	c.set(fRecovery)
	c.clear(fPartialAck)
	c.cfg.Stats.FastRetransmits++
	c.retransmitHead(now)
	c.cong.Cwnd = c.cong.Ssthresh + 3*mss
}

// rttSample feeds one measurement into the RFC 6298 §2 estimator.
func (c *Conn) rttSample(r time.Duration) {
	r = max(r, time.Microsecond)
	if c.srtt == 0 {
		c.srtt = r
		c.rttvar = r / 2
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	c.rto = c.computeRTO()
}

// computeRTO is RTO = SRTT + max(G, 4*RTTVAR) (RFC 6298 §2.3), bounded by
// MinRTO and MaxRTO. G is taken to be MinRTO, which is Linux's formula: a
// steady, low-variance path still gets SRTT plus the minimum as slack.
func (c *Conn) computeRTO() time.Duration {
	rto := c.srtt + max(c.cfg.MinRTO, 4*c.rttvar)
	return min(max(rto, c.cfg.MinRTO), c.cfg.MaxRTO)
}
