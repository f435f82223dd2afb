package tcp

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"time"

	"berth/seq"
)

// Config holds the settings shared by the connections and listeners of one
// stack. DefaultConfig returns the "Linux profile": the values a Linux
// kernel uses out of the box, so berth looks like Linux on the wire and
// packetdrill scripts written for Linux hold for it.
//
// At first use, every zero duration or count is replaced by its default, a
// zero ISNKey by random bytes, and a nil Stats by a private one. Booleans
// are taken as given, so start from DefaultConfig and change what differs.
//
// A Config, with its Stats, belongs to one serialised context: the stack
// calls every Conn and Listener sharing it from one goroutine at a time (a
// stack sharded across cores gives each shard its own Config). The Config
// must not be changed after first use.
type Config struct {
	// InitialWindow is the initial congestion window in segments
	// (RFC 6928: 10, capped at 14600 bytes unless that is under 2 segments).
	InitialWindow int
	// MinRTO, InitialRTO, MaxRTO bound the retransmission timeout
	// (RFC 6298; Linux: 200 ms, 1 s, 120 s).
	MinRTO, InitialRTO, MaxRTO time.Duration
	// DelayedAck is how long an ACK may wait for a second segment or for
	// data to ride on (RFC 1122 §4.2.3.2 allows up to 500 ms; Linux 40 ms).
	DelayedAck time.Duration
	// QuickAcks is how many segments are acknowledged at once, without
	// delay, after a connection starts receiving (and again after it has
	// been idle for an RTO), as Linux does to let the peer's slow start
	// grow quickly. Negative disables quick ACKs.
	QuickAcks int
	// MSL is the maximum segment lifetime; TIME-WAIT lasts 2*MSL
	// (RFC 9293 §3.4.2; Linux holds TIME-WAIT for 60 s).
	MSL time.Duration
	// FinWait2Timeout bounds FIN-WAIT-2 for a connection the application
	// has closed (Linux tcp_fin_timeout, 60 s); a half-closed connection
	// (CloseWrite) waits for the peer's FIN forever, as RFC 9293 says.
	FinWait2Timeout time.Duration
	// RcvBuf and SndBuf bound the bytes a connection buffers in each
	// direction. The receive buffer is what the window offers.
	RcvBuf, SndBuf int
	// WindowScale is the shift offered in the window scale option
	// (RFC 7323 §2; 0..14, Linux offers 7 or 8); negative offers none.
	WindowScale int
	// Timestamps offers the timestamps option (RFC 7323 §3).
	Timestamps bool
	// SACKPermitted offers SACK-permitted (RFC 2018). Where both ends
	// offer it, ACKs carry SACK and D-SACK blocks (RFC 2883), loss
	// recovery follows the scoreboard (RFC 6675), and tail losses are
	// probed for (RFC 8985 §7), as Linux does.
	SACKPermitted bool
	// PushBursts places PSH as Linux does: on the last segment of every
	// burst of new data, and on the last of every run within it that
	// Linux's TSO autosizing would hand the NIC as one packet (about a
	// millisecond of data at the pacing rate, at least two segments).
	// Off, PSH marks only the segment that empties the send buffer.
	// Receivers may not depend on PSH either way (RFC 9293 §3.9.1.2), so
	// this is for matching Linux packet by packet (conform's profile).
	PushBursts bool
	// NoDelay turns Nagle's algorithm off for new connections.
	NoDelay bool
	// Keepalive enables keep-alive probes on new connections after
	// KeepIdle without traffic, every KeepIntvl, giving up after
	// KeepCount unanswered probes (RFC 1122 §4.2.3.6; Linux: 2 h, 75 s, 9).
	Keepalive           bool
	KeepIdle, KeepIntvl time.Duration
	KeepCount           int
	// UserTimeout, when positive, aborts a connection whose sent data has
	// stayed unacknowledged that long (RFC 5482 semantics, Linux
	// TCP_USER_TIMEOUT). Zero leaves the decision to the retry counts.
	UserTimeout time.Duration
	// SynRetries, SynAckRetries and Retries are how often a SYN, a SYN-ACK
	// and data are retransmitted before the connection gives up
	// (Linux: 6, 5, 15).
	SynRetries, SynAckRetries, Retries int
	// ChallengeAckInterval is the least time between two challenge ACKs
	// (RFC 5961 §7) or two ACKs answering out-of-window segments without
	// data, per connection (Linux tcp_invalid_ratelimit: 500 ms).
	ChallengeAckInterval time.Duration
	// MaxOOORanges bounds the islands of out-of-order data held per
	// connection (default 32).
	MaxOOORanges int
	// ISNKey keys the hash of initial sequence numbers (RFC 6528), of
	// timestamp offsets and of SYN cookies. Zero means random.
	ISNKey [16]byte
	// Congestion makes the congestion controller of a new connection;
	// nil means NewReno (RFC 5681, RFC 6582).
	Congestion func() CongestionControl
	// SynCookies answers SYNs with SYN cookies (RFC 4987 §3.6) when a
	// listener's SYN queue is full, so that a flood of SYNs cannot keep
	// real clients out.
	SynCookies bool
	// Stats receives the counters of every connection and listener using
	// this Config.
	Stats *Stats

	ready        bool
	epoch        time.Time // time zero of the monotonic ticks in this Config
	k0, k1       uint64    // ISNKey as SipHash key words
	scratch      []byte    // segment payloads that wrap around a ring
	seg          Segment   // the one segment being emitted
	defaultCC    CongestionControl
	cookieWindow time.Duration
	isnFunc      func(local, remote netip.AddrPort) seq.Value // tests: fixed ISNs
}

// DefaultConfig returns a new Config with the Linux profile: everything
// above at its default; timestamps, SACK and SYN cookies on; window scale
// 8.
func DefaultConfig() *Config {
	return &Config{
		WindowScale:   8,
		Timestamps:    true,
		SACKPermitted: true,
		SynCookies:    true,
	}
}

func (c *Config) init(now time.Time) {
	if c.ready {
		return
	}
	c.ready = true
	setDefault(&c.InitialWindow, 10)
	setDefault(&c.MinRTO, 200*time.Millisecond)
	setDefault(&c.InitialRTO, time.Second)
	setDefault(&c.MaxRTO, 120*time.Second)
	setDefault(&c.DelayedAck, 40*time.Millisecond)
	setDefault(&c.QuickAcks, 16)
	setDefault(&c.MSL, 30*time.Second)
	setDefault(&c.FinWait2Timeout, 60*time.Second)
	setDefault(&c.RcvBuf, 256<<10)
	setDefault(&c.SndBuf, 256<<10)
	setDefault(&c.KeepIdle, 2*time.Hour)
	setDefault(&c.KeepIntvl, 75*time.Second)
	setDefault(&c.KeepCount, 9)
	setDefault(&c.SynRetries, 6)
	setDefault(&c.SynAckRetries, 5)
	setDefault(&c.Retries, 15)
	setDefault(&c.ChallengeAckInterval, 500*time.Millisecond)
	setDefault(&c.MaxOOORanges, 32)
	c.RcvBuf = min(c.RcvBuf, 1<<maxBlockShift)
	c.SndBuf = min(c.SndBuf, 1<<maxBlockShift)
	c.WindowScale = min(c.WindowScale, 14)
	if c.MaxRTO < c.MinRTO {
		c.MaxRTO = c.MinRTO
	}
	if c.ISNKey == ([16]byte{}) {
		rand.Read(c.ISNKey[:])
	}
	c.k0 = binary.LittleEndian.Uint64(c.ISNKey[:8])
	c.k1 = binary.LittleEndian.Uint64(c.ISNKey[8:])
	if c.Stats == nil {
		c.Stats = new(Stats)
	}
	c.defaultCC = NewReno()
	// Ticks count from an hour before the first call, so that no real
	// instant maps to tick 0, which marks a timer as unarmed.
	c.epoch = now.Add(-time.Hour)
	c.cookieWindow = (cookieMaxAge + 1) * cookiePeriod
}

func setDefault[T int | time.Duration](p *T, v T) {
	if *p == 0 {
		*p = v
	}
}

// tick is a point in time as nanoseconds since the Config's epoch. It keeps
// the connection small (8 bytes instead of a time.Time's 24) and its zero
// value means "not armed".
type tick int64

func (c *Config) tick(now time.Time) tick { return tick(now.Sub(c.epoch)) }

func (c *Config) time(t tick) time.Time { return c.epoch.Add(time.Duration(t)) }

func (c *Config) newCC() CongestionControl {
	if c.Congestion != nil {
		if cc := c.Congestion(); cc != nil {
			return cc
		}
	}
	return c.defaultCC
}

// scratchFor returns the Config's scratch buffer, at least n bytes long.
func (c *Config) scratchFor(n int) []byte {
	if len(c.scratch) < n {
		c.scratch = make([]byte, max(n, 64<<10))
	}
	return c.scratch
}
