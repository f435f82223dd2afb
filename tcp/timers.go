package tcp

import (
	"time"

	"berth/seq"
	"berth/wire"
)

// A connection has three timers, each a tick (0 = off):
//
//	rtxAt     retransmission (RFC 6298), SYN and SYN-ACK retransmission,
//	          or the persist timer when data waits on a closed window
//	          and nothing is in flight (RFC 9293 §3.8.6.1)
//	delackAt  the delayed ACK (RFC 1122 §4.2.3.2)
//	keepAt    keep-alive (RFC 1122 §4.2.3.6), the FIN-WAIT-2 timeout of a
//	          closed connection, or the end of TIME-WAIT (2*MSL)
//
// They never overlap in meaning: which one rtxAt is follows from whether
// anything is in flight, and keepAt's from the state.

// Deadline is the next instant at which the connection needs a Tick; the
// zero Time if it needs none.
func (c *Conn) Deadline() time.Time {
	t := c.rtxAt
	for _, u := range [...]tick{c.delackAt, c.keepAt} {
		if u != 0 && (t == 0 || u < t) {
			t = u
		}
	}
	if t == 0 {
		return time.Time{}
	}
	return c.cfg.time(t)
}

// Tick fires the timers that are due at now. Calling it early or often is
// harmless.
func (c *Conn) Tick(now time.Time) {
	t := c.cfg.tick(now)
	if c.delackAt != 0 && t >= c.delackAt {
		c.delackAt = 0
		if c.state.synchronized() || c.state == StateSynReceived {
			c.cfg.Stats.DelayedAcks++
			// The application did not answer within the delay:
			// not interactive after all (Linux leaves pingpong).
			c.clear(fPingPong)
			c.emitAck(t)
		}
	}
	if c.rtxAt != 0 && t >= c.rtxAt {
		c.rtxAt = 0
		probe := c.has(fTLPArmed)
		c.clear(fTLPArmed)
		switch {
		case !probe:
			c.onRetransmitTimer(t)
		case c.tlpAllowed() && c.canSend() && !c.userTimeoutExpired(t, c.rtxStart):
			c.sendProbe(t)
		case c.rtoDeadline(t) > t+1:
			// No probe is due any more (recovery began): the timer
			// is the RTO again.
			c.rtxAt = c.rtoDeadline(t)
		default:
			c.onRetransmitTimer(t)
		}
	}
	if c.keepAt != 0 && t >= c.keepAt {
		c.keepAt = 0
		c.onStateTimer(t)
	}
}

// armRetransmit starts the retransmission timer for RTO from now, but not
// past the user timeout (Linux clamps the same way, so the connection is
// given up on time). Where a tail loss probe is allowed, the timer is the
// probe's, no later than the RTO (tlp.go).
func (c *Conn) armRetransmit(now tick) {
	if c.rtxStart == 0 {
		c.rtxStart = now
	}
	at := now + tick(c.rto)
	if ut := c.userTimeout(); ut > 0 {
		at = min(at, c.rtxStart+tick(ut))
		at = max(at, now+1)
	}
	c.rtxAt = at
	c.clear(fTLPArmed)
	if c.tlpAllowed() {
		c.rtxAt = min(at, now+tick(c.pto()))
		c.set(fTLPArmed)
	}
}

// backedOff is the RTO doubled k times, at most MaxRTO.
func (c *Conn) backedOff(k uint8) time.Duration {
	d := c.rto
	for i := uint8(0); i < k && d < c.cfg.MaxRTO; i++ {
		d *= 2
	}
	return min(d, c.cfg.MaxRTO)
}

func (c *Conn) userTimeoutExpired(now tick, since tick) bool {
	ut := c.userTimeout()
	return ut > 0 && since != 0 && now-since >= tick(ut)
}

func (c *Conn) onRetransmitTimer(now tick) {
	switch c.state {
	case StateSynSent, StateSynReceived:
		limit := c.cfg.SynRetries
		if c.state == StateSynReceived {
			limit = c.cfg.SynAckRetries
		}
		if int(c.backoff) >= limit || c.userTimeoutExpired(now, c.rtxStart) {
			c.cfg.Stats.AbortOnTimeout++
			c.close(c.timeoutErr())
			return
		}
		c.backoff++
		c.cfg.Stats.Timeouts++
		c.rto = min(2*c.rto, c.cfg.MaxRTO)
		c.set(fSynRetransmitted)
		c.rttAt = 0
		c.emitSyn(now)
		c.countRetrans()
		c.rtxAt = now + tick(c.rto)
		return
	}
	if !c.canSend() {
		return
	}
	if c.sndNxt == c.sndUna {
		c.onPersist(now)
		return
	}
	// Retransmission timeout (RFC 6298 §5.4-5.6, RFC 5681 §3.1).
	if c.userTimeoutExpired(now, c.rtxStart) || int(c.backoff) >= c.cfg.Retries {
		c.cfg.Stats.AbortOnTimeout++
		c.close(c.timeoutErr())
		return
	}
	c.cfg.Stats.Timeouts++
	mss := uint32(c.sndMSS)
	if c.backoff == 0 {
		// Equation (4) of RFC 5681 applies on the first timeout of a
		// segment; later ones leave ssthresh alone.
		c.cc.OnLoss(&c.cong, CongestionEvent{
			FlightSize: uint32(c.sndMax.Sub(c.sndUna)), MSS: mss,
			Now: time.Duration(now), SRTT: c.srtt,
		})
	}
	c.cong.Cwnd = mss // the loss window
	c.cong.AckedBytes = 0
	c.recover = c.sndMax // RFC 6582 §3.2 step 2 after a timeout
	c.clear(fRecovery | fPartialAck | fTLPOut)
	c.dupAcks = 0
	c.rttAt = 0 // Karn
	if c.backoff < 255 {
		c.backoff++
	}
	c.rto = min(2*c.rto, c.cfg.MaxRTO) // RFC 6298 §5.5
	// Go back to SND.UNA: everything in flight is presumed lost, and
	// slow start resends it as ACKs return.
	c.sndNxt = c.sndUna
	c.trySend(now)
}

// onPersist probes a closed window (RFC 9293 §3.8.6.1, RFC 1122
// §4.2.2.17): one byte of new data beyond the window, repeated with
// exponential backoff for as long as the peer keeps answering. If the
// window is open but too small for sender SWS avoidance, the timer is the
// "override timeout" of RFC 1122 §4.2.3.4 and what fits is sent.
func (c *Conn) onPersist(now tick) {
	end := c.sndEnd()
	if !c.sndNxt.LessThan(end) {
		return
	}
	if c.userTimeoutExpired(now, c.lastRecv) || int(c.probes) >= c.cfg.Retries {
		c.cfg.Stats.AbortOnTimeout++
		c.close(c.timeoutErr())
		return
	}
	if c.probes < 255 {
		c.probes++ // unanswered; any acceptable segment clears it
	}
	if c.backoff < 255 {
		c.backoff++ // the probe interval; cleared when the window opens
	}
	var wndLeft seq.Size
	if wndEnd := c.sndUna.Add(seq.Size(c.sndWnd)); c.sndNxt.LessThan(wndEnd) {
		wndLeft = wndEnd.Sub(c.sndNxt)
	}
	if wndLeft > 0 {
		n := min(end.Sub(c.sndNxt), wndLeft, c.segMSS())
		c.sendData(now, n, false)
		return
	}
	c.cfg.Stats.PersistProbes++
	off := int(c.sndNxt.Sub(c.sndBase()))
	c.emit(now, wire.FlagACK, c.sndNxt, c.sndBuf.peek(off, 1, c.cfg.scratchFor(1)))
	// The probe byte counts as sent only if the peer takes it: until
	// then it must not move sndMax, which pure ACKs carry as SND.NXT.
	if c.sndNxt == c.sndMax {
		c.set(fProbeOut)
	} else {
		c.countRetrans()
	}
	c.rtxAt = now + tick(c.backedOff(c.backoff))
}

// onStateTimer fires keepAt: the end of TIME-WAIT, the FIN-WAIT-2 timeout,
// or a keep-alive.
func (c *Conn) onStateTimer(now tick) {
	switch c.state {
	case StateTimeWait, StateFinWait2:
		c.close(0)
	case StateEstablished, StateCloseWait:
		c.onKeepalive(now)
	}
}

// onKeepalive sends a keep-alive probe when the connection has been idle
// for KeepIdle (RFC 1122 §4.2.3.6): <SEQ=SND.NXT-1><ACK=RCV.NXT>, which
// the peer must answer with an ACK. After KeepCount unanswered probes the
// connection is dead; Linux resets it.
func (c *Conn) onKeepalive(now tick) {
	if !c.has(fKeepalive) {
		return
	}
	idle := tick(c.keepIdle())
	if c.sndMax != c.sndUna || c.sndBuf.len() > 0 {
		// Data outstanding: the retransmission timer watches the peer.
		c.keepAt = now + idle
		return
	}
	if since := now - c.lastRecv; since < idle && c.probes == 0 {
		c.keepAt = c.lastRecv + idle
		return
	}
	if int(c.probes) >= c.keepCount() {
		c.cfg.Stats.AbortOnTimeout++
		c.emitReset(now)
		c.close(c.timeoutErr())
		return
	}
	c.probes++
	c.cfg.Stats.KeepaliveProbes++
	c.emit(now, wire.FlagACK, c.sndMax-1, nil)
	c.keepAt = now + tick(c.keepIntvl())
}
