// Package tcp is berth's TCP (RFC 9293 and companions) as a pure state
// machine: segments in, segments out, time passed in, next deadline
// reported. It has no goroutines, locks, clocks or I/O; the stack supplies
// all of those.
//
// # How the stack drives it
//
// The stack keeps a table from 4-tuple (local, remote netip.AddrPort) to
// *Conn, and a table of *Listener by local address. For each segment it
// parses (wire.TCP → Segment):
//
//  1. If the 4-tuple has a Conn, call Conn.Input. For a SYN that finds a
//     Conn in TIME-WAIT, first ask Conn.AcceptsNewSYN; if it agrees, drop
//     that Conn and go on as if there were none.
//  2. Else, if a Listener matches, call Listener.Input. A non-nil result is
//     a new Conn to register under (localAddr, remote): half-open
//     (SYN-RECEIVED) connections are ordinary table entries, so the rest of
//     the handshake arrives through step 1.
//  3. Else answer with RSTFor (RFC 9293 §3.10.7.1), unless it says not to.
//
// After any call into a Conn (Input, Tick, Write, Read, Close...) the stack
// takes its events (Conn.TakeEvents) and runs the user's callbacks outside
// its lock; re-arms its timer for Conn.Deadline; and, once the Conn is in
// CLOSED (EventClosed), removes it from the table. A Conn whose Listener()
// is non-nil belongs to that listener until accepted: when it reports
// EventEstablished, the listener's TakeEvents reports EventAcceptable and
// Listener.Accept hands it out. Listener.Close returns the connections it
// ended, for the stack to unregister.
//
// Segments leave through the Output given to Connect or NewListener. An
// Output must not keep the *Segment or its payload, and must not call back
// into the core (queue instead). All Conns and Listeners sharing a Config
// are called from one goroutine at a time.
//
// # Files
//
//	conn.go        the connection block, Connect, state bookkeeping
//	input.go       Input, the per-state switch, the checks common to all states
//	states.go      one handler per state; receiving data and FIN
//	ack.go         ACK processing, RTT estimation, fast retransmit, NewReno
//	sack.go        SACK blocks and D-SACKs sent; the scoreboard and RFC 6675 recovery
//	tlp.go         tail loss probes (RFC 8985 §7)
//	icmp.go        ICMP errors: path MTU discovery (RFC 1191), hard and soft errors (RFC 5927)
//	output.go      sending: windows, Nagle, SWS avoidance, options
//	timers.go      Tick and Deadline: retransmission, persist, keep-alive, TIME-WAIT
//	api.go         the application's calls and Info
//	listener.go    LISTEN, the SYN and accept queues
//	syncookie.go   SYN cookies
//	congestion.go  the CongestionControl interface and NewReno
//	reassembly.go  the out-of-order queue
//	ring.go        pooled ring buffers
//	isn.go         initial sequence numbers and timestamp clocks
//
// # What is not here (yet)
//
// RACK's time-based loss detection (RFC 8985 §6; berth detects loss by
// SACKed segments and probes tails, as RFC 6675 and §7 describe), PRR
// (RFC 6937), F-RTO and undoing spurious recoveries, ECN (RFC 3168),
// urgent data (URG is ignored and urgent bytes are delivered inline), TCP
// Fast Open, packetization-layer path MTU discovery for black holes that
// send no ICMP (RFC 4821), undoing a backoff on unreachable errors (RFC
// 6069).
package tcp
