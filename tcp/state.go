package tcp

// State is a connection state of RFC 9293 §3.3.2.
type State uint8

// The eleven states of RFC 9293 Figure 5.
const (
	StateClosed State = iota
	StateListen
	StateSynSent
	StateSynReceived
	StateEstablished
	StateFinWait1
	StateFinWait2
	StateCloseWait
	StateClosing
	StateLastAck
	StateTimeWait
)

var stateNames = [...]string{
	StateClosed:      "CLOSED",
	StateListen:      "LISTEN",
	StateSynSent:     "SYN-SENT",
	StateSynReceived: "SYN-RECEIVED",
	StateEstablished: "ESTABLISHED",
	StateFinWait1:    "FIN-WAIT-1",
	StateFinWait2:    "FIN-WAIT-2",
	StateCloseWait:   "CLOSE-WAIT",
	StateClosing:     "CLOSING",
	StateLastAck:     "LAST-ACK",
	StateTimeWait:    "TIME-WAIT",
}

// String returns the state's name as RFC 9293 spells it.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// synchronized reports whether the handshake is complete (RFC 9293 §3.5.2).
func (s State) synchronized() bool { return s >= StateEstablished }

// Events are readiness changes since the last TakeEvents, for the stack to
// turn into callbacks (outside its lock) and wake-ups of blocked calls.
type Events uint16

const (
	// EventEstablished: the handshake completed (Connect finished, or a
	// passive connection is ready to accept).
	EventEstablished Events = 1 << iota
	// EventReadable: Read may return data (or io.EOF, or an error).
	EventReadable
	// EventWritable: Write may accept bytes again after it returned
	// EWOULDBLOCK, or the connection became writable.
	EventWritable
	// EventReadClosed: the peer's FIN arrived in order; after the buffered
	// data, Read returns io.EOF.
	EventReadClosed
	// EventClosed: the connection reached CLOSED; Err tells why (nil for a
	// clean close). The stack removes it from its tables.
	EventClosed
	// EventAcceptable: a listener's accept queue became non-empty.
	EventAcceptable
)

var eventNames = [...]string{"Established", "Readable", "Writable", "ReadClosed", "Closed", "Acceptable"}

func (e Events) String() string {
	if e == 0 {
		return "0"
	}
	s := ""
	for i, n := range eventNames {
		if e&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	return s
}
