package tcp

import (
	"io"
	"net/netip"
	"syscall"
	"time"

	"berth/seq"
	"berth/wire"
)

// Write copies as much of p into the send buffer as fits and sends what the
// windows allow (RFC 9293 §3.10.2, SEND). It never blocks: with the buffer
// full it returns EWOULDBLOCK (EAGAIN) and reports EventWritable when room
// returns. Before the handshake completes the data is queued. After
// CloseWrite it returns EPIPE; after a reset, the reset's error.
func (c *Conn) Write(now time.Time, p []byte) (int, error) {
	switch c.state {
	case StateSynSent, StateSynReceived, StateEstablished, StateCloseWait:
		if c.has(fFinQueued) {
			return 0, syscall.EPIPE
		}
	default:
		if c.err != 0 {
			return 0, c.err
		}
		return 0, syscall.EPIPE
	}
	if len(p) == 0 {
		return 0, nil
	}
	room := c.sndBufSize() - c.sndBuf.len()
	if room <= 0 {
		c.set(fWriteBlocked)
		return 0, syscall.EWOULDBLOCK
	}
	n := min(len(p), room)
	if n < len(p) {
		c.set(fWriteBlocked)
	}
	c.sndBuf.reserve(c.sndBuf.len() + n)
	c.sndBuf.appendFrom(p[:n])
	c.trySend(c.cfg.tick(now))
	return n, nil
}

// Read copies received bytes into p (RFC 9293 §3.10.3, RECEIVE). It never
// blocks: with nothing to read it returns EWOULDBLOCK. After the peer's FIN
// and all data before it, it returns io.EOF; after a reset, the reset's
// error once the data that arrived before it is read (as Linux does).
// Reading opens the receive window; when it opens by enough, a window
// update goes out.
func (c *Conn) Read(now time.Time, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if n := c.rcvBuf.read(p); n > 0 {
		if c.rcvBuf.len() == 0 && len(c.ooo) == 0 {
			c.rcvBuf.release()
		}
		c.windowUpdate(c.cfg.tick(now))
		return n, nil
	}
	switch {
	case c.has(fFinRcvd) || c.has(fReadClosed):
		return 0, io.EOF
	case c.err != 0:
		return 0, c.err
	case c.state == StateClosed:
		return 0, io.EOF
	}
	return 0, syscall.EWOULDBLOCK
}

// windowUpdate sends an ACK after the application read, if the window can
// now open "a lot": at least twice what the peer currently sees, as Linux
// decides (tcp_cleanup_rbuf), and by at least the receiver SWS threshold
// of RFC 1122 §4.2.3.3 (which advertise applies).
func (c *Conn) windowUpdate(now tick) {
	switch c.state {
	case StateEstablished, StateFinWait1, StateFinWait2:
	default:
		return
	}
	if c.has(fFinRcvd) {
		return
	}
	buf := seq.Size(c.rcvBufSize())
	cur := c.rcvWnd()
	if 2*cur > buf {
		return
	}
	unread := min(seq.Size(c.rcvBuf.len()), buf)
	next := c.rcvDataEnd().Add(buf - unread).Sub(c.rcvNxt)
	next = min(next, seq.Size(0xffff)<<c.rcvScale) // what the field can say
	if next >= 2*cur && next-cur >= min(buf/2, seq.Size(c.advMSS)) {
		c.emitAck(now)
	}
}

// CloseWrite sends a FIN after the buffered data (RFC 9293 §3.10.4, CLOSE
// as half-close; shutdown(SHUT_WR)). The connection can still receive.
func (c *Conn) CloseWrite(now time.Time) error {
	t := c.cfg.tick(now)
	if c.has(fFinQueued) {
		return nil
	}
	switch c.state {
	case StateSynSent:
		// RFC 9293: "delete the TCB"; Linux sends nothing either.
		c.close(0)
		return nil
	case StateSynReceived:
		c.set(fFinQueued) // sent once the handshake completes
	case StateEstablished:
		c.set(fFinQueued)
		c.setState(StateFinWait1)
	case StateCloseWait:
		c.set(fFinQueued)
		c.setState(StateLastAck)
	case StateClosed:
		if c.err != 0 {
			return c.err
		}
		return syscall.ENOTCONN
	default:
		return nil
	}
	c.trySend(t)
	return nil
}

// CloseRead stops reading (shutdown(SHUT_RD)): Read returns io.EOF once
// the buffered bytes are gone. As in Linux, data that still arrives is
// acknowledged and buffered; only after a full Close does it reset.
func (c *Conn) CloseRead() {
	c.set(fReadClosed)
}

// Close is the application letting go (RFC 9293 §3.10.4, CLOSE; close(2)):
// the FIN follows the buffered data and the connection finishes on its own,
// then reports EventClosed. If received data was never read, or linger is
// zero, Close aborts with a RST instead (RFC 1122 §4.2.2.13, RFC 2525
// §2.17), so the peer learns that data was lost.
func (c *Conn) Close(now time.Time) {
	t := c.cfg.tick(now)
	c.set(fReadClosed | fOrphan)
	if c.state == StateClosed {
		c.rcvBuf.release() // nobody will read what a reset left behind
		return
	}
	if c.has(fLingerZero) {
		if c.abort(t) {
			c.cfg.Stats.AbortOnLinger++
		}
		return
	}
	if c.rcvBuf.len() > 0 {
		c.cfg.Stats.AbortOnClose++
		c.abort(t)
		return
	}
	switch c.state {
	case StateFinWait2:
		c.enterFinWait2(t)
	case StateSynSent, StateSynReceived, StateEstablished, StateCloseWait:
		c.CloseWrite(now)
	}
}

// Abort resets the connection (RFC 9293 §3.10.5, ABORT; close with linger
// 0): a RST to the peer in the states where it has a connection to lose,
// then CLOSED at once.
func (c *Conn) Abort(now time.Time) {
	c.set(fReadClosed | fOrphan)
	if c.abort(c.cfg.tick(now)) {
		c.cfg.Stats.AbortOnLinger++
	}
}

// abort closes at once, with a RST where the peer has a connection to
// lose; it reports whether it sent one.
func (c *Conn) abort(now tick) bool {
	rst := false
	switch c.state {
	case StateSynReceived, StateFinWait1, StateFinWait2:
		rst = true
	case StateEstablished, StateCloseWait:
		c.cfg.Stats.EstabResets++
		rst = true
	}
	if rst {
		c.emitReset(now)
	}
	c.close(0)
	return rst
}

// TakeEvents returns the events since the last call and clears them.
func (c *Conn) TakeEvents() Events {
	e := c.events
	c.events = 0
	return e
}

// State is the connection's RFC 9293 state.
func (c *Conn) State() State { return c.state }

// Err is why the connection closed: ECONNREFUSED, ECONNRESET or ETIMEDOUT;
// nil while it is open or after a clean close.
func (c *Conn) Err() error {
	if c.err == 0 {
		return nil
	}
	return c.err
}

// Local and Remote are the connection's addresses.
func (c *Conn) Local() netip.AddrPort  { return c.local }
func (c *Conn) Remote() netip.AddrPort { return c.remote }

// Listener is the listener that made this connection, until Accept hands
// it out; nil for connections made by Connect. The stack uses it to learn
// when a half-open connection it registered joins an accept queue
// (EventEstablished on the Conn, EventAcceptable on the Listener).
func (c *Conn) Listener() *Listener { return c.parent }

// SetNoDelay turns Nagle's algorithm off (true) or on (TCP_NODELAY).
func (c *Conn) SetNoDelay(now time.Time, on bool) {
	if on {
		c.set(fNoDelay)
		c.trySend(c.cfg.tick(now)) // Linux pushes pending data at once
	} else {
		c.clear(fNoDelay)
	}
}

// SetKeepAlive turns keep-alive probes on or off (SO_KEEPALIVE).
func (c *Conn) SetKeepAlive(now time.Time, on bool) {
	if !on {
		c.clear(fKeepalive)
		if c.state == StateEstablished || c.state == StateCloseWait {
			c.keepAt = 0
		}
		return
	}
	c.set(fKeepalive)
	if (c.state == StateEstablished || c.state == StateCloseWait) && c.keepAt == 0 {
		c.keepAt = c.cfg.tick(now) + tick(c.keepIdle())
	}
}

// SetKeepAliveParams sets TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT;
// zero keeps the Config's value.
func (c *Conn) SetKeepAliveParams(idle, intvl time.Duration, count int) {
	o := c.options()
	o.keepIdle, o.keepIntvl, o.keepCount = idle, intvl, count
}

// SetUserTimeout sets TCP_USER_TIMEOUT (RFC 5482): abort when sent data
// stays unacknowledged for d. Zero returns to the Config's value; negative
// turns it off.
func (c *Conn) SetUserTimeout(d time.Duration) {
	c.options().userTimeout = d
}

// SetLinger with linger zero makes Close abort with a RST (SO_LINGER
// {1, 0}). Other values behave as the default here; waiting for the data
// to drain is the socket layer's job, which watches State.
func (c *Conn) SetLinger(on bool, d time.Duration) {
	if on && d == 0 {
		c.set(fLingerZero)
	} else {
		c.clear(fLingerZero)
	}
}

// SetFinWait2Timeout sets how long a closed connection waits in FIN-WAIT-2
// (TCP_LINGER2). Zero returns to the Config's value.
func (c *Conn) SetFinWait2Timeout(d time.Duration) {
	c.options().finWait2Timeout = d
}

// SetSendBuffer and SetReceiveBuffer override the Config's buffer sizes
// (SO_SNDBUF, SO_RCVBUF). A receive buffer set after the handshake does
// not change the window scale already agreed.
func (c *Conn) SetSendBuffer(n int) { c.options().sndBuf = min(n, 1<<maxBlockShift) }

func (c *Conn) SetReceiveBuffer(n int) {
	c.options().rcvBuf = min(max(n, c.rcvBuf.len()), 1<<maxBlockShift)
}

// AcceptsNewSYN reports whether a SYN for this connection's 4-tuple may
// start a new connection although this one is in TIME-WAIT. RFC 9293 keeps
// the 4-tuple for 2*MSL; like Linux (and RFC 6191 with timestamps), berth
// lets a SYN through when it cannot be an old duplicate: its timestamp is
// newer than TS.Recent or, without timestamps, its sequence number lies
// beyond RCV.NXT. When it returns true the stack discards this Conn
// (Abort sends nothing in TIME-WAIT) and hands the SYN to the listener.
func (c *Conn) AcceptsNewSYN(seg *Segment) bool {
	if c.state != StateTimeWait || seg.Flags&(wire.FlagSYN|wire.FlagACK|wire.FlagRST) != wire.FlagSYN {
		return false
	}
	ok := false
	if c.has(fTimestamps) && seg.Options.HasTimestamp {
		if int32(seg.Options.TSVal-c.tsRecent) < 0 {
			return false // PAWS says old
		}
		ok = int32(seg.Options.TSVal-c.tsRecent) > 0
	}
	ok = ok || seg.Seq.GreaterThan(c.rcvNxt)
	if ok {
		c.cfg.Stats.TimeWaitRecycled++
	}
	return ok
}

// Info is a snapshot of a connection for the socket table (like Linux's
// tcp_info).
type Info struct {
	State            State
	RTT, RTTVar, RTO time.Duration
	Cwnd, Ssthresh   uint32 // bytes
	Retransmits      uint32 // segments retransmitted over the connection's life
	Backoff          int    // consecutive timeouts now
	SendQueue        int    // bytes buffered to send (unacknowledged and unsent)
	RecvQueue        int    // bytes received and not yet read
	Unacked          uint32 // bytes in flight
	SndMSS, AdvMSS   int    // payload per segment we send; MSS we advertised
	RcvMSS           int    // largest segment seen from the peer
	SndWScale        int    // shift applied to the peer's windows, -1 without scaling
	RcvWScale        int    // shift applied to ours, -1 without scaling
	Timestamps, SACK bool
	SndWnd, RcvWnd   uint32
	Congestion       string
	// Segments in and out (retransmissions too) and payload bytes the
	// peer acknowledged and we received in order, over the connection's
	// life (Linux's tcpi_segs_in, _segs_out, _bytes_acked,
	// _bytes_received).
	SegsIn, SegsOut           uint32
	BytesAcked, BytesReceived uint64
}

// Info returns the connection's current numbers.
func (c *Conn) Info() Info {
	in := Info{
		State: c.state, RTT: c.srtt, RTTVar: c.rttvar, RTO: c.rto,
		Cwnd: c.cong.Cwnd, Ssthresh: c.cong.Ssthresh,
		Retransmits: c.retrans, Backoff: int(c.backoff),
		SendQueue: c.sndBuf.len(), RecvQueue: c.rcvBuf.len(),
		SndMSS: int(c.sndMSS), AdvMSS: int(c.advMSS), RcvMSS: int(c.rcvMSS),
		SndWScale: -1, RcvWScale: -1,
		Timestamps: c.has(fTimestamps), SACK: c.has(fSACK),
		SndWnd: c.sndWnd, RcvWnd: uint32(c.rcvWnd()),
		Congestion: c.cc.Name(),
		SegsIn:     c.segsIn, SegsOut: c.segsOut,
		BytesAcked: c.bytesAcked, BytesReceived: c.bytesReceived,
	}
	if c.state.synchronized() {
		in.Unacked = uint32(c.sndMax.Sub(c.sndUna))
	}
	if c.has(fWindowScale) {
		in.SndWScale, in.RcvWScale = int(c.sndScale), int(c.rcvScale)
	}
	return in
}
