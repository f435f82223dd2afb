package tcp

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"berth/seq"
)

// The exchanges of RFC 9293 §3.5 and §3.6, figure by figure, with the
// sequence numbers of the figures.

// setISNs makes the side at addrA start at a and the side at addrB at b.
func setISNs(cfg *Config, a, b seq.Value) {
	cfg.isnFunc = func(local, remote netip.AddrPort) seq.Value {
		if local == addrA {
			return a
		}
		return b
	}
}

// deliver hands a segment another Conn sent to c.
func (h *harness) deliver(c *Conn, s sent) {
	h.t.Helper()
	seg := s.seg
	c.Input(h.now, &seg)
}

// pairAt makes two ESTABLISHED Conns, a (active, at addrA) and b (passive,
// at addrB), with ISNs issA and issB, by running the handshake between
// them.
func (h *harness) pairAt(issA, issB seq.Value) (a, b *Conn) {
	h.t.Helper()
	setISNs(h.cfg, issA, issB)
	l := h.listen(8)
	a = Connect(h.now, h.cfg, addrA, addrB, 1460, h.rec)
	syn := h.rec.take()[0]
	b = l.Input(h.now, addrA, addrB, &syn.seg)
	synAck := h.rec.take()[0]
	h.deliver(a, synAck)
	ack := h.rec.take()[0]
	h.deliver(b, ack)
	if l.Accept() != b || a.State() != StateEstablished || b.State() != StateEstablished {
		h.t.Fatalf("handshake failed: a %v, b %v", a.State(), b.State())
	}
	h.expect()
	a.TakeEvents()
	b.TakeEvents()
	return a, b
}

func TestExchange_RFC9293_Figure6_ThreeWayHandshake(t *testing.T) {
	h := newHarness(t, nil)
	l := h.listen(4)

	// 2.  SYN-SENT    --> <SEQ=100><CTL=SYN>               --> SYN-RECEIVED
	a := h.connect()
	mustState(t, a, StateSynSent)
	syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
	syn.Options.MSS = 1460
	b := l.Input(h.now, addrA, addrB, &syn)
	mustState(t, b, StateSynReceived)
	if l.HalfOpen() != 1 {
		t.Fatalf("HalfOpen = %d", l.HalfOpen())
	}
	// 3.  ESTABLISHED <-- <SEQ=300><ACK=101><CTL=SYN,ACK>  <-- SYN-RECEIVED
	synAck := h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")[0]
	if synAck.local != addrB || synAck.remote != addrA {
		t.Fatalf("SYN-ACK from %v to %v", synAck.local, synAck.remote)
	}
	h.deliver(a, synAck)
	mustState(t, a, StateEstablished)
	if ev := a.TakeEvents(); ev&EventEstablished == 0 || ev&EventWritable == 0 {
		t.Fatalf("active events %v", ev)
	}
	// 4.  ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK>       --> ESTABLISHED
	ack := h.expect("<SEQ=101><ACK=301><CTL=ACK>")[0]
	h.deliver(b, ack)
	mustState(t, b, StateEstablished)
	h.expect()
	if ev := l.TakeEvents(); ev != EventAcceptable {
		t.Fatalf("listener events %v", ev)
	}
	if l.Accept() != b || l.Accept() != nil || l.HalfOpen() != 0 {
		t.Fatal("accept queue wrong")
	}
	// 5.  ESTABLISHED --> <SEQ=101><ACK=301><CTL=ACK><DATA> --> ESTABLISHED
	if n, err := a.Write(h.now, []byte("0123456789")); n != 10 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	data := h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=10>")[0]
	h.deliver(b, data)
	h.expect("<SEQ=301><ACK=111><CTL=ACK>") // a quick ACK: the connection is new
	buf := make([]byte, 64)
	n, err := b.Read(h.now, buf)
	if string(buf[:n]) != "0123456789" || err != nil {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := b.Read(h.now, buf); err != syscall.EWOULDBLOCK {
		t.Fatalf("empty Read err = %v", err)
	}
	st := h.cfg.Stats
	if st.ActiveOpens != 1 || st.PassiveOpens != 1 || st.CurrEstab != 2 {
		t.Fatalf("stats %+v", *st)
	}
}

func TestExchange_RFC9293_Figure6_Options(t *testing.T) {
	// The SYN offers MSS, SACK-permitted, window scale and timestamps (the
	// Linux profile); the SYN-ACK answers only what the SYN offered.
	cfg := testConfig()
	cfg.Timestamps = true
	h := newHarness(t, cfg)
	a := Connect(h.now, cfg, addrA, addrB, 1460, h.rec)
	syn := h.rec.take()[0].seg
	o := syn.Options
	if o.MSS != 1460 || !o.HasWindowScale || o.WindowScale != 8 || !o.HasTimestamp || o.TSEcr != 0 || !o.SACKPermitted {
		t.Fatalf("SYN options %+v", o)
	}
	if syn.Window != 65535 {
		t.Fatalf("SYN window %d", syn.Window)
	}
	l := h.listen(4)
	plain := parseSeg(t, "<SEQ=100><CTL=SYN>")
	plain.Options.MSS = 1000
	b := l.Input(h.now, addrA, addrB, &plain)
	sa := h.rec.take()[0].seg.Options
	if sa.MSS != 1460 || sa.HasWindowScale || sa.HasTimestamp || sa.SACKPermitted {
		t.Fatalf("SYN-ACK to a bare SYN has options %+v", sa)
	}
	h.in(b, "<SEQ=101><ACK=301><CTL=ACK>")
	if in := b.Info(); in.SndMSS != 1000 || in.SndWScale != -1 || in.Timestamps {
		t.Fatalf("passive info %+v", in)
	}
	// The SYN-ACK to a with timestamps and scale 7: MSS less 12 for the
	// timestamp option on every segment.
	h.in(a, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460), withWScale(7), withTS(5000, syn.Options.TSVal))
	ack := h.rec.take()[0].seg
	if !ack.Options.HasTimestamp || ack.Options.TSEcr != 5000 {
		t.Fatalf("ACK timestamps %+v", ack.Options)
	}
	if ack.Window != uint16(cfg.RcvBuf>>8) {
		t.Fatalf("ACK window %d, want %d (scaled by 8)", ack.Window, cfg.RcvBuf>>8)
	}
	if in := a.Info(); in.SndMSS != 1448 || in.SndWScale != 7 || in.RcvWScale != 8 || !in.Timestamps || in.SACK {
		t.Fatalf("active info %+v", in)
	}
}

func TestExchange_RFC9293_Figure7_SimultaneousOpen(t *testing.T) {
	h := newHarness(t, nil)
	// Both ends open actively, each towards the other.
	a := Connect(h.now, h.cfg, addrA, addrB, 1460, h.rec)
	synA := h.expect("<SEQ=100><CTL=SYN>")[0]
	b := Connect(h.now, h.cfg, addrB, addrA, 1460, h.rec)
	synB := h.expect("<SEQ=300><CTL=SYN>")[0]

	// 3.  SYN-RECEIVED <-- <SEQ=300><CTL=SYN>              <-- SYN-SENT
	h.deliver(a, synB)
	mustState(t, a, StateSynReceived)
	// 5.               --> <SEQ=100><ACK=301><CTL=SYN,ACK> ...
	synAckA := h.expect("<SEQ=100><ACK=301><CTL=SYN,ACK>")[0]
	// 4.               ... <SEQ=100><CTL=SYN>              --> SYN-RECEIVED
	h.deliver(b, synA)
	mustState(t, b, StateSynReceived)
	synAckB := h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")[0]
	// 6.  ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED
	h.deliver(a, synAckB)
	mustState(t, a, StateEstablished)
	// 7.               ... <SEQ=100><ACK=301><CTL=SYN,ACK> --> ESTABLISHED
	h.deliver(b, synAckA)
	mustState(t, b, StateEstablished)
	h.expect() // nothing more: each SYN-ACK was the other's ACK

	// And data flows.
	a.Write(h.now, []byte("hi"))
	h.deliver(b, h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=2>")[0])
	h.expect("<SEQ=301><ACK=103><CTL=ACK>")
}

func TestExchange_RFC9293_Figure8_RecoveryFromOldDuplicateSYN(t *testing.T) {
	h := newHarness(t, nil)
	// Peer A's view.
	a := h.connect() // 2. SYN-SENT --> <SEQ=100><CTL=SYN>
	// 4.  SYN-SENT    <-- <SEQ=300><ACK=91><CTL=SYN,ACK>  <-- SYN-RECEIVED
	h.in(a, "<SEQ=300><ACK=91><CTL=SYN,ACK>")
	// 5.  SYN-SENT    --> <SEQ=91><CTL=RST>               --> LISTEN
	h.expect("<SEQ=91><CTL=RST>")
	mustState(t, a, StateSynSent)
	// 7.  ESTABLISHED <-- <SEQ=400><ACK=101><CTL=SYN,ACK>  <-- SYN-RECEIVED
	h.in(a, "<SEQ=400><ACK=101><CTL=SYN,ACK>")
	// 8.  ESTABLISHED --> <SEQ=101><ACK=401><CTL=ACK>      --> ESTABLISHED
	h.expect("<SEQ=101><ACK=401><CTL=ACK>")
	mustState(t, a, StateEstablished)

	// Peer B's view: the listener.
	l := h.listen(4)
	dup := parseSeg(t, "<SEQ=90><CTL=SYN>")
	b1 := l.Input(h.now, addrA, addrB, &dup) // 3. SYN-RECEIVED
	h.expect("<SEQ=300><ACK=91><CTL=SYN,ACK>")
	h.in(b1, "<SEQ=91><CTL=RST>") // 5. --> LISTEN
	mustState(t, b1, StateClosed)
	if b1.Err() != nil || l.HalfOpen() != 0 {
		t.Fatalf("after RST: err %v, half-open %d", b1.Err(), l.HalfOpen())
	}
	h.expect()
	setISNs(h.cfg, 100, 400)
	syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
	b2 := l.Input(h.now, addrA, addrB, &syn) // 6. SYN-RECEIVED
	h.expect("<SEQ=400><ACK=101><CTL=SYN,ACK>")
	h.in(b2, "<SEQ=101><ACK=401><CTL=ACK>")
	mustState(t, b2, StateEstablished)
	if l.Accept() != b2 {
		t.Fatal("not accepted")
	}
}

func TestExchange_RFC9293_Figure9_HalfOpenConnectionDiscovery(t *testing.T) {
	h := newHarness(t, nil)
	// B is ESTABLISHED with "send 300, receive 100": ISNs 99 and 299.
	_, b := h.pairAt(99, 299)
	// A crashed and comes back with ISN 400.
	setISNs(h.cfg, 400, 0)
	a := Connect(h.now, h.cfg, addrA, addrB, 1460, h.rec)
	// 3.  SYN-SENT --> <SEQ=400><CTL=SYN>              --> (??)
	syn := h.expect("<SEQ=400><CTL=SYN>")[0]
	h.deliver(b, syn)
	// 4.  (!!)     <-- <SEQ=300><ACK=100><CTL=ACK>     <-- ESTABLISHED
	// (RFC 5961 §4 calls this the challenge ACK.)
	ack := h.expect("<SEQ=300><ACK=100><CTL=ACK>")[0]
	mustState(t, b, StateEstablished)
	h.deliver(a, ack)
	// 5.  SYN-SENT --> <SEQ=100><CTL=RST>              --> (Abort!!)
	rst := h.expect("<SEQ=100><CTL=RST>")[0]
	mustState(t, a, StateSynSent)
	h.deliver(b, rst)
	// 6.  SYN-SENT                                         CLOSED
	mustState(t, b, StateClosed)
	if !errors.Is(b.Err(), syscall.ECONNRESET) {
		t.Fatalf("b.Err = %v", b.Err())
	}
	// 7.  SYN-SENT --> <SEQ=400><CTL=SYN>              -->
	h.runTo(a)
	h.expect("<SEQ=400><CTL=SYN>")
}

func TestExchange_RFC9293_Figure10_ActiveSideCausesHalfOpenDiscovery(t *testing.T) {
	h := newHarness(t, nil)
	_, b := h.pairAt(99, 299) // B: send 300, receive 100
	b.Write(h.now, make([]byte, 10))
	// 3.  ... <SEQ=300><ACK=100><DATA=10><CTL=ACK> <-- ESTABLISHED
	data := h.expect("<SEQ=300><ACK=100><CTL=ACK><DATA=10>")[0]
	// A rebooted: no connection, so the stack answers with RSTFor.
	// 4.  --> <SEQ=100><CTL=RST>                   --> (ABORT!!)
	rst, ok := RSTFor(&data.seg, len(data.seg.Payload))
	if !ok || fmtSeg(&rst, false) != "<SEQ=100><CTL=RST>" {
		t.Fatalf("RSTFor = %s, %v", fmtSeg(&rst, false), ok)
	}
	b.Input(h.now, &rst)
	mustState(t, b, StateClosed)
	if ev := b.TakeEvents(); ev&EventClosed == 0 {
		t.Fatalf("events %v", ev)
	}
	if _, err := b.Read(h.now, make([]byte, 1)); err != syscall.ECONNRESET {
		t.Fatalf("Read err = %v", err)
	}
	if _, err := b.Write(h.now, []byte("x")); err != syscall.ECONNRESET {
		t.Fatalf("Write err = %v", err)
	}
	if h.cfg.Stats.EstabResets != 1 {
		t.Fatalf("EstabResets = %d", h.cfg.Stats.EstabResets)
	}
	h.expect()
}

func TestExchange_RFC9293_Figure11_OldDuplicateSYNInitiatesReset(t *testing.T) {
	h := newHarness(t, nil)
	// Both peers listen. B receives an old SYN <SEQ=Z>, Z=1000.
	setISNs(h.cfg, 100, 5000)
	lb := h.listen(4)
	old := parseSeg(t, "<SEQ=1000><CTL=SYN>")
	b := lb.Input(h.now, addrA, addrB, &old)
	// 3.  (??) <-- <SEQ=X><ACK=Z+1><CTL=SYN,ACK>       <-- SYN-RECEIVED
	synAck := h.expect("<SEQ=5000><ACK=1001><CTL=SYN,ACK>")[0]
	// A's listener rejects an acknowledgment.
	la := NewListener(h.cfg, addrA, 4, 1460, h.rec)
	if c := la.Input(h.now, addrB, addrA, &synAck.seg); c != nil {
		t.Fatal("listener made a connection from a SYN-ACK")
	}
	// 4.       --> <SEQ=Z+1><CTL=RST>                  --> (return to LISTEN!)
	rst := h.expect("<SEQ=1001><CTL=RST>")[0]
	h.deliver(b, rst)
	mustState(t, b, StateClosed)
	if b.Err() != nil || lb.HalfOpen() != 0 {
		t.Fatalf("err %v, half-open %d", b.Err(), lb.HalfOpen())
	}
	h.expect()
}

func TestExchange_RFC9293_Figure12_NormalClose(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.pairAt(99, 299) // A sends from 100, B from 300
	// 2.  FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  --> CLOSE-WAIT
	a.Close(h.now)
	mustState(t, a, StateFinWait1)
	fin := h.expect("<SEQ=100><ACK=300><CTL=FIN,ACK>")[0]
	h.deliver(b, fin)
	mustState(t, b, StateCloseWait)
	if ev := b.TakeEvents(); ev&EventReadClosed == 0 {
		t.Fatalf("b events %v", ev)
	}
	if _, err := b.Read(h.now, make([]byte, 8)); err == nil || err.Error() != "EOF" {
		t.Fatalf("Read after FIN: %v", err)
	}
	// 3.  FIN-WAIT-2  <-- <SEQ=300><ACK=101><CTL=ACK>      <-- CLOSE-WAIT
	h.deliver(a, h.expect("<SEQ=300><ACK=101><CTL=ACK>")[0])
	mustState(t, a, StateFinWait2)
	// 4.  TIME-WAIT   <-- <SEQ=300><ACK=101><CTL=FIN,ACK>  <-- LAST-ACK
	b.Close(h.now)
	mustState(t, b, StateLastAck)
	h.deliver(a, h.expect("<SEQ=300><ACK=101><CTL=FIN,ACK>")[0])
	mustState(t, a, StateTimeWait)
	// 5.  TIME-WAIT   --> <SEQ=101><ACK=301><CTL=ACK>      --> CLOSED
	h.deliver(b, h.expect("<SEQ=101><ACK=301><CTL=ACK>")[0])
	mustState(t, b, StateClosed)
	if b.Err() != nil {
		t.Fatalf("b.Err = %v", b.Err())
	}
	// 6.  (2 MSL) CLOSED
	if d := h.runTo(a); d != 60*time.Second {
		t.Fatalf("TIME-WAIT lasted %v", d)
	}
	mustState(t, a, StateClosed)
	if a.Err() != nil || a.TakeEvents()&EventClosed == 0 {
		t.Fatal("no clean Closed event")
	}
	h.expect()
	if h.cfg.Stats.CurrEstab != 0 {
		t.Fatalf("CurrEstab = %d", h.cfg.Stats.CurrEstab)
	}
}

func TestExchange_RFC9293_Figure13_SimultaneousClose(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.pairAt(99, 299)
	// 2.  Both close.
	a.Close(h.now)
	finA := h.expect("<SEQ=100><ACK=300><CTL=FIN,ACK>")[0]
	b.Close(h.now)
	finB := h.expect("<SEQ=300><ACK=100><CTL=FIN,ACK>")[0]
	mustState(t, a, StateFinWait1)
	mustState(t, b, StateFinWait1)
	// 3.  CLOSING     --> <SEQ=101><ACK=301><CTL=ACK>      ... CLOSING
	h.deliver(a, finB)
	mustState(t, a, StateClosing)
	ackA := h.expect("<SEQ=101><ACK=301><CTL=ACK>")[0]
	h.deliver(b, finA)
	mustState(t, b, StateClosing)
	ackB := h.expect("<SEQ=301><ACK=101><CTL=ACK>")[0]
	// 4.  TIME-WAIT                                            TIME-WAIT
	h.deliver(a, ackB)
	h.deliver(b, ackA)
	mustState(t, a, StateTimeWait)
	mustState(t, b, StateTimeWait)
	h.expect()
	h.advance(60*time.Second, a, b)
	mustState(t, a, StateClosed)
	mustState(t, b, StateClosed)
	h.expect()
}

func TestExchange_HalfClose(t *testing.T) {
	// A shuts down its sending side and keeps receiving (RFC 9293 §3.6:
	// "a TCP implementation MUST continue to receive after CLOSE").
	h := newHarness(t, nil)
	a, b := h.pairAt(99, 299)
	if err := a.CloseWrite(h.now); err != nil {
		t.Fatal(err)
	}
	h.deliver(b, h.expect("<SEQ=100><ACK=300><CTL=FIN,ACK>")[0])
	h.deliver(a, h.expect("<SEQ=300><ACK=101><CTL=ACK>")[0])
	mustState(t, a, StateFinWait2)
	if _, err := a.Write(h.now, []byte("x")); err != syscall.EPIPE {
		t.Fatalf("Write after CloseWrite: %v", err)
	}
	if !a.Deadline().IsZero() {
		t.Fatal("a half-closed FIN-WAIT-2 connection must not time out")
	}
	b.Write(h.now, []byte("late data"))
	h.deliver(a, h.expect("<SEQ=300><ACK=101><CTL=ACK><DATA=9>")[0])
	h.expect("<SEQ=101><ACK=309><CTL=ACK>")
	buf := make([]byte, 16)
	n, err := a.Read(h.now, buf)
	if string(buf[:n]) != "late data" || err != nil {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
}
