// Package port keeps the port spaces of one host: which (protocol, address,
// port) each socket holds, the bind rules that decide who may share a port,
// ephemeral port allocation (RFC 6056), and the demultiplexing table that
// maps an arriving segment or datagram to its endpoint.
//
// A port identifies an endpoint independently of the process behind it; the
// TCP and UDP port numbers are independent spaces (TCP 255 and UDP 255 never
// conflict). One [Manager] holds one space per [Protocol].
//
// The bind rules follow Linux (net/ipv4/inet_connection_sock.c and
// net/ipv4/udp.c): two sockets conflict when protocol and port match and
// their local addresses overlap, unless both set SO_REUSEADDR and the
// existing one is not listening (any state for UDP), or both set
// SO_REUSEPORT. Ports handed out by connect's allocator may be shared by
// connected sockets whose 4-tuples differ, but never a port someone bound
// explicitly.
//
// A Manager is not safe for concurrent use: the stack serialises every call
// under its own lock. It starts no goroutines and does no I/O.
package port
