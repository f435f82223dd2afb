package sstable

// Filter selects rows as `berth ss` flags do.
//
// TCP, UDP and Raw (-t, -u, -w) select protocols; when none is set every
// protocol matches. ListeningOnly (-l) keeps sockets that wait for peers
// (Row.Listening). All (-a) overrides ListeningOnly, as `ss -a -l` shows
// every socket.
//
// Unlike ss, which without -a or -l shows connected sockets only, the zero
// Filter matches every socket: a host's table is small, and whole it answers
// who listens as well as who talks.
type Filter struct {
	TCP, UDP, Raw bool
	ListeningOnly bool
	All           bool
}

// Match reports whether f selects r.
func (f Filter) Match(r Row) bool {
	if f.TCP || f.UDP || f.Raw {
		switch r.Proto {
		case TCP:
			if !f.TCP {
				return false
			}
		case UDP:
			if !f.UDP {
				return false
			}
		case Raw:
			if !f.Raw {
				return false
			}
		default:
			return false
		}
	}
	if f.ListeningOnly && !f.All {
		return r.Listening()
	}
	return true
}

// Apply returns the rows f selects, in their order. rows is not modified.
func (f Filter) Apply(rows []Row) []Row {
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if f.Match(r) {
			out = append(out, r)
		}
	}
	return out
}
