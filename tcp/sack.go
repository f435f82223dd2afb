package tcp

import (
	"time"

	"berth/seq"
	"berth/wire"
)

// Selective acknowledgment (RFC 2018), duplicate SACKs (RFC 2883) and the
// SACK-based loss recovery of RFC 6675, for connections on which both ends
// sent SACK-permitted.
//
// As a receiver, every ACK reports the islands of the out-of-order queue,
// the most recently changed first, after a D-SACK block naming a duplicate
// segment that just arrived.
//
// As a sender, the scoreboard keeps the ranges the peer has SACKed above
// SND.UNA. With it:
//
//   - any ACK that SACKs new data counts as a duplicate ACK, even one that
//     rides on data or opens the window (RFC 6675 §2), and a duplicated
//     ACK does not count twice;
//   - a hole is lost once three islands, or more than two segments, are
//     SACKed above it (IsLost); loss recovery starts when the hole at
//     SND.UNA is lost (RFC 6675 §5);
//   - in recovery, what may be sent is cwnd less "pipe", the data
//     estimated to be in the network, and lost holes go first (NextSeg);
//   - a retransmission is lost when three segments sent after it are
//     SACKed while the hole it filled is still open (Linux's old
//     tcp_mark_lost_retrans), and goes again at once rather than after an
//     RTO;
//   - after a retransmission timeout, slow start resends only what is not
//     SACKed (as Linux does), unless the peer has reneged.
//
//	 SND.UNA  hole   [sacked]  hole  [sacked] [sacked] [sacked]   SND.MAX
//	---|-------------|#######|------|########|#######|########|-----|---
//	   \___ lost: three islands above ___/   \_ not lost _/
//
// The scoreboard is a short sorted list of ranges, bounded like the
// out-of-order queue (Config.MaxOOORanges); it lives behind a pointer that a
// connection allocates the first time it needs one.

// sackState is the SACK bookkeeping of one connection.
type sackState struct {
	// Sender.
	sacked  []seqRange // SACKed ranges above SND.UNA, sorted, disjoint
	highRxt seq.Value  // RFC 6675 HighRxt: this recovery retransmitted up to here
	rxtMark seq.Value  // SND.MAX when the segment at SND.UNA was last retransmitted
	tlpHigh seq.Value  // RFC 8985 §7: SND.MAX when the loss probe went out (fTLPOut)

	// Receiver: a duplicate to report in the next ACK (RFC 2883), if not
	// empty.
	dsack seqRange
}

func (c *Conn) sackState() *sackState {
	if c.sack == nil {
		c.sack = &sackState{}
	}
	return c.sack
}

// hasSACKed reports whether the scoreboard holds anything.
func (c *Conn) hasSACKed() bool { return c.sack != nil && len(c.sack.sacked) > 0 }

// --- Receiver ---

// sackOptLen is how many option bytes the SACK blocks of our next segment
// take. A data segment carries them too, so it holds that much less data:
// the peer's MSS bounds data and options together (RFC 6691 §2), and
// Linux's tcp_current_mss subtracts them the same way. Without this a
// full segment with SACK blocks outgrows the path MTU.
func (c *Conn) sackOptLen() seq.Size {
	if !c.has(fSACK) {
		return 0
	}
	k := len(c.ooo)
	if c.sack != nil && c.sack.dsack.start != c.sack.dsack.end {
		k++
	}
	if k == 0 {
		return 0
	}
	fit := (wire.TCPMaxOptionsLen - 4) / 8 // 4 blocks
	if c.has(fTimestamps) {
		fit = (wire.TCPMaxOptionsLen - 12 - 4) / 8 // 3 beside the timestamps
	}
	return seq.Size(4 + 8*min(k, fit))
}

// segMSS is the most data the next segment may carry: SMSS less its SACK
// blocks.
func (c *Conn) segMSS() seq.Size { return seq.Size(c.sndMSS) - c.sackOptLen() }

// setDSACK records [s, e) as a duplicate to report (RFC 2883 §4: the first
// block of the next ACK).
func (c *Conn) setDSACK(s, e seq.Value) {
	if !c.has(fSACK) || !s.LessThan(e) {
		return
	}
	c.sackState().dsack = seqRange{start: s, end: e}
}

// dsackOverlap records as a duplicate the first part of [s, e) that the
// out-of-order queue already holds.
func (c *Conn) dsackOverlap(s, e seq.Value) {
	if !c.has(fSACK) {
		return
	}
	for _, r := range c.ooo {
		if r.end.LessThanEq(s) {
			continue
		}
		if e.LessThanEq(r.start) {
			return
		}
		c.setDSACK(seq.Max(s, r.start), seq.Min(e, r.end))
		return
	}
}

// sackBlocks fills the SACK option of an ACK: a pending D-SACK first, then
// the islands of the out-of-order queue, the most recently changed first,
// so that the one holding the segment that triggered this ACK leads and
// the others repeat in turn (RFC 2018 §4). The wire layer writes as many
// as fit beside the other options (3 with timestamps).
func (c *Conn) sackBlocks(o *wire.TCPOptions) {
	n := 0
	if c.sack != nil && c.sack.dsack.start != c.sack.dsack.end {
		d := c.sack.dsack
		o.SACK[0] = wire.SACKBlock{Left: uint32(d.start), Right: uint32(d.end)}
		n = 1
		c.sack.dsack = seqRange{}
	}
	prev := ^uint32(0)
	for ; n < len(o.SACK); n++ {
		best := -1
		for i, r := range c.ooo {
			if r.stamp < prev && (best < 0 || r.stamp > c.ooo[best].stamp) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		r := c.ooo[best]
		o.SACK[n] = wire.SACKBlock{Left: uint32(r.start), Right: uint32(r.end)}
		prev = r.stamp
	}
	o.NumSACK = uint8(n)
}

// --- Sender ---

// takeSACK reads the SACK blocks of an acceptable ACK into the scoreboard
// (RFC 2018 §5 with RFC 6675's validity rules, as Linux's
// tcp_is_sackblock_valid). It returns how many bytes are newly SACKed, and
// whether the first block is a D-SACK (RFC 2883 §4: it lies below the
// cumulative ACK, or inside the second block).
func (c *Conn) takeSACK(s *Segment) (fresh seq.Size, dsack bool) {
	blocks := s.Options.SACK[:min(int(s.Options.NumSACK), len(s.Options.SACK))]
	lo := c.sndUna // what this ACK acknowledges cumulatively
	if s.Ack.GreaterThan(lo) {
		lo = s.Ack
	}
	for i, b := range blocks {
		l, r := seq.Value(b.Left), seq.Value(b.Right)
		if !l.LessThan(r) {
			continue
		}
		if i == 0 {
			inSecond := len(blocks) > 1 && seq.Value(blocks[1].Left).LessThanEq(l) &&
				r.LessThanEq(seq.Value(blocks[1].Right))
			if r.LessThanEq(s.Ack) || inSecond {
				dsack = true
				continue
			}
		}
		// Only what lies above the cumulative ACK and within what we
		// sent can be news. A block that reaches down to it would mean
		// the peer SACKs what it does not acknowledge: ignore it.
		if !lo.LessThan(l) || r.GreaterThan(c.sndMax) || r.Sub(l) > seq.Size(c.maxWnd)+1 {
			continue
		}
		fresh += c.sackInsert(l, r)
	}
	if dsack {
		c.cfg.Stats.DSACKsReceived++
	}
	return fresh, dsack
}

// sackInsert merges [l, r) into the scoreboard and returns how many of its
// bytes were not SACKed before.
func (c *Conn) sackInsert(l, r seq.Value) seq.Size {
	sb := c.sackState()
	before := sackedIn(sb.sacked, l, r)
	var ok bool
	sb.sacked, ok = oooInsert(sb.sacked, l, r, c.cfg.MaxOOORanges)
	if !ok {
		return 0 // a new island in a full list: forget it
	}
	return r.Sub(l) - before
}

// sackedIn counts the SACKed bytes in [a, b).
func sackedIn(list []seqRange, a, b seq.Value) seq.Size {
	var n seq.Size
	for _, r := range list {
		if r.end.LessThanEq(a) {
			continue
		}
		if b.LessThanEq(r.start) {
			break
		}
		n += seq.Min(b, r.end).Sub(seq.Max(a, r.start))
	}
	return n
}

// sackAdvance drops what the cumulative ACK has covered. A SACKed range that
// the new SND.UNA reaches but does not pass was SACKed and then not
// acknowledged with the data before it: the peer has reneged (thrown away
// out-of-order data it had reported, RFC 2018 §8), and the scoreboard is
// forgotten so that everything is sent again as needed.
func (c *Conn) sackAdvance() {
	sb := c.sack
	if sb == nil || len(sb.sacked) == 0 {
		return
	}
	k := 0
	for k < len(sb.sacked) && sb.sacked[k].end.LessThanEq(c.sndUna) {
		k++
	}
	if k > 0 {
		n := copy(sb.sacked, sb.sacked[k:])
		sb.sacked = sb.sacked[:n]
	}
	if len(sb.sacked) == 0 {
		return
	}
	if sb.sacked[0].start.LessThanEq(c.sndUna) {
		c.cfg.Stats.SACKReneging++
		sb.sacked = sb.sacked[:0]
	}
}

// lossEdge is RFC 6675's IsLost as a boundary: every hole below the
// returned sequence number is lost, because dupThresh islands or more than
// (dupThresh-1)*SMSS bytes are SACKed above it; holes above it are not. It
// returns SND.UNA when nothing is lost.
func (c *Conn) lossEdge() seq.Value {
	if c.sack == nil {
		return c.sndUna
	}
	list := c.sack.sacked
	mss := seq.Size(c.sndMSS)
	var bytes seq.Size
	for i := len(list) - 1; i >= 0; i-- {
		bytes += list[i].end.Sub(list[i].start)
		if len(list)-i >= dupThresh || bytes > (dupThresh-1)*mss {
			return list[i].start
		}
	}
	return c.sndUna
}

// sackedAbove counts the SACKed bytes at or above s.
func (c *Conn) sackedAbove(s seq.Value) seq.Size {
	if c.sack == nil {
		return 0
	}
	return sackedIn(c.sack.sacked, s, c.sndMax)
}

// pipe is RFC 6675's estimate of the bytes in the network during
// recovery: what is neither SACKed nor lost, plus what was retransmitted
// (SetPipe, counted in bytes over ranges instead of segment by segment).
func (c *Conn) pipe() seq.Size {
	list := c.sack.sacked
	edge := c.lossEdge()
	p := c.sndMax.Sub(edge) - sackedIn(list, edge, c.sndMax)
	if rxt := c.sack.highRxt; c.sndUna.LessThan(rxt) {
		p += rxt.Sub(c.sndUna) - sackedIn(list, c.sndUna, rxt)
	}
	return p
}

// flight is what counts against the congestion window: in SACK recovery
// pipe, otherwise the bytes from SND.UNA to SND.NXT that are not SACKed
// (which lets new data out as SACKs arrive, as RFC 6675 §5 (1) has it,
// and keeps slow start after a timeout from counting what it skips).
func (c *Conn) flight() seq.Size {
	f := c.sndNxt.Sub(c.sndUna)
	if !c.hasSACKed() {
		return f
	}
	if c.has(fRecovery) {
		return c.pipe()
	}
	return f - sackedIn(c.sack.sacked, c.sndUna, c.sndNxt)
}

// nextHole returns the first hole at or above from and below limit: its
// start and how much of it (at most one segment) to send. It is NextSeg's
// rule (1) with limit the loss edge, and rule (3) with limit the highest
// SACKed range.
func (c *Conn) nextHole(from, limit seq.Value) (seq.Value, seq.Size, bool) {
	s := seq.Max(from, c.sndUna)
	end := limit
	for _, r := range c.sack.sacked {
		if s.LessThan(r.start) {
			end = seq.Min(limit, r.start)
			break
		}
		s = seq.Max(s, r.end)
	}
	if !s.LessThan(end) {
		return s, 0, false
	}
	return s, min(end.Sub(s), c.segMSS()), true
}

// sackedRangeAt returns the end of the SACKed range holding s, and the start
// of the next one above s (SND.MAX if none), for a send from s that must
// not resend SACKed bytes.
func (c *Conn) sackedRangeAt(s seq.Value) (end seq.Value, in bool, next seq.Value) {
	next = c.sndMax
	for _, r := range c.sack.sacked {
		if s.LessThan(r.start) {
			return s, false, r.start
		}
		if s.LessThan(r.end) {
			return r.end, true, next
		}
	}
	return s, false, next
}

// enterSACKRecovery starts RFC 6675 loss recovery (§5 step 4): ssthresh
// and cwnd from the congestion controller, RecoveryPoint at SND.MAX, the
// segment at SND.UNA retransmitted at once; trySend sends the rest as pipe
// allows.
func (c *Conn) enterSACKRecovery(now tick) {
	mss := uint32(c.sndMSS)
	c.cc.OnLoss(&c.cong, CongestionEvent{FlightSize: uint32(c.sndMax.Sub(c.sndUna)), MSS: mss,
		Now: time.Duration(now), SRTT: c.srtt})
	c.cong.Cwnd = max(c.cong.Ssthresh, mss)
	c.recover = c.sndMax
	c.set(fRecovery)
	c.clear(fPartialAck | fTLPOut)
	c.cfg.Stats.FastRetransmits++
	if c.has(fTLPArmed) {
		c.clear(fTLPArmed) // no probes in recovery: the timer is the RTO
		c.rtxAt = c.rtoDeadline(now)
	}
	sb := c.sackState()
	sb.highRxt = c.sndUna
	s, n, ok := c.nextHole(c.sndUna, c.sndMax)
	if !ok {
		return
	}
	c.retransmitAt(now, s, n)
}

// sackRecoveryAck runs after an ACK in SACK recovery: a retransmission at
// SND.UNA that data sent after it has overtaken is lost, and goes again.
func (c *Conn) sackRecoveryAck(now tick) {
	sb := c.sack
	if sb == nil || !c.sndUna.LessThan(sb.highRxt) {
		return
	}
	if c.sackedAbove(sb.rxtMark) <= (dupThresh-1)*seq.Size(c.sndMSS) {
		return
	}
	if s, n, ok := c.nextHole(c.sndUna, c.sndMax); ok && s == c.sndUna {
		c.cfg.Stats.LostRetransmits++
		c.retransmitAt(now, s, n)
	}
}
