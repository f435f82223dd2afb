package tcp

import (
	"syscall"
	"time"

	"berth/seq"
	"berth/wire"
)

// pawsIdle is how long TS.Recent stays trustworthy without being refreshed
// (RFC 7323 §5.5: 24 days, well inside half the range of a 1 ms clock).
const pawsIdle = tick(24 * 24 * time.Hour)

// Input processes a segment that arrived for this connection (RFC 9293
// §3.10.7, SEGMENT ARRIVES). seg and its payload are only read, and only
// during the call.
func (c *Conn) Input(now time.Time, seg *Segment) {
	t := c.cfg.tick(now)
	c.cfg.Stats.InSegs++
	c.segsIn++
	switch c.state {
	case StateClosed, StateListen:
		// No connection: the stack answers with RSTFor once it has
		// removed this Conn from its table.
		return
	case StateSynSent:
		c.handleSynSent(t, seg)
		return
	}
	c.input(t, seg)
}

// input is Input for a synchronized or SYN-RECEIVED connection.
func (c *Conn) input(now tick, seg *Segment) {
	s := *seg
	if c.checkIncoming(now, &s) {
		c.handleState(now, &s)
	}
	if c.has(fAckNow) && c.state != StateClosed {
		c.emitAck(now)
	}
}

// handleState is the one switch: a handler per state for segments that have
// passed the checks common to all of them.
func (c *Conn) handleState(now tick, s *Segment) {
	switch c.state {
	case StateSynReceived:
		c.handleSynReceived(now, s)
	case StateEstablished:
		c.handleEstablished(now, s)
	case StateFinWait1:
		c.handleFinWait1(now, s)
	case StateFinWait2:
		c.handleFinWait2(now, s)
	case StateCloseWait:
		c.handleCloseWait(now, s)
	case StateClosing:
		c.handleClosing(now, s)
	case StateLastAck:
		c.handleLastAck(now, s)
	case StateTimeWait:
		// Only the peer's FIN can usefully arrive here, and a
		// retransmitted FIN lies before RCV.NXT: checkIncoming has
		// answered it. Anything else in the window needs nothing.
	}
}

// acceptable is the segment acceptability test of RFC 9293 §3.10.7.4:
//
//	Segment Length  Receive Window  Test
//	--------------  --------------  -------------------------------------------
//	      0               0         SEG.SEQ = RCV.NXT
//	      0              >0         RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	     >0               0         not acceptable
//	     >0              >0         RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	                                or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
//
// plus two cases the table misses. A segment that starts before the window
// and ends after it still carries acceptable bytes in the middle. And a
// segment of length 0 at exactly RCV.NXT+RCV.WND is acceptable, as Linux's
// tcp_sequence has it (SEG.SEQ =< RCV.NXT+RCV.WND); the table's first row
// says as much for a closed window.
//
// The second case matters in a transfer each way at once. A peer that has
// sent all our window allows has SND.NXT at our right edge, and each bare
// ACK it sends carries SEQ=SND.NXT:
//
//	  RCV.NXT     (hole)     [ held out of order ]  RCV.NXT+RCV.WND
//	----|-------------------|#######################|----
//	                                                ^ the peer's SND.NXT,
//	                                                  SEQ of its bare ACKs
//
// While the hole holds RCV.NXT back, the edge cannot move, and the strict
// test drops all of those ACKs. When both ends get there at once, neither
// learns what the other received: each retransmits its first unacknowledged
// segment, which the other already has, rejects the answer, and both back
// off until they give up.
func acceptable(sq seq.Value, n seq.Size, nxt seq.Value, wnd seq.Size) bool {
	if n == 0 {
		return sq == nxt.Add(wnd) || sq.InWindow(nxt, wnd)
	}
	if wnd == 0 {
		return false
	}
	last := sq.Add(n - 1)
	return sq.InWindow(nxt, wnd) || last.InWindow(nxt, wnd) ||
		(sq.LessThan(nxt) && last.GreaterThanEq(nxt.Add(wnd)))
}

// checkIncoming runs the checks RFC 9293 §3.10.7.4 makes, in its order, for
// every state from SYN-RECEIVED on: PAWS (RFC 7323 §5.3, which goes first),
// sequence acceptability, RST (with RFC 5961 §3.2), SYN (RFC 5961 §4) and the
// presence of ACK. It trims the segment to the window, and reports whether
// the state's handler should see it.
func (c *Conn) checkIncoming(now tick, s *Segment) bool {
	rst := s.Flags&wire.FlagRST != 0
	syn := s.Flags&wire.FlagSYN != 0

	if c.state == StateSynReceived && syn && !rst && s.Seq == c.irs {
		if s.Flags&wire.FlagACK != 0 && c.has(fActiveOpen) {
			// Simultaneous open (RFC 9293 Figure 7, line 6): the
			// peer's SYN-ACK repeats the SYN we have; its ACK is news.
			s.Flags &^= wire.FlagSYN
			s.Seq++
			syn = false
		} else if s.Flags&wire.FlagACK == 0 {
			// The peer sent its SYN again: our SYN-ACK was lost.
			c.emitSyn(now)
			c.countRetrans()
			return false
		}
	}

	// PAWS (RFC 7323 §5.3 R1): a timestamp older than TS.Recent marks an
	// old duplicate. Segments without a timestamp are let through, as
	// Linux does, rather than dropped as §3.2 allows.
	if c.has(fTimestamps) && s.Options.HasTimestamp && !rst && c.tsRecentAt != 0 &&
		int32(s.Options.TSVal-c.tsRecent) < 0 {
		if now-c.tsRecentAt > pawsIdle {
			c.tsRecentAt = 0 // §5.5: TS.Recent is too old to judge by
		} else {
			c.cfg.Stats.PAWSDrops++
			c.ackOutOfWindow(now, s)
			return false
		}
	}

	n := s.Len()
	wnd := c.rcvWnd()
	if !acceptable(s.Seq, n, c.rcvNxt, wnd) {
		if rst {
			return false
		}
		if s.Seq == c.rcvNxt.Add(wnd) && !syn {
			// At the right edge (RCV.NXT itself when the window is
			// closed): "If the RCV.WND is zero, no segments will be
			// acceptable, but special allowance should be made to
			// accept valid ACKs, URGs, and RSTs". Keep the ACK, drop
			// what lies beyond the window (a window probe), and answer
			// with our window. A bare FIN at RCV.NXT takes no buffer
			// space and is kept, as Linux keeps it; beyond a hole it
			// would lie outside the window and goes.
			if len(s.Payload) > 0 || (wnd > 0 && s.Flags&wire.FlagFIN != 0) {
				s.Payload = nil
				s.Flags &^= wire.FlagFIN
				c.set(fAckNow)
			}
		} else {
			if c.state == StateTimeWait && s.Flags&wire.FlagFIN != 0 && s.Seq.Add(n) == c.rcvNxt {
				// A retransmitted FIN: our ACK was lost. ACK it
				// again and restart the 2 MSL timeout (RFC 9293
				// §3.10.7.4, TIME-WAIT).
				c.keepAt = now + tick(2*c.cfg.MSL)
			}
			c.ackOutOfWindow(now, s)
			return false
		}
	}

	if rst {
		// RFC 5961 §3.2: only a RST at exactly RCV.NXT resets; one
		// elsewhere in the window may be forged and earns a challenge
		// ACK, which a real peer answers with an exact RST.
		if s.Seq == c.rcvNxt {
			c.onReset()
		} else {
			c.challengeAck(now)
		}
		return false
	}

	if syn {
		if c.state == StateSynReceived && !c.has(fActiveOpen) {
			// RFC 9293 §3.10.7.4 fourth check: a passive
			// SYN-RECEIVED connection returns to LISTEN.
			c.close(0)
			return false
		}
		// RFC 5961 §4: a SYN in a synchronized state, whatever its
		// sequence number, gets a challenge ACK and is dropped.
		c.challengeAck(now)
		return false
	}

	if len(s.Payload) > 0 && s.Seq.LessThan(c.rcvNxt) && !syn {
		// Its head we had already (RFC 2883 §4.1).
		c.setDSACK(s.Seq, c.rcvNxt)
	}
	c.trim(s)

	if s.Flags&wire.FlagACK == 0 {
		return false // RFC 9293: "if the ACK bit is off, drop the segment"
	}

	// RFC 7323 §4.3 (2): remember the timestamp of the segment that
	// begins at or before what we last acknowledged.
	if c.has(fTimestamps) && s.Options.HasTimestamp && s.Seq.LessThanEq(c.lastAck) &&
		(int32(s.Options.TSVal-c.tsRecent) >= 0 || c.tsRecentAt == 0) {
		c.tsRecent = s.Options.TSVal
		c.tsRecentAt = now
	}
	if len(s.Payload) > 0 && c.lastRecv != 0 && now-c.lastRecv > tick(c.rto) && c.cfg.QuickAcks > 0 {
		// Data after a long silence: acknowledge quickly again, so the
		// peer's restarted slow start is not held back (Linux).
		c.quick = uint8(min(c.cfg.QuickAcks, 255))
	}
	c.lastRecv = now
	c.probes = 0
	return true
}

// trim cuts an acceptable segment to the window: bytes before RCV.NXT were
// received already, bytes beyond RCV.NXT+RCV.WND are not allowed yet
// (RFC 9293 §3.10.7.4: "only the new parts are processed").
func (c *Conn) trim(s *Segment) {
	if s.Seq.LessThan(c.rcvNxt) {
		d := c.rcvNxt.Sub(s.Seq)
		if s.Flags&wire.FlagSYN != 0 {
			s.Flags &^= wire.FlagSYN
			s.Seq++
			d--
		}
		k := min(d, seq.Size(len(s.Payload)))
		s.Payload = s.Payload[k:]
		s.Seq = s.Seq.Add(k)
		if d > k {
			s.Flags &^= wire.FlagFIN // the FIN is old too
		}
	}
	var room seq.Size
	if s.Seq.LessThan(c.rcvAdv) {
		room = c.rcvAdv.Sub(s.Seq)
	}
	if seq.Size(len(s.Payload)) > room {
		s.Payload = s.Payload[:room]
		s.Flags &^= wire.FlagFIN
	}
}

// rateLimited reports whether an unsolicited ACK must be skipped because
// one went out less than ChallengeAckInterval ago (RFC 5961 §7), and
// records this one otherwise.
func (c *Conn) rateLimited(now tick) bool {
	if c.lastOOW != 0 && now-c.lastOOW < tick(c.cfg.ChallengeAckInterval) {
		return true
	}
	c.lastOOW = now
	return false
}

// challengeAck sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> in answer to a
// suspicious RST, SYN or ACK (RFC 5961 §3.2, §4.2, §5.2), rate-limited.
func (c *Conn) challengeAck(now tick) {
	if c.rateLimited(now) {
		return
	}
	c.cfg.Stats.ChallengeAcks++
	c.emitAck(now)
}

// ackOutOfWindow answers an unacceptable segment with an ACK (RFC 9293
// §3.10.7.4). Segments that carry data are always answered, so the peer
// learns where we are; bare ACKs are rate-limited, as Linux does, so two
// confused endpoints cannot ACK each other forever.
func (c *Conn) ackOutOfWindow(now tick, s *Segment) {
	if s.Flags&wire.FlagRST != 0 {
		return
	}
	hasData := len(s.Payload) > 0 || s.Flags&wire.FlagFIN != 0
	if !hasData && c.rateLimited(now) {
		return
	}
	if len(s.Payload) > 0 && s.Seq.LessThan(c.rcvNxt) {
		// Data we had already: say so with a D-SACK (RFC 2883 §4.1).
		c.setDSACK(s.Seq, seq.Min(s.Seq.Add(seq.Size(len(s.Payload))), c.rcvNxt))
	}
	c.emitAck(now)
}

// onReset handles an acceptable RST (RFC 9293 §3.10.7.4, second check).
func (c *Conn) onReset() {
	switch c.state {
	case StateSynReceived:
		if c.has(fActiveOpen) {
			c.close(syscall.ECONNREFUSED)
		} else {
			c.close(0) // back to LISTEN: the listener lives on
		}
	case StateEstablished, StateCloseWait:
		c.cfg.Stats.EstabResets++
		c.close(syscall.ECONNRESET)
	case StateFinWait1, StateFinWait2:
		c.close(syscall.ECONNRESET)
	default: // CLOSING, LAST-ACK, TIME-WAIT
		c.close(0)
	}
}
