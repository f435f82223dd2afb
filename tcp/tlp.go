package tcp

import (
	"time"

	"berth/seq"
)

// Tail loss probe (RFC 8985 §7), as Linux runs it.
//
// When the last segments of a flight, or the ACKs for them, are lost, no
// duplicate ACK ever comes and only the retransmission timeout, at least
// MinRTO, would notice. Instead, a probe timeout (PTO) of about two
// round trips after the last transmission sends one segment: new data if
// the peer's window takes it, else the last segment again. Its ACK, with
// SACK blocks, starts ordinary fast recovery; a lost ACK is simply
// replaced. Only then does the RTO run.
//
// Like Linux (tcp_schedule_loss_probe), berth probes only on connections
// that negotiated SACK, outside recovery and timeout backoff, with at most
// one probe outstanding (RFC 8985 §7.3):
//
//	PTO = 2*SRTT + 2 ms            several segments in flight
//	PTO = 2*SRTT + MinRTO          one segment: the peer may delay its ACK
//	PTO = 1 s                      no RTT sample yet
//
// never later than the RTO would fire. If the probe was a retransmission
// and its ACK shows that it repaired a loss (no D-SACK says the original
// had arrived), the congestion window is reduced as fast recovery would
// have (§7.4.2).

// tlpMinSlack is Linux's TCP_TIMEOUT_MIN, the slack added to 2*SRTT when
// several segments are in flight.
const tlpMinSlack = 2 * time.Millisecond

// tlpAllowed reports whether a loss probe may be scheduled now. The timer
// is armed only in states that send (trySend's and ACK processing's), and
// the state is checked again when it fires.
func (c *Conn) tlpAllowed() bool {
	return c.flags&(fSACK|fRecovery|fTLPOut) == fSACK && c.backoff == 0 &&
		c.sndUna != c.sndMax && c.sndNxt == c.sndMax
}

// pto is the probe timeout (RFC 8985 §7.2, Linux's constants).
func (c *Conn) pto() time.Duration {
	if c.srtt == 0 {
		return time.Second
	}
	if c.sndMax.Sub(c.sndUna) <= seq.Size(c.sndMSS) {
		return 2*c.srtt + c.cfg.MinRTO
	}
	return 2*c.srtt + tlpMinSlack
}

// rtoDeadline is when the retransmission timer started at rtxStart
// expires, within the user timeout.
func (c *Conn) rtoDeadline(now tick) tick {
	at := c.rtxStart + tick(c.rto)
	if ut := c.userTimeout(); ut > 0 {
		at = min(at, c.rtxStart+tick(ut))
	}
	return max(at, now+1)
}

// rearmProbe moves the probe timer after new data went out (RFC 8985
// §7.2: "after transmitting new data"), within the RTO deadline.
func (c *Conn) rearmProbe(now tick) {
	if !c.tlpAllowed() {
		return
	}
	c.rtxAt = min(now+tick(c.pto()), c.rtoDeadline(now))
}

// sendProbe sends the loss probe when the PTO fires (RFC 8985 §7.3): one
// segment of new data if the peer's window takes all of it, whatever the
// congestion window, else the last segment sent. The RTO then runs from
// the first unacknowledged segment's transmission, as Linux's
// tcp_rearm_rto does.
func (c *Conn) sendProbe(now tick) {
	mss := c.segMSS()
	sb := c.sackState()
	c.set(fTLPOut)
	c.clear(fTLPRetrans | fTLPDSACK)
	end := c.sndEnd()
	sent := false
	if avail := end.Sub(c.sndNxt); c.sndNxt.LessThan(end) || (c.finPending() && c.sndNxt == end) {
		n := min(avail, mss)
		var wndLeft seq.Size
		if wndEnd := c.sndUna.Add(seq.Size(c.sndWnd)); c.sndNxt.LessThan(wndEnd) {
			wndLeft = wndEnd.Sub(c.sndNxt)
		}
		if n <= wndLeft && (n > 0 || c.sndNxt == end) {
			c.sendData(now, n, c.finPending() && c.sndNxt.Add(n) == end)
			sent = true
		}
	}
	if !sent {
		// The last segment sent, or its last SMSS bytes (Linux
		// fragments a larger one the same way).
		dataEnd := seq.Min(c.sndMax, end)
		s := seq.Max(c.sndLast, c.sndUna)
		if dataEnd.Sub(s) > mss || s.GreaterThan(dataEnd) {
			s = dataEnd - seq.Value(min(dataEnd.Sub(c.sndUna), mss))
		}
		n := dataEnd.Sub(s)
		c.retransmitAt(now, s, n)
		c.set(fTLPRetrans)
		if s == c.sndUna {
			c.rtxStart = now
		}
	}
	sb.tlpHigh = c.sndMax
	c.cfg.Stats.LossProbes++
	c.clear(fTLPArmed)
	c.rtxAt = c.rtoDeadline(now)
}

// tlpAck ends the probe episode once everything up to the probe is
// acknowledged (RFC 8985 §7.4). A retransmitted probe that no D-SACK
// showed to be a duplicate repaired a loss: reduce the congestion window
// as fast recovery would.
func (c *Conn) tlpAck(now tick) {
	if c.sndUna.LessThan(c.sack.tlpHigh) {
		return
	}
	c.clear(fTLPOut)
	if !c.has(fTLPRetrans) || c.has(fTLPDSACK) {
		return
	}
	c.cfg.Stats.LossProbeRecoveries++
	mss := uint32(c.sndMSS)
	c.cc.OnLoss(&c.cong, CongestionEvent{FlightSize: c.cong.Cwnd, MSS: mss,
		Now: time.Duration(now), SRTT: c.srtt})
	c.cong.Cwnd = max(c.cong.Ssthresh, mss)
}
