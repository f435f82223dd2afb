// Package gvisorpeer holds berth's interoperability tests against gVisor's
// netstack in the same process: a gVisor stack (198.18.0.1) whose NIC is
// bridged onto one end of a link/mem pair, and a berth host (198.18.0.2) on
// the other end, optionally through link/fault. The tests open TCP
// connections both ways (gonet on gVisor's side, berth's net.Conn on
// berth's), exchange and echo data, close cleanly, and move 64 MiB each
// way at once over a clean and a lossy link, checking every byte by SHA-256.
// Over IPv6 (2001:2::/48, in process only) the two ping each other and talk
// TCP both ways (ipv6_test.go, tcp6_test.go).
//
// The package has no code of its own: gVisor is imported by its tests only,
// so it never reaches a build of berth.
//
// Run with: go test -race -v ./internal/gvisorpeer
//
// Flags for digging into a failure (after -args): -pcap DIR captures each
// side's packets in DIR/TEST-berth.pcap (what berth sent, before the
// faults, and received, after them) and DIR/TEST-gvisor.pcap; -monitor
// 100ms logs berth's connection rows (cwnd, RTO, queues) during transfers;
// -seed N replays the lossy link with other impairment draws.
package gvisorpeer
