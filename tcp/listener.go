package tcp

import (
	"net/netip"
	"time"

	"berth/seq"
	"berth/wire"
)

// Listener is a socket in the LISTEN state (RFC 9293 §3.10.7.2): it answers
// SYNs, keeps the SYN queue and the accept queue, and hands established
// connections to Accept.
//
// Half-open connections are full Conns in SYN-RECEIVED. Input returns each
// new one and the stack registers it in its 4-tuple table like any other
// connection, so the rest of the handshake reaches the Conn directly. The
// SYN queue (half-open connections of this listener) is bounded by the
// backlog; when it is full, SynCookies answers further SYNs statelessly
// (RFC 4987 §3.6) and the returning ACK creates the connection. The accept
// queue is bounded by the backlog too: SYNs and final ACKs that would
// overflow it are dropped, as Linux drops them, for the peer to retry.
type Listener struct {
	cfg          *Config
	out          Output
	local        netip.AddrPort
	mss          int
	backlog      int
	half         map[*Conn]struct{} // the SYN queue
	queue        []*Conn            // the accept queue, oldest first
	events       Events
	lastOverflow tick // when the SYN queue last overflowed: cookies may come back
	closed       bool
}

// NewListener makes a listener on local (its address may be unspecified:
// Input learns the address each SYN was sent to). backlog bounds both
// queues; mss is the MSS to advertise, from the route MTU.
func NewListener(cfg *Config, local netip.AddrPort, backlog int, mss int, out Output) *Listener {
	return &Listener{
		cfg: cfg, out: out, local: local, mss: mss,
		backlog: max(backlog, 1),
		half:    make(map[*Conn]struct{}),
	}
}

// Local is the address the listener was made for.
func (l *Listener) Local() netip.AddrPort { return l.local }

// SetMSS changes the MSS advertised to later connections (TCP_MAXSEG on a
// listening socket).
func (l *Listener) SetMSS(mss int) { l.mss = mss }

// SetBacklog changes the bound of both queues (listen(2) called again).
func (l *Listener) SetBacklog(n int) { l.backlog = max(n, 1) }

// HalfOpen is the number of connections in the SYN queue; Pending the
// number waiting in the accept queue.
func (l *Listener) HalfOpen() int { return len(l.half) }
func (l *Listener) Pending() int  { return len(l.queue) }

// TakeEvents returns the listener's events since the last call
// (EventAcceptable) and clears them.
func (l *Listener) TakeEvents() Events {
	e := l.events
	l.events = 0
	return e
}

// Input handles a segment for the listening socket: one that matched no
// connection. remote is its source and localAddr its destination. It
// returns a new connection the stack must register under (localAddr,
// remote): a half-open one in SYN-RECEIVED, or, from a valid SYN cookie, an
// established one already in the accept queue. Otherwise nil.
func (l *Listener) Input(now time.Time, remote, localAddr netip.AddrPort, seg *Segment) *Conn {
	l.cfg.init(now)
	t := l.cfg.tick(now)
	st := l.cfg.Stats
	st.InSegs++
	if l.closed {
		return nil
	}
	f := seg.Flags
	switch {
	case f&wire.FlagRST != 0:
		return nil // "An incoming RST segment could not be valid ... ignore it"
	case f&wire.FlagACK != 0:
		if f&wire.FlagSYN == 0 && l.cfg.SynCookies && l.cookiesInUse(t) {
			c, handled := l.cookieAck(t, remote, localAddr, seg)
			if handled {
				return c
			}
		}
		// "Any acknowledgment is bad if it arrives on a connection
		// still in the LISTEN state": <SEQ=SEG.ACK><CTL=RST>.
		l.reply(localAddr, remote, Segment{Seq: seg.Ack, Flags: wire.FlagRST})
		return nil
	case f&wire.FlagSYN == 0:
		return nil // neither SYN nor RST nor ACK: drop
	}
	if len(l.queue) >= l.backlog {
		st.ListenOverflows++
		st.ListenDrops++
		return nil
	}
	if len(l.half) >= l.backlog {
		if l.cfg.SynCookies {
			l.sendCookie(t, remote, localAddr, seg)
		} else {
			st.ListenDrops++
		}
		return nil
	}
	return l.newHalfOpen(t, remote, localAddr, seg)
}

// mssFor is the MSS to advertise to remote. The listener's MSS is for its
// own family; a dual-stack IPv6 listener's IPv4 connections carry 20
// bytes of header less (40, not 60: RFC 6691) and advertise that much
// more, as Linux computes the MSS per connection.
func (l *Listener) mssFor(remote netip.AddrPort) int {
	if l.local.Addr().Is6() && !l.local.Addr().Is4In6() && remote.Addr().Unmap().Is4() {
		return l.mss + 20
	}
	return l.mss
}

// newHalfOpen makes the connection for an accepted SYN and sends the
// SYN-ACK (RFC 9293 §3.10.7.2, third check).
func (l *Listener) newHalfOpen(now tick, remote, local netip.AddrPort, seg *Segment) *Conn {
	c := newConn(l.cfg, local, remote, l.mssFor(remote), l.out)
	c.parent = l
	l.half[c] = struct{}{}
	c.state = StateSynReceived
	l.cfg.Stats.PassiveOpens++
	c.irs = seg.Seq
	c.rcvNxt = seg.Seq.Add(1)
	c.lastAck = c.rcvNxt
	c.rcvAdv = c.rcvNxt.Add(seq.Size(min(c.rcvBufSize(), 0xffff)))
	c.iss = l.cfg.isn(local, remote, now)
	c.sndUna, c.sndNxt, c.sndMax, c.recover = c.iss, c.iss.Add(1), c.iss.Add(1), c.iss
	c.takeSynOptions(now, seg)
	c.sndWnd = uint32(seg.Window) // a SYN's window is not scaled
	c.maxWnd = c.sndWnd
	c.sndWl1, c.sndWl2 = seg.Seq, c.iss
	c.emitSyn(now)
	c.rttAt, c.rttSeq = now, c.iss
	c.rtxStart = now
	c.rtxAt = now + tick(c.rto)
	return c
}

func (l *Listener) reply(local, remote netip.AddrPort, s Segment) {
	if s.Flags&wire.FlagRST != 0 {
		l.cfg.Stats.OutRsts++
	}
	l.cfg.Stats.OutSegs++
	l.cfg.seg = s
	l.out.SendSegment(local, remote, &l.cfg.seg)
}

func (l *Listener) acceptQueueFull() bool { return len(l.queue) >= l.backlog }

// established moves a connection of this listener to the accept queue.
func (l *Listener) established(c *Conn) {
	delete(l.half, c)
	l.queue = append(l.queue, c)
	l.events |= EventAcceptable
}

// forget drops a half-open connection that closed.
func (l *Listener) forget(c *Conn) { delete(l.half, c) }

// Accept takes the oldest established connection off the accept queue;
// nil if there is none. A connection reset while it waited is still handed
// out, as Linux does: its Read reports the reset.
func (l *Listener) Accept() *Conn {
	if len(l.queue) == 0 {
		return nil
	}
	c := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	if len(l.queue) == 0 {
		l.queue = nil
	}
	c.parent = nil
	return c
}

// Close stops listening. Half-open connections vanish silently (later
// segments for them meet RSTFor) and queued ones are reset, as Linux does.
// It returns every connection it closed, in no particular order, for the
// stack to remove from its table.
func (l *Listener) Close(now time.Time) []*Conn {
	if l.closed {
		return nil
	}
	l.closed = true
	var closed []*Conn
	for c := range l.half {
		c.parent = nil
		c.close(0)
		closed = append(closed, c)
	}
	for _, c := range l.queue {
		c.parent = nil
		c.Abort(now)
		closed = append(closed, c)
	}
	l.half, l.queue = nil, nil
	return closed
}
