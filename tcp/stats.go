package tcp

// Stats are TCP counters in the manner of `netstat -s` (the MIB of RFC 4022
// first, then Linux's extended counters). The stack shares one Stats among
// the connections and listeners of a Config; fields are plain because the
// stack serialises calls (see Config). Read them under the stack's lock.
//
// InSegs counts segments handed to a Conn or Listener; the stack adds the
// segments it answers itself (RSTFor) and those it drops as malformed
// (InErrs).
type Stats struct {
	ActiveOpens  uint64 // CLOSED → SYN-SENT
	PassiveOpens uint64 // LISTEN → SYN-RECEIVED
	AttemptFails uint64 // SYN-SENT or SYN-RECEIVED → CLOSED
	EstabResets  uint64 // ESTABLISHED or CLOSE-WAIT → CLOSED by a reset
	CurrEstab    uint64 // gauge: connections in ESTABLISHED or CLOSE-WAIT
	InSegs       uint64
	OutSegs      uint64 // excluding retransmissions
	RetransSegs  uint64
	InErrs       uint64
	OutRsts      uint64

	SyncookiesSent   uint64
	SyncookiesRecv   uint64 // valid cookies that made a connection
	SyncookiesFailed uint64
	ListenOverflows  uint64 // accept queue full
	ListenDrops      uint64 // SYNs or handshake ACKs a listener dropped

	DelayedAcks      uint64 // ACKs sent by the delayed-ACK timer
	ChallengeAcks    uint64 // RFC 5961 challenge ACKs sent
	PAWSDrops        uint64 // segments dropped by PAWS (RFC 7323 §5)
	OOODrops         uint64 // out-of-order data dropped for lack of room
	FastRetransmits  uint64
	Timeouts         uint64 // retransmission timer expirations
	PersistProbes    uint64 // zero-window probes sent
	KeepaliveProbes  uint64
	AbortOnData      uint64 // RST: data arrived after close (RFC 1122 §4.2.2.13)
	AbortOnClose     uint64 // RST: closed with unread data (RFC 2525 §2.17)
	AbortOnLinger    uint64 // RST: closed with linger 0, or aborted
	AbortOnTimeout   uint64 // gave up retransmitting, probing, or on the user timeout
	TimeWaitRecycled uint64 // TIME-WAIT 4-tuples reused by a new SYN

	LossProbes          uint64 // tail loss probes sent (RFC 8985 §7)
	LossProbeRecoveries uint64 // losses a tail loss probe repaired
	LostRetransmits     uint64 // retransmissions found lost by the SACKs of later data
	DSACKsReceived      uint64 // D-SACK blocks received (RFC 2883)
	SACKReneging        uint64 // peers found to have dropped data they had SACKed
	OutOfWindowICMPs    uint64 // ICMP errors quoting no segment in flight (RFC 5927 §4.1)
	PMTUReductions      uint64 // MSS lowered by "fragmentation needed" (RFC 1191)
}
