// Package sstable is the socket table as people and programs read it: one
// Row per socket answering the seed's question — which local endpoint talks
// which protocol to which remote endpoint, and who owns it — with a filter,
// a deterministic order, an aligned text printer in the style of `ss -tuwlp`
// and a JSON form. berth's own table and the real host's kernel table
// (internal/hostsock) share it, so both print and parse the same way.
package sstable

import (
	"net/netip"
	"time"
)

// Protocol names used in Row.Proto, as ss prints them in its Netid column.
const (
	TCP = "tcp"
	UDP = "udp"
	Raw = "raw"
)

// Address families used in Row.Family.
const (
	Inet  = "inet"
	Inet6 = "inet6"
)

// TCP states, spelled as RFC 9293 §3.3.2 spells them. They are the TCP
// control block's states, not an abbreviation of them, so the table shows
// them whole rather than as ss's "ESTAB"/"SYN-RECV".
const (
	StateClosed      = "CLOSED"
	StateListen      = "LISTEN"
	StateSynSent     = "SYN-SENT"
	StateSynReceived = "SYN-RECEIVED"
	StateEstablished = "ESTABLISHED"
	StateFinWait1    = "FIN-WAIT-1"
	StateFinWait2    = "FIN-WAIT-2"
	StateCloseWait   = "CLOSE-WAIT"
	StateClosing     = "CLOSING"
	StateLastAck     = "LAST-ACK"
	StateTimeWait    = "TIME-WAIT"
)

// Datagram and raw sockets have no protocol states; like ss, the table says
// whether a peer is fixed. An unconnected socket (no connect, any sender
// accepted) is "UNCONN"; one whose peer was fixed by connect is "ESTAB",
// ss's word, kept short on purpose so it never reads as TCP's ESTABLISHED.
const (
	StateUnconn = "UNCONN"
	StateEstab  = "ESTAB"
)

// DatagramState is the State of a UDP or raw socket.
func DatagramState(connected bool) string {
	if connected {
		return StateEstab
	}
	return StateUnconn
}

// Row is one socket. The zero value of every optional field means
// "unknown" or "not applicable", and the table leaves it out.
//
// For raw sockets Local and Remote carry addresses only (port 0) and
// Protocol names the IP protocol the socket receives, which ss prints in
// the port position ("0.0.0.0:icmp").
type Row struct {
	Proto  string // TCP, UDP or Raw: ss's Netid column
	Family string // Inet or Inet6: the socket's domain, not its address's form (a v4-mapped peer is still inet6)
	State  string // a State constant

	RecvQ, SendQ int // bytes queued; for a TCP listener, as in ss, the accept queue and its bound

	Local  netip.AddrPort
	Remote netip.AddrPort // the zero AddrPort when no peer is fixed: printed "*:*"

	Protocol uint8 // IP protocol number, raw sockets only

	Owner string // the application label (berth) or process name (host)
	PID   int    // the OS process that holds the socket; 0 if unknown
	Inode uint64 // the kernel's socket inode, host table only
	ID    uint64 // berth's socket id, berth table only

	Service    string // registered service name of the local port, "" if none
	Suspicious string // why the port is worth a look (abuse history): a hint, never a verdict; "" otherwise

	// TCP details, zero if unknown.
	RTT, RTO       time.Duration
	Cwnd, Ssthresh uint32 // in segments, like Linux's tcp_info
	Retrans        uint64 // segments retransmitted over the connection's life

	// Counters, zero if unknown.
	RxPackets, TxPackets uint64
	RxBytes, TxBytes     uint64
	Drops                uint64 // datagrams or segments dropped on receive (queue full, bad checksum)
}

// Listening reports whether r waits for peers rather than talking to one:
// a TCP socket in LISTEN, or an unconnected datagram or raw socket. These
// are the sockets `ss -l` shows.
func (r Row) Listening() bool {
	if r.Proto == TCP {
		return r.State == StateListen
	}
	return r.State == StateUnconn
}
