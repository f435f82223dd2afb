package port

import "strconv"

// State is the coarse socket state the bind rules care about. The transport
// keeps its own finer state machine (TCP's SYN-SENT, FIN-WAIT-1, ...) and
// reports only these transitions.
type State uint8

const (
	// Bound: bind() succeeded; for UDP the socket receives datagrams.
	Bound State = iota
	// Listening: a TCP listener; receives new connections.
	Listening
	// Connected: the 4-tuple is fixed (TCP established or in a handshake,
	// or a connected UDP socket).
	Connected
	// TimeWait: a closed TCP connection still holding its 4-tuple
	// (RFC 9293 §3.6.1, 2*MSL).
	TimeWait
)

// String spells the state as ss(8) and RFC 9293 do.
func (s State) String() string {
	switch s {
	case Bound:
		return "BOUND"
	case Listening:
		return "LISTEN"
	case Connected:
		return "ESTABLISHED"
	case TimeWait:
		return "TIME-WAIT"
	}
	return "STATE(" + strconv.Itoa(int(s)) + ")"
}
