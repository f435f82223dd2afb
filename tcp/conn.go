package tcp

import (
	"net/netip"
	"syscall"
	"time"

	"berth/seq"
)

// Conn is one TCP connection: the transmission control block of RFC 9293
// §3.3.1 and the state machine around it.
//
// A Conn is a pure state machine. It has no goroutines, locks, clocks or
// I/O: the stack hands it segments (Input), application calls (Read, Write,
// Close...) and the time (every call takes `now`), and it answers by sending
// segments through its Output, by events (TakeEvents) and by the instant it
// next needs a Tick (Deadline). All calls on one Conn, and on every Conn and
// Listener sharing its Config, must be serialised by the caller.
//
// The layout is chosen for size: an idle established connection holds no
// buffers (they are borrowed from a pool while they hold bytes), times are
// 8-byte ticks, and rarely used per-connection options live behind a pointer.
type Conn struct {
	cfg    *Config
	out    Output
	local  netip.AddrPort
	remote netip.AddrPort
	parent *Listener // the listener that made this conn, until Accept takes it
	cc     CongestionControl
	opt    *connOptions // per-connection overrides of Config; nil if none

	// Send sequence space (RFC 9293 §3.3.1).
	iss     seq.Value
	sndUna  seq.Value
	sndNxt  seq.Value // next to send; a retransmission timeout rewinds it to sndUna
	sndMax  seq.Value // highest sequence number sent, plus one
	sndWl1  seq.Value
	sndWl2  seq.Value
	sndSml  seq.Value // end of the last small segment sent (Nagle, Minshall's variant)
	recover seq.Value // RFC 6582 "recover", exclusive: sndMax when recovery began
	sndWnd  uint32    // the peer's window, scaled, in bytes
	maxWnd  uint32    // the largest window the peer offered (RFC 1122 SWS, RFC 5961 MAX.SND.WND)
	sndBuf  ring      // unacknowledged and unsent bytes, from sndBase() on

	// Receive sequence space.
	irs     seq.Value
	rcvNxt  seq.Value
	rcvAdv  seq.Value // right edge of the window last advertised; it never moves left
	lastAck seq.Value // Last.ACK.sent (RFC 7323 §4.3)
	rcvFin  seq.Value // where an out-of-order FIN sits (flag fOOOFin)
	rcvBuf  ring      // unread in-order bytes, then out-of-order bytes at their offsets
	ooo     []seqRange
	sack    *sackState // SACK scoreboard and D-SACK; nil until first needed

	// RFC 7323 timestamps.
	tsRecent   uint32
	tsOffset   uint32 // added to our clock so TSvals do not leak uptime (RFC 7323 §5.4)
	tsRecentAt tick   // when tsRecent was set; 0 when it is not valid

	cong CongestionState

	// RFC 6298 retransmission timer state.
	srtt, rttvar, rto time.Duration
	rttAt             tick      // when the timed segment was sent; 0 if none is timed
	rttSeq            seq.Value // first sequence number of the timed segment
	sndLast           seq.Value // start of the last segment of new data sent (a loss probe resends it)

	// Timers, as ticks; 0 means not armed.
	rtxAt    tick // retransmission, SYN/SYN-ACK retransmission, or persist
	delackAt tick // delayed ACK
	keepAt   tick // keep-alive, FIN-WAIT-2 timeout or TIME-WAIT expiry

	rtxStart tick // when the oldest outstanding data started waiting (user timeout)
	lastRecv tick // when the last acceptable segment arrived
	lastOOW  tick // when the last rate-limited ACK (challenge, out-of-window) went out

	retrans  uint32 // segments retransmitted, for Info
	flags    connFlags
	events   Events
	err      syscall.Errno
	sndMSS   uint16 // payload bytes per segment we send (Eff.snd.MSS, RFC 9293 §3.7.1)
	advMSS   uint16 // the MSS we advertise: from the route MTU (RFC 6691)
	rcvMSS   uint16 // the largest segment seen from the peer, for ACK decisions
	state    State
	sndScale uint8
	rcvScale uint8
	backoff  uint8 // consecutive retransmission timeouts
	probes   uint8 // unanswered zero-window or keep-alive probes
	dupAcks  uint8
	quick    uint8 // quick ACKs left
	softErr  uint8 // errno of the last soft ICMP error, reported on a timeout

	// Counters for Info (Linux's tcpi_segs_in, _segs_out, _bytes_acked,
	// _bytes_received). segsOut also numbers the IPv4 datagrams.
	segsIn, segsOut           uint32
	bytesAcked, bytesReceived uint64
}

type connFlags uint32

const (
	fTimestamps       connFlags = 1 << iota // both sides send timestamps
	fWindowScale                            // both sides agreed to scale windows
	fSACK                                   // both sides sent SACK-permitted
	fNoDelay                                // Nagle's algorithm off
	fKeepalive                              // keep-alive probes on
	fActiveOpen                             // the connection began with Connect
	fSynRetransmitted                       // our SYN or SYN-ACK was retransmitted
	fFinQueued                              // CloseWrite: a FIN follows the buffered data
	fFinAcked                               // the peer acknowledged our FIN
	fFinRcvd                                // the peer's FIN arrived in order
	fOOOFin                                 // a FIN arrived out of order, at rcvFin
	fReadClosed                             // Close or CloseRead: no more reading
	fOrphan                                 // Close: the application has let go
	fRecovery                               // in NewReno fast recovery
	fPartialAck                             // a partial ACK arrived in this recovery
	fPingPong                               // interactive traffic: no quick ACKs
	fGotData                                // some data has arrived
	fAckNow                                 // send an ACK before returning
	fWriteBlocked                           // Write returned EWOULDBLOCK
	fLingerZero                             // Close aborts (SO_LINGER 0)
	fProbeOut                               // a zero-window probe byte beyond sndMax is out
	fTLPArmed                               // rtxAt is the loss probe timeout (RFC 8985 §7.2)
	fTLPOut                                 // a loss probe episode is open (sack.tlpHigh)
	fTLPRetrans                             // the loss probe was a retransmission
	fTLPDSACK                               // a D-SACK arrived during the loss probe episode
)

func (c *Conn) has(f connFlags) bool { return c.flags&f != 0 }
func (c *Conn) set(f connFlags)      { c.flags |= f }
func (c *Conn) clear(f connFlags)    { c.flags &^= f }

// connOptions are per-connection settings that differ from the Config.
// Most connections never set one, so they cost a pointer.
type connOptions struct {
	userTimeout     time.Duration
	keepIdle        time.Duration
	keepIntvl       time.Duration
	keepCount       int
	finWait2Timeout time.Duration
	sndBuf, rcvBuf  int
}

func (c *Conn) options() *connOptions {
	if c.opt == nil {
		c.opt = &connOptions{}
	}
	return c.opt
}

func (c *Conn) userTimeout() time.Duration {
	if c.opt != nil && c.opt.userTimeout != 0 {
		return max(c.opt.userTimeout, 0)
	}
	return c.cfg.UserTimeout
}

func (c *Conn) keepIdle() time.Duration {
	if c.opt != nil && c.opt.keepIdle > 0 {
		return c.opt.keepIdle
	}
	return c.cfg.KeepIdle
}

func (c *Conn) keepIntvl() time.Duration {
	if c.opt != nil && c.opt.keepIntvl > 0 {
		return c.opt.keepIntvl
	}
	return c.cfg.KeepIntvl
}

func (c *Conn) keepCount() int {
	if c.opt != nil && c.opt.keepCount > 0 {
		return c.opt.keepCount
	}
	return c.cfg.KeepCount
}

func (c *Conn) finWait2Timeout() time.Duration {
	if c.opt != nil && c.opt.finWait2Timeout != 0 {
		return c.opt.finWait2Timeout
	}
	return c.cfg.FinWait2Timeout
}

func (c *Conn) sndBufSize() int {
	if c.opt != nil && c.opt.sndBuf > 0 {
		return c.opt.sndBuf
	}
	return c.cfg.SndBuf
}

func (c *Conn) rcvBufSize() int {
	if c.opt != nil && c.opt.rcvBuf > 0 {
		return c.opt.rcvBuf
	}
	return c.cfg.RcvBuf
}

// newConn makes a connection in CLOSED with the Config's settings.
func newConn(cfg *Config, local, remote netip.AddrPort, mss int, out Output) *Conn {
	c := &Conn{cfg: cfg, out: out, local: local, remote: remote, cc: cfg.newCC()}
	c.advMSS = uint16(min(max(mss, 64), 65495))
	c.sndMSS = min(c.advMSS, 536)
	c.rcvMSS = min(c.advMSS, 536)
	c.rto = cfg.InitialRTO
	if cfg.NoDelay {
		c.set(fNoDelay)
	}
	if cfg.Keepalive {
		c.set(fKeepalive)
	}
	if cfg.Timestamps {
		c.tsOffset = uint32(cfg.hashTuple(local, remote, saltTimestamp, 0))
	}
	return c
}

// Connect starts an active open (RFC 9293 §3.10.1, OPEN call): it sends a
// SYN and returns the connection in SYN-SENT. mss is the largest segment
// the route to remote carries (the route MTU less 40 bytes of IPv4 and TCP
// headers, RFC 6691); it is what we advertise. The stack registers the
// connection under its 4-tuple before any reply can arrive.
func Connect(now time.Time, cfg *Config, local, remote netip.AddrPort, mss int, out Output) *Conn {
	cfg.init(now)
	t := cfg.tick(now)
	c := newConn(cfg, local, remote, mss, out)
	c.set(fActiveOpen)
	c.iss = cfg.isn(local, remote, t)
	c.sndUna, c.sndNxt, c.sndMax, c.recover = c.iss, c.iss.Add(1), c.iss.Add(1), c.iss
	c.state = StateSynSent
	cfg.Stats.ActiveOpens++
	c.emitSyn(t)
	c.rttAt, c.rttSeq = t, c.iss
	c.rtxStart = t
	c.rtxAt = t + tick(c.rto)
	return c
}

// setState moves to s, keeping the CurrEstab gauge.
func (c *Conn) setState(s State) {
	was := c.state == StateEstablished || c.state == StateCloseWait
	is := s == StateEstablished || s == StateCloseWait
	if was && !is {
		c.cfg.Stats.CurrEstab--
	} else if is && !was {
		c.cfg.Stats.CurrEstab++
	}
	c.state = s
}

// sndBase is the sequence number of the first byte in sndBuf: the one after
// our SYN until the SYN is acknowledged, SND.UNA after that.
func (c *Conn) sndBase() seq.Value {
	if !c.state.synchronized() {
		return c.iss.Add(1)
	}
	return c.sndUna
}

// sndEnd is the sequence number after the last buffered byte; a queued FIN
// takes this number.
func (c *Conn) sndEnd() seq.Value { return c.sndBase().Add(seq.Size(c.sndBuf.len())) }

// finPending reports a FIN queued but not yet acknowledged.
func (c *Conn) finPending() bool { return c.flags&(fFinQueued|fFinAcked) == fFinQueued }

// rcvDataEnd is the sequence number after the last in-order data byte.
func (c *Conn) rcvDataEnd() seq.Value {
	if c.has(fFinRcvd) {
		return c.rcvNxt - 1
	}
	return c.rcvNxt
}

// rcvWnd is what is left of the window we last advertised.
func (c *Conn) rcvWnd() seq.Size {
	if c.rcvAdv.LessThan(c.rcvNxt) {
		return 0
	}
	return c.rcvAdv.Sub(c.rcvNxt)
}

// timeoutErr is what a connection that gave up retransmitting reports: the
// last soft ICMP error it heard of (a route that went away shows as
// EHOSTUNREACH, not as a timeout), else ETIMEDOUT, as Linux's tcp_write_err.
func (c *Conn) timeoutErr() syscall.Errno {
	if c.softErr != 0 {
		return syscall.Errno(c.softErr)
	}
	return syscall.ETIMEDOUT
}

// close ends the connection: CLOSED, timers off, buffers back to the pool.
func (c *Conn) close(err syscall.Errno) {
	if c.state == StateClosed {
		return
	}
	if c.state == StateSynSent || c.state == StateSynReceived {
		c.cfg.Stats.AttemptFails++
		if c.parent != nil {
			c.parent.forget(c)
		}
	}
	c.setState(StateClosed)
	if c.err == 0 {
		c.err = err
	}
	c.rtxAt, c.delackAt, c.keepAt = 0, 0, 0
	c.sndBuf.release()
	if c.rcvBuf.len() == 0 {
		c.rcvBuf.release()
	}
	c.ooo = nil
	c.events |= EventClosed | EventReadable | EventWritable
}
