// Package hostsock reads the real host's socket table — every TCP, UDP
// and raw socket of the kernel, IPv4 and IPv6, with the process that holds
// it — as sstable rows, so `berth ss -host` answers the seed's question
// ("which local process uses which protocol to talk to which remote
// endpoint") for the machine itself, in the same form as berth's own table.
//
// TCP and UDP come from netlink sock_diag (the interface ss uses), which
// also gives TCP's RTT, RTO and window. Where the kernel lacks the diag
// modules (tcp_diag, udp_diag) the /proc/net tables stand in. Raw sockets
// always come from /proc/net/raw{,6}: sock_diag asks for raw sockets one
// protocol at a time. Owners come from a scan of /proc/*/fd.
package hostsock
