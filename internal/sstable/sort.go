package sstable

import (
	"cmp"
	"slices"
)

// protoRank orders the table as the seed lists socket types: stream,
// datagram, raw; anything else after them.
func protoRank(p string) int {
	switch p {
	case TCP:
		return 0
	case UDP:
		return 1
	case Raw:
		return 2
	}
	return 3
}

// Compare orders rows by protocol, local address and port, remote address
// and port, then the identifiers that tell otherwise equal rows apart.
// IPv4 addresses sort before IPv6 (netip's order).
func Compare(a, b Row) int {
	return cmp.Or(
		cmp.Compare(protoRank(a.Proto), protoRank(b.Proto)),
		cmp.Compare(a.Proto, b.Proto),
		a.Local.Compare(b.Local),
		cmp.Compare(a.Protocol, b.Protocol),
		a.Remote.Compare(b.Remote),
		cmp.Compare(a.ID, b.ID),
		cmp.Compare(a.PID, b.PID),
		cmp.Compare(a.Inode, b.Inode),
		cmp.Compare(a.Family, b.Family),
		cmp.Compare(a.State, b.State),
		cmp.Compare(a.Owner, b.Owner),
	)
}

// Sort puts rows in Compare's order, so two snapshots of the same sockets
// print the same text.
func Sort(rows []Row) {
	slices.SortStableFunc(rows, Compare)
}
