package stack

import (
	"cmp"
	"net/netip"
	"os"
	"slices"
	"time"
)

// SocketInfo is one row of the socket table: which local endpoint talks
// which protocol to which remote endpoint, and how it is doing.
type SocketInfo struct {
	ID                   uint64
	Proto                string // "tcp", "udp" or "raw"
	Protocol             uint8  // IP protocol number
	Local                netip.AddrPort
	Remote               netip.AddrPort // invalid when unconnected
	State                string         // RFC 9293 names for TCP; "UNCONN" or "ESTAB" for datagram and raw sockets, as ss prints them
	Owner                string         // the application label given when the socket was opened
	PID                  int            // the OS process that hosts this stack
	RecvQ                int            // bytes waiting to be read
	SendQ                int            // bytes waiting to be sent or acknowledged
	RxPackets, TxPackets uint64         // datagrams, or TCP segments (retransmissions too)
	RxBytes, TxBytes     uint64         // TCP only: payload received in order, and acknowledged by the peer
	Drops                uint64         // arrivals dropped on a full receive queue

	// TCP only.
	RTT, RTO       time.Duration
	MSS            int    // payload bytes per segment sent
	Cwnd, Ssthresh uint32 // bytes; Ssthresh is 1<<30 until the first loss
	Retransmits    uint64
}

// Sockets returns a snapshot of every socket of the host, ordered by
// protocol, local and remote address.
func (s *Stack) Sockets() []SocketInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	pid := os.Getpid()
	var out []SocketInfo
	for _, list := range s.raw.byProto {
		for _, r := range list {
			out = append(out, r.row(pid))
		}
	}
	for _, list := range s.raw.byProto6 {
		for _, r := range list {
			out = append(out, r.row(pid))
		}
	}
	for u := range s.udp.open {
		_, qb := u.ep.Queued()
		si := SocketInfo{ID: u.id, Proto: "udp", Protocol: 17, Owner: u.owner, PID: pid, State: "UNCONN",
			RecvQ: qb, RxPackets: u.ep.RxDatagrams, TxPackets: u.ep.TxDatagrams, Drops: u.ep.Drops}
		if u.b != nil {
			si.Local = u.show(u.b.Local())
			if u.b.Remote().IsValid() {
				si.Remote = u.show(u.b.Remote())
				si.State = "ESTAB"
			}
		}
		out = append(out, si)
	}
	s.tcpSockets(&out, pid)
	slices.SortFunc(out, func(a, b SocketInfo) int {
		return cmp.Or(cmp.Compare(a.Proto, b.Proto), a.Local.Compare(b.Local), a.Remote.Compare(b.Remote), cmp.Compare(a.ID, b.ID))
	})
	return out
}
