package tcp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"berth/seq"
	"berth/wire"
)

// The listener's queues and SYN cookies (RFC 4987 §3.6).

func spoofed(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), uint16(1024+i%60000))
}

func TestSynCookies_FullSynQueue(t *testing.T) {
	h := newHarness(t, nil)
	l := h.listen(1)
	// The first SYN takes the only place in the SYN queue.
	first := parseSeg(t, "<SEQ=5000><CTL=SYN>")
	if c := l.Input(h.now, spoofed(1), addrB, &first); c == nil || l.HalfOpen() != 1 {
		t.Fatal("first SYN not queued")
	}
	h.rec.take()
	// The next is answered with a cookie and nothing is kept.
	syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
	syn.Options.MSS = 1460
	if c := l.Input(h.now, addrA, addrB, &syn); c != nil {
		t.Fatal("a connection was kept for a SYN over the queue's bound")
	}
	got := h.rec.take()
	if len(got) != 1 || got[0].seg.Flags != wire.FlagSYN|wire.FlagACK || got[0].seg.Ack != 101 {
		t.Fatalf("cookie SYN-ACK: %v", got)
	}
	cookie := got[0].seg.Seq
	if got[0].seg.Options.MSS != 1460 || got[0].seg.Options.HasWindowScale {
		t.Fatalf("cookie SYN-ACK options %+v (no timestamps: no window scale)", got[0].seg.Options)
	}
	if l.HalfOpen() != 1 || h.cfg.Stats.SyncookiesSent != 1 {
		t.Fatalf("half-open %d, sent %d", l.HalfOpen(), h.cfg.Stats.SyncookiesSent)
	}
	// The ACK returns the cookie: the connection is made, established,
	// and queued, with the MSS the cookie carried.
	a := parseSeg(t, "<SEQ=101><CTL=ACK><DATA=5>")
	a.Ack = cookie + 1
	c := l.Input(h.now, addrA, addrB, &a)
	if c == nil {
		t.Fatal("valid cookie refused")
	}
	mustState(t, c, StateEstablished)
	h.expect(fmt.Sprintf("<SEQ=%d><ACK=106><CTL=ACK>", cookie+1)) // its data is acknowledged
	if l.TakeEvents() != EventAcceptable || l.Accept() != c {
		t.Fatal("cookie connection not in the accept queue")
	}
	if in := c.Info(); in.SndMSS != 1460 || in.RecvQueue != 5 {
		t.Fatalf("info %+v", in)
	}
	if h.cfg.Stats.SyncookiesRecv != 1 {
		t.Fatalf("SyncookiesRecv = %d", h.cfg.Stats.SyncookiesRecv)
	}
}

func TestSynCookies_BadAndOldCookies(t *testing.T) {
	h := newHarness(t, nil)
	l := h.listen(1)
	first := parseSeg(t, "<SEQ=5000><CTL=SYN>")
	l.Input(h.now, spoofed(1), addrB, &first)
	syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
	l.Input(h.now, addrA, addrB, &syn)
	cookie := h.rec.take()[1].seg.Seq

	try := func(ackNo seq.Value, sq seq.Value) *Conn {
		a := parseSeg(t, "<CTL=ACK>")
		a.Seq, a.Ack = sq, ackNo
		return l.Input(h.now, addrA, addrB, &a)
	}
	// A forged cookie: RST, as for any ACK to a listener.
	if try(cookie+2, 101) != nil {
		t.Fatal("forged cookie accepted")
	}
	h.expect(fmt.Sprintf("<SEQ=%d><CTL=RST>", cookie+2))
	// The right cookie for the wrong client ISN.
	if try(cookie+1, 201) != nil {
		t.Fatal("cookie accepted for another ISN")
	}
	h.rec.take()
	if h.cfg.Stats.SyncookiesFailed != 2 {
		t.Fatalf("SyncookiesFailed = %d", h.cfg.Stats.SyncookiesFailed)
	}
	// Within two periods the cookie still works...
	h.advance(2 * cookiePeriod)
	if try(cookie+1, 101) == nil {
		t.Fatal("cookie refused after two periods")
	}
	h.rec.take()
	// ...after three it is too old.
	l2 := h.listen(1)
	l2.Input(h.now, spoofed(1), addrB, &first)
	l2.Input(h.now, addrA, addrB, &syn)
	cookie = h.rec.take()[1].seg.Seq
	h.advance(3*cookiePeriod + time.Second)
	a := parseSeg(t, "<SEQ=101><CTL=ACK>")
	a.Ack = cookie + 1
	l2.lastOverflow = h.cfg.tick(h.now) // cookies still "in use"
	if l2.Input(h.now, addrA, addrB, &a) != nil {
		t.Fatal("stale cookie accepted")
	}
}

func TestSynCookies_TimestampsCarryWindowScale(t *testing.T) {
	cfg := testConfig()
	cfg.Timestamps = true
	h := newHarness(t, cfg)
	l := h.listen(1)
	first := parseSeg(t, "<SEQ=5000><CTL=SYN>")
	l.Input(h.now, spoofed(1), addrB, &first)
	h.rec.take()
	syn := parseSeg(t, "<SEQ=100><CTL=SYN>")
	syn.Options = wire.TCPOptions{MSS: 1400, HasWindowScale: true, WindowScale: 7, HasTimestamp: true, TSVal: 777}
	l.Input(h.now, addrA, addrB, &syn)
	sa := h.rec.take()[0].seg
	o := sa.Options
	if !o.HasTimestamp || o.TSEcr != 777 || o.TSVal&0x3f != 7 || !o.HasWindowScale || o.WindowScale != 8 {
		t.Fatalf("cookie SYN-ACK options %+v", o)
	}
	a := parseSeg(t, "<SEQ=101><CTL=ACK><WIN=100>")
	a.Ack = sa.Seq + 1
	a.Options = wire.TCPOptions{HasTimestamp: true, TSVal: 778, TSEcr: o.TSVal}
	c := l.Input(h.now, addrA, addrB, &a)
	if c == nil {
		t.Fatal("cookie refused")
	}
	in := c.Info()
	if !in.Timestamps || in.SndWScale != 7 || in.RcvWScale != 8 || in.SndMSS != 1300-12 || in.SndWnd != 100<<7 {
		t.Fatalf("info %+v", in)
	}
}

func TestSynCookies_FloodDoesNotLockOutRealClient(t *testing.T) {
	cfg := testConfig()
	cfg.isnFunc = nil
	h := newHarness(t, cfg)
	l := h.listen(16)
	// 20,000 spoofed SYNs whose SYN-ACKs go nowhere.
	for i := 0; i < 20000; i++ {
		s := parseSeg(t, "<CTL=SYN>")
		s.Seq = seq.Value(i * 7919)
		if c := l.Input(h.now, spoofed(i), addrB, &s); c != nil {
			_ = c // the stack would register it; it will time out
		}
	}
	h.rec.take()
	if l.HalfOpen() != 16 || h.cfg.Stats.SyncookiesSent != 20000-16 {
		t.Fatalf("half-open %d, cookies %d", l.HalfOpen(), h.cfg.Stats.SyncookiesSent)
	}
	// A real client still gets in, through a cookie.
	client := Connect(h.now, cfg, addrA, addrB, 1460, h.rec)
	syn := h.rec.take()[0]
	if c := l.Input(h.now, addrA, addrB, &syn.seg); c != nil {
		t.Fatal("SYN queue bound not enforced")
	}
	synAck := h.rec.take()[0]
	h.deliver(client, synAck)
	mustState(t, client, StateEstablished)
	ackSeg := h.rec.take()[0]
	server := l.Input(h.now, addrA, addrB, &ackSeg.seg)
	if server == nil || l.Accept() != server {
		t.Fatal("real client locked out")
	}
	client.Write(h.now, []byte("hello"))
	h.deliver(server, h.rec.take()[0])
	buf := make([]byte, 8)
	if n, _ := server.Read(h.now, buf); string(buf[:n]) != "hello" {
		t.Fatalf("read %q", buf[:n])
	}
}

func TestListener_AcceptQueueBound(t *testing.T) {
	// The final ACK of a handshake is dropped while the accept queue is
	// full (Linux); the SYN-ACK timer offers the handshake again.
	h := newHarness(t, nil)
	l := h.listen(1)
	s1 := parseSeg(t, "<SEQ=100><CTL=SYN>")
	c1 := l.Input(h.now, addrA, addrB, &s1)
	h.rec.take()
	h.in(c1, "<SEQ=101><ACK=301><CTL=ACK>")
	mustState(t, c1, StateEstablished)
	s2 := parseSeg(t, "<SEQ=100><CTL=SYN>")
	if l.Input(h.now, spoofed(2), addrB, &s2) != nil {
		t.Fatal("SYN accepted with the accept queue full")
	}
	if h.cfg.Stats.ListenOverflows != 1 {
		t.Fatalf("ListenOverflows = %d", h.cfg.Stats.ListenOverflows)
	}
	l.Accept()
	c2 := l.Input(h.now, spoofed(2), addrB, &s2)
	h.rec.take()
	// Fill the queue again with a third connection, then complete c2.
	s3 := parseSeg(t, "<SEQ=100><CTL=SYN>")
	l.SetBacklog(2)
	c3 := l.Input(h.now, spoofed(3), addrB, &s3)
	h.rec.take()
	l.SetBacklog(1)
	h.in(c3, "<SEQ=101><ACK=301><CTL=ACK>")
	h.in(c2, "<SEQ=101><ACK=301><CTL=ACK>")
	mustState(t, c2, StateSynReceived)
	h.expect()
	l.Accept()
	h.runTo(c2)
	h.expect("<SEQ=300><ACK=101><CTL=SYN,ACK>")
	h.in(c2, "<SEQ=101><ACK=301><CTL=ACK>")
	mustState(t, c2, StateEstablished)
}

func TestListener_CloseResetsQueued(t *testing.T) {
	h := newHarness(t, nil)
	l := h.listen(4)
	s1 := parseSeg(t, "<SEQ=100><CTL=SYN>")
	half := l.Input(h.now, spoofed(1), addrB, &s1)
	s2 := parseSeg(t, "<SEQ=100><CTL=SYN>")
	queued := l.Input(h.now, addrA, addrB, &s2)
	h.rec.take()
	h.in(queued, "<SEQ=101><ACK=301><CTL=ACK>")
	closed := l.Close(h.now)
	if len(closed) != 2 || half.State() != StateClosed || queued.State() != StateClosed {
		t.Fatalf("closed %d", len(closed))
	}
	h.expect("<SEQ=301><ACK=101><CTL=RST,ACK>") // the queued one is reset, the half-open one vanishes
}
