package tcp

import (
	"io"
	"syscall"
	"testing"
	"time"
)

// The application's side: errors as Go's net reports them, events, Info.

func TestAPI_WriteWouldBlockThenWritable(t *testing.T) {
	cfg := testConfig()
	cfg.SndBuf = 4000
	h := newHarness(t, cfg)
	c := h.establish()
	if n, err := c.Write(h.now, make([]byte, 5000)); n != 4000 || err != nil {
		t.Fatalf("Write = %d, %v; want a short write", n, err)
	}
	if n, err := c.Write(h.now, []byte("x")); n != 0 || err != syscall.EWOULDBLOCK {
		t.Fatalf("Write on a full buffer = %d, %v", n, err)
	}
	h.rec.take()
	c.TakeEvents()
	h.in(c, "<SEQ=301><ACK=601><CTL=ACK>") // free 500 of 4000: not yet enough
	if c.TakeEvents()&EventWritable != 0 {
		t.Fatal("Writable with an eighth of the buffer free")
	}
	h.in(c, "<SEQ=301><ACK=3021><CTL=ACK>")
	if c.TakeEvents()&EventWritable == 0 {
		t.Fatal("no Writable event once the buffer drained")
	}
	if n, err := c.Write(h.now, make([]byte, 100)); n != 100 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

func TestAPI_ReadEOFAndErrors(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	buf := make([]byte, 10)
	if _, err := c.Read(h.now, buf); err != syscall.EWOULDBLOCK {
		t.Fatalf("empty Read: %v", err)
	}
	h.in(c, "<SEQ=301><ACK=101><CTL=FIN,ACK><DATA=4>")
	if ev := c.TakeEvents(); ev&(EventReadable|EventReadClosed) != EventReadable|EventReadClosed {
		t.Fatalf("events %v", ev)
	}
	if n, err := c.Read(h.now, buf); n != 4 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if n, err := c.Read(h.now, buf); n != 0 || err != io.EOF {
		t.Fatalf("Read after FIN = %d, %v", n, err)
	}
	// Writing still works in CLOSE-WAIT.
	if n, err := c.Write(h.now, []byte("bye")); n != 3 || err != nil {
		t.Fatalf("Write in CLOSE-WAIT = %d, %v", n, err)
	}
	if err := c.CloseWrite(h.now); err != nil {
		t.Fatal(err)
	}
	mustState(t, c, StateLastAck)
	if _, err := c.Write(h.now, []byte("x")); err != syscall.EPIPE {
		t.Fatalf("Write after CloseWrite: %v", err)
	}
}

func TestAPI_DataThenResetIsReadable(t *testing.T) {
	// As Linux: data that arrived before a reset can still be read; then
	// the reset's error.
	h := newHarness(t, nil)
	c := h.establish()
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=5>")
	h.in(c, "<SEQ=306><CTL=RST>")
	mustState(t, c, StateClosed)
	buf := make([]byte, 10)
	if n, err := c.Read(h.now, buf); n != 5 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if _, err := c.Read(h.now, buf); err != syscall.ECONNRESET {
		t.Fatalf("Read after the data: %v", err)
	}
}

func TestAPI_CloseReadLikeLinux(t *testing.T) {
	// packetdrill shutdown-rd-wr-close.pkt: after SHUT_RD, Read says EOF
	// when nothing is buffered, yet arriving data is still taken.
	h := newHarness(t, nil)
	c := h.establish()
	c.CloseRead()
	if _, err := c.Read(h.now, make([]byte, 4)); err != io.EOF {
		t.Fatalf("Read after CloseRead: %v", err)
	}
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=1000>")
	h.expect("<SEQ=101><ACK=1301><CTL=ACK>")
	if n, _ := c.Read(h.now, make([]byte, 2000)); n != 1000 {
		t.Fatalf("Read = %d", n)
	}
}

func TestAPI_WriteBeforeEstablished(t *testing.T) {
	// RFC 9293 §3.10.2: data written in SYN-SENT is queued and sent once
	// the connection is established.
	h := newHarness(t, nil)
	c := h.connect()
	if n, err := c.Write(h.now, []byte("early")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	h.expect()
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.expect("<SEQ=101><ACK=301><CTL=ACK>", "<SEQ=101><ACK=301><CTL=ACK><DATA=5>")
}

func TestAPI_InfoAndStats(t *testing.T) {
	h := newHarness(t, nil)
	c := h.connect()
	h.advance(20 * time.Millisecond)
	h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1000), withWScale(6))
	h.rec.take()
	c.Write(h.now, make([]byte, 2500))
	h.rec.take()
	in := c.Info()
	want := Info{
		State: StateEstablished, RTT: 20 * time.Millisecond, RTTVar: 10 * time.Millisecond,
		RTO: 220 * time.Millisecond, Cwnd: 10000, Ssthresh: maxCwnd,
		SendQueue: 2500, Unacked: 2500, SndMSS: 1000, AdvMSS: 1460, RcvMSS: 536,
		SndWScale: 6, RcvWScale: 8, SndWnd: 65535, RcvWnd: 256 << 10, Congestion: "newreno",
		SegsIn: 1, SegsOut: 5, // SYN-ACK in; SYN, ACK and three data segments out
	}
	if in != want {
		t.Fatalf("Info\n got %+v\nwant %+v", in, want)
	}
	// The peer acknowledges 1000 bytes with 300 of its own.
	h.in(c, "<SEQ=301><ACK=1101><CTL=ACK><DATA=300>")
	if in := c.Info(); in.SegsIn != 2 || in.BytesAcked != 1000 || in.BytesReceived != 300 {
		t.Fatalf("after an ACK with data: SegsIn %d, BytesAcked %d, BytesReceived %d; want 2, 1000, 300",
			in.SegsIn, in.BytesAcked, in.BytesReceived)
	}
	if got := c.State().String(); got != "ESTABLISHED" {
		t.Fatal(got)
	}
	for s := StateClosed; s <= StateTimeWait; s++ {
		if s.String() == "UNKNOWN" {
			t.Fatalf("state %d has no name", s)
		}
	}
}

func TestAPI_DeadlineIsEarliestTimer(t *testing.T) {
	h := newHarness(t, nil)
	c := h.establish()
	if !c.Deadline().IsZero() {
		t.Fatal("an idle connection has a deadline")
	}
	c.quick = 0
	h.in(c, "<SEQ=301><ACK=101><CTL=ACK><DATA=10>") // delayed ACK: 40 ms
	c.Write(h.now, []byte("x"))                     // the ACK rides along; RTO 200 ms
	if d := c.Deadline().Sub(h.now); !near(d, 200*time.Millisecond) {
		t.Fatalf("deadline in %v", d)
	}
	c.Tick(h.now.Add(time.Millisecond)) // early ticks do nothing
	h.rec.take()
	if d := c.Deadline().Sub(h.now); !near(d, 200*time.Millisecond) {
		t.Fatalf("deadline moved to %v", d)
	}
}
