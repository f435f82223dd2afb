package tcp

import "time"

// maxCwnd caps the congestion window and stands for "arbitrarily high" as
// the initial ssthresh (RFC 5681 §3.1).
const maxCwnd = 1 << 30

// CongestionState is the part of a connection a congestion controller
// steers, in bytes. It lives inside the Conn, so a controller without state
// of its own (NewReno) costs a connection nothing extra.
type CongestionState struct {
	Cwnd     uint32
	Ssthresh uint32
	// AckedBytes accumulates acknowledged bytes in congestion avoidance
	// (RFC 5681 §3.1, the byte-counting variant).
	AckedBytes uint32
}

// CongestionEvent describes the ACK or loss a controller reacts to.
type CongestionEvent struct {
	Acked      uint32        // bytes newly acknowledged (OnAck)
	FlightSize uint32        // bytes outstanding when the event happened
	MSS        uint32        // the sender's maximum segment size
	Now        time.Duration // a monotonic clock reading
	SRTT       time.Duration // smoothed RTT, 0 before the first sample
}

// CongestionControl is the pluggable part of congestion control: how the
// window grows and how far it falls. Loss detection and recovery (fast
// retransmit, NewReno's partial ACKs, retransmission timeouts) belong to the
// connection, which sets Cwnd on entering and leaving recovery as RFC 5681
// and RFC 6582 say: ssthresh+3*MSS on fast retransmit, 1 MSS after a
// timeout.
//
// A controller with per-connection state (CUBIC) is made fresh for each
// connection by Config.Congestion; a stateless one may be shared.
type CongestionControl interface {
	Name() string
	// OnAck grows the window for an ACK of new data outside recovery,
	// when the window was in use.
	OnAck(s *CongestionState, e CongestionEvent)
	// OnLoss sets Ssthresh when loss is detected, by three duplicate
	// ACKs or by a timeout.
	OnLoss(s *CongestionState, e CongestionEvent)
}

// NewReno returns the RFC 5681 controller (slow start and congestion
// avoidance; the NewReno part, RFC 6582, is the connection's recovery).
// It has no state of its own and is shared.
func NewReno() CongestionControl { return newReno{} }

type newReno struct{}

func (newReno) Name() string { return "newreno" }

// OnAck: slow start grows by the bytes acknowledged, at most 2 SMSS per ACK
// (RFC 3465 L=2, which RFC 5681 §3.1 permits when ACKs are delayed);
// congestion avoidance adds one SMSS per window of acknowledged bytes.
func (newReno) OnAck(s *CongestionState, e CongestionEvent) {
	if s.Cwnd < s.Ssthresh {
		s.Cwnd += min(e.Acked, 2*e.MSS)
		return
	}
	s.AckedBytes += e.Acked
	if s.AckedBytes >= s.Cwnd {
		s.AckedBytes -= s.Cwnd
		s.Cwnd += e.MSS
	}
}

// OnLoss: ssthresh = max(FlightSize/2, 2*SMSS) (RFC 5681 equation 4).
func (newReno) OnLoss(s *CongestionState, e CongestionEvent) {
	s.Ssthresh = max(e.FlightSize/2, 2*e.MSS)
	s.AckedBytes = 0
}
