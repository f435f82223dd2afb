package tcp

import (
	"fmt"
	"testing"
	"time"

	"berth/seq"
)

// Delayed ACKs (RFC 1122 §4.2.3.2, RFC 5681 §4.2) and Nagle's algorithm
// (RFC 1122 §4.2.3.4), on the Linux timing: quick ACKs after the
// handshake, then at most 40 ms of delay or every second full segment.

// feed sends n bytes of in-order data to c (peer at 300, c at 101) and
// returns the next sequence number.
func (h *harness) feed(c *Conn, at seq.Value, n int) seq.Value {
	h.t.Helper()
	s := parseSeg(h.t, "<ACK=101><CTL=ACK>")
	s.Seq = at
	s.Payload = pattern(at, n)
	c.Input(h.now, &s)
	return at.Add(seq.Size(n))
}

func ack(seqNo, ackNo seq.Value) string {
	return fmt.Sprintf("<SEQ=%d><ACK=%d><CTL=ACK>", seqNo, ackNo)
}

func TestDelayedAck_QuickAcksThenDelay(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	at := seq.Value(301)
	// The first 16 segments are acknowledged at once.
	for i := 0; i < 16; i++ {
		at = h.feed(c, at, 100)
		h.expect(ack(101, at))
		c.Read(h.now, make([]byte, 100))
	}
	// Then one small segment waits for the 40 ms timer.
	at = h.feed(c, at, 100)
	h.expect()
	if d := h.runTo(c); d != 40*time.Millisecond {
		t.Fatalf("delayed ACK after %v", d)
	}
	h.expect(ack(101, at))
	if h.cfg.Stats.DelayedAcks != 1 {
		t.Fatalf("DelayedAcks = %d", h.cfg.Stats.DelayedAcks)
	}
	// Two full-sized segments: the second is acknowledged at once.
	at = h.feed(c, at, 1460)
	h.expect()
	at = h.feed(c, at, 1460)
	h.expect(ack(101, at))
	if !c.Deadline().IsZero() {
		t.Fatal("a timer is still armed after the ACK")
	}
}

func TestDelayedAck_OutOfOrderAndHoleFilledAckAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	h.feed(c, 301, 100) // quick ACK
	h.rec.take()
	c.quick = 0
	// RFC 5681 §4.2: out of order → immediate duplicate ACK.
	h.feed(c, 501, 100)
	h.expect(ack(101, 401))
	h.feed(c, 701, 100)
	h.expect(ack(101, 401))
	// Filling the first hole → immediate ACK up to the next hole.
	h.feed(c, 401, 100)
	h.expect(ack(101, 601))
	h.feed(c, 601, 100)
	h.expect(ack(101, 801))
	buf := make([]byte, 1000)
	n, _ := c.Read(h.now, buf)
	if n != 500 || string(buf[:n]) != string(pattern(301, 500)) {
		t.Fatalf("reassembled %d bytes wrongly", n)
	}
}

func TestDelayedAck_OverlapsTrimmed(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	h.feed(c, 301, 100) // [301, 401)
	h.feed(c, 451, 100) // out of order [451, 551)
	h.feed(c, 351, 150) // overlaps both ends
	h.feed(c, 301, 300) // all old but the last 50
	h.rec.take()
	buf := make([]byte, 1000)
	n, _ := c.Read(h.now, buf)
	if n != 300 || string(buf[:n]) != string(pattern(301, 300)) {
		t.Fatalf("read %d bytes, not the stream", n)
	}
}

func TestDelayedAck_FIN(t *testing.T) {
	// The FIN of a connection that carried data is acknowledged after
	// the delayed-ACK time (linux tcp_basic_server.pkt), so a close from
	// the application can carry the ACK; without data, at once
	// (close-remote-fin-then-close.pkt).
	h := newHarness(t, nil)
	c := h.establish()
	at := h.feed(c, 301, 1000)
	h.expect(ack(101, at))
	c.Read(h.now, make([]byte, 1000))
	fin := parseSeg(t, "<ACK=101><CTL=FIN,ACK>")
	fin.Seq = at
	c.Input(h.now, &fin)
	h.expect()
	if d := h.runTo(c); d != 40*time.Millisecond {
		t.Fatalf("FIN acknowledged after %v", d)
	}
	h.expect(ack(101, at+1))

	h2 := newHarness(t, nil)
	c2 := h2.establish()
	h2.in(c2, "<SEQ=301><ACK=101><CTL=FIN,ACK>")
	h2.expect(ack(101, 302))
	c2.Close(h2.now)
	h2.expect("<SEQ=101><ACK=302><CTL=FIN,ACK>")
}

func TestDelayedAck_PingPongRidesOnReplies(t *testing.T) {
	// Request, reply within the delay: interactive. Later requests are
	// not quick-ACKed; the reply carries the ACK.
	h := newHarness(t, nil)
	c := h.establish()
	at := h.feed(c, 301, 10)
	h.expect(ack(101, at)) // quick
	c.Read(h.now, make([]byte, 10))
	h.advance(time.Millisecond)
	c.Write(h.now, []byte("reply"))
	h.expect("<SEQ=101><ACK=311><CTL=ACK><DATA=5>")
	h.in(c, "<SEQ=311><ACK=106><CTL=ACK>")
	at = h.feed(c, at, 10)
	h.expect() // delayed: a reply is expected
	c.Read(h.now, make([]byte, 10))
	h.advance(5 * time.Millisecond)
	c.Write(h.now, []byte("reply"))
	h.expect("<SEQ=106><ACK=321><CTL=ACK><DATA=5>")
	if !c.Deadline().Equal(h.now.Add(c.rto)) {
		t.Fatal("delayed-ACK timer not cancelled by the reply")
	}
}

func TestNagle(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	c.Write(h.now, make([]byte, 10))
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=10>") // nothing unacknowledged
	c.Write(h.now, make([]byte, 10))
	h.expect() // a small segment is outstanding
	c.Write(h.now, make([]byte, 2000))
	h.expect("<SEQ=111><ACK=301><CTL=ACK><DATA=1460>") // a full segment goes
	h.in(c, "<SEQ=301><ACK=111><CTL=ACK>")
	h.expect("<SEQ=1571><ACK=301><CTL=ACK><DATA=550>") // the small one was acknowledged
	// A FIN is never held back.
	c.Write(h.now, make([]byte, 5))
	h.expect()
	c.CloseWrite(h.now)
	h.expect("<SEQ=2121><ACK=301><CTL=FIN,ACK><DATA=5>")
}

func TestNagle_NoDelay(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	c.Write(h.now, make([]byte, 10))
	c.Write(h.now, make([]byte, 10))
	h.expect("<SEQ=101><ACK=301><CTL=ACK><DATA=10>")
	c.SetNoDelay(h.now, true) // pushes what waits
	h.expect("<SEQ=111><ACK=301><CTL=ACK><DATA=10>")
	c.Write(h.now, make([]byte, 10))
	h.expect("<SEQ=121><ACK=301><CTL=ACK><DATA=10>")
}
