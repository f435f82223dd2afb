// Package conform runs packetdrill scripts against one berth host on a
// manual clock: a peer's TCP test suite, written by the people who maintain
// Linux's TCP, replayed packet by packet against berth.
//
// A script (see Parse) is a list of timed events: system calls made on the
// host under test, packets the script injects ("<", inbound) and packets it
// expects the host to send (">", outbound). Run replays one script against a
// fresh stack.Stack whose only link is a capture link (Link): inbound packets
// are delivered synchronously into the stack, outbound ones are queued with
// the virtual time they left at and matched field by field, in order, with
// packetdrill's timing tolerance. Time never passes on its own: the
// interpreter moves a clock.Manual from timer to timer, so a script of
// seconds runs in microseconds and every timing check is exact.
//
// Addresses: packetdrill's local address (a private address on its tun) is berth's
// 198.18.0.1, the remote "packetdrill" side is 198.18.0.2; the listening and
// connecting port is 8080, as packetdrill's defaults.
//
// Sequence numbers are relative, as packetdrill has them: inbound sequence
// numbers are offset by the script's own initial sequence number (RemoteISN),
// outbound ones by berth's, learnt from the first SYN or SYN-ACK it sends;
// acknowledgment numbers the other way round. Outbound TS val is accepted
// whatever it is (packetdrill's default); TS ecr must echo what the script
// sent. When the script expects a segment larger than berth sent (Linux uses
// TSO and sends a 10-MSS "segment"), consecutive segments are merged up to
// the expected size, as packetdrill's remote mode does.
//
// Shell blocks (`...`) and Python blocks (%{ ... }%) are not run: sysctls
// that map onto tcp.Config fields and tcp_info assertions are emulated, and
// everything else is reported as a skipped line in Result.Notes, so nothing
// is ignored silently. Socket options the stack has no per-socket setter for
// are emulated host-wide where that is equivalent for a one-connection
// script, and reported likewise.
package conform
