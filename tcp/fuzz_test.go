package tcp

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"
	"time"

	"berth/seq"
	"berth/wire"
)

// invariants checks what must hold of a connection between calls.
func (c *Conn) invariants() error {
	if c.state == StateClosed {
		if c.rtxAt != 0 || c.delackAt != 0 || c.keepAt != 0 {
			return fmt.Errorf("CLOSED with a timer armed")
		}
		return nil
	}
	if c.state == StateSynSent {
		return nil
	}
	if !(c.sndUna.LessThanEq(c.sndNxt) && c.sndNxt.LessThanEq(c.sndMax)) {
		return fmt.Errorf("send space out of order: UNA %d NXT %d MAX %d", c.sndUna, c.sndNxt, c.sndMax)
	}
	if end := c.sndEnd().Add(1); c.state.synchronized() && c.sndMax.GreaterThan(end) {
		return fmt.Errorf("sent beyond the data: MAX %d, end %d", c.sndMax, end)
	}
	if c.rcvAdv.LessThan(c.rcvNxt) && c.state != StateTimeWait {
		return fmt.Errorf("advertised edge %d behind RCV.NXT %d", c.rcvAdv, c.rcvNxt)
	}
	if c.rcvBuf.len() > c.rcvBufSize()+1<<14 {
		return fmt.Errorf("receive buffer holds %d bytes", c.rcvBuf.len())
	}
	if c.rcvBuf.len() > c.rcvBuf.cap() || c.sndBuf.len() > c.sndBuf.cap() {
		return fmt.Errorf("ring overfull")
	}
	prev := c.rcvNxt
	for i, r := range c.ooo {
		if !prev.LessThan(r.start) {
			return fmt.Errorf("out-of-order range %d [%d,%d) not after %d", i, r.start, r.end, prev)
		}
		if !r.start.LessThan(r.end) || r.end.GreaterThan(c.rcvAdv) {
			return fmt.Errorf("bad out-of-order range [%d,%d), edge %d", r.start, r.end, c.rcvAdv)
		}
		if len(c.ooo) > c.cfg.MaxOOORanges {
			return fmt.Errorf("%d out-of-order ranges", len(c.ooo))
		}
		prev = r.end
	}
	if c.sack != nil {
		prev := c.sndUna
		for i, r := range c.sack.sacked {
			if !prev.LessThan(r.start) || !r.start.LessThan(r.end) || r.end.GreaterThan(c.sndMax) {
				return fmt.Errorf("SACKed range %d [%d,%d) out of place: UNA %d MAX %d", i, r.start, r.end, c.sndUna, c.sndMax)
			}
			prev = r.end
		}
		if len(c.sack.sacked) > c.cfg.MaxOOORanges {
			return fmt.Errorf("%d SACKed ranges", len(c.sack.sacked))
		}
	}
	if c.state.synchronized() && c.cong.Cwnd < uint32(c.sndMSS) && c.state != StateTimeWait {
		return fmt.Errorf("cwnd %d below one MSS", c.cong.Cwnd)
	}
	return nil
}

// FuzzTwoConns drives two connections over a lossy pipe with random
// actions. Whatever happens, nothing panics, each side reads a prefix of
// what the other wrote, and the invariants hold.
func FuzzTwoConns(f *testing.F) {
	f.Add([]byte{0, 200, 5, 10, 3, 5, 10, 3})                         // write, wait, read
	f.Add([]byte{0, 255, 0, 255, 6, 5, 50, 3, 1, 30, 5, 20, 2, 4, 0}) // drops and a close
	f.Add([]byte{7, 0, 100, 7, 1, 100, 5, 1, 6, 6, 6, 5, 200, 2, 3})  // reorder, writes both ways
	f.Add(bytes.Repeat([]byte{0, 255, 6, 5, 20, 3}, 20))              // loss under load
	f.Add([]byte{4, 2, 4, 3, 5, 255, 5, 255, 5, 255})                 // abort and close
	f.Fuzz(fuzzTwoConnsBody)
}

func fuzzTwoConnsBody(t *testing.T, ops []byte) {
	{
		if len(ops) > 400 {
			ops = ops[:400]
		}
		p := newPipe(t, nil, 1)
		p.readOK = [2]bool{false, false}
		next := func(i *int) byte {
			*i++
			if *i < len(ops) {
				return ops[*i]
			}
			return 0
		}
		var counter byte
		for i := 0; i < len(ops); i++ {
			op := ops[i] % 8
			side := int(ops[i]>>3) & 1
			c := p.conns[side]
			switch op {
			case 0, 1: // write
				n := int(next(&i)) * 61
				if c != nil {
					b := make([]byte, n)
					for j := range b {
						b[j] = counter
						counter++
					}
					w, _ := c.Write(p.now, b)
					p.wrote[side] = append(p.wrote[side], b[:w]...)
				}
			case 2, 3: // read
				if c != nil {
					n, _ := c.Read(p.now, p.rbuf[:int(next(&i))*50+1])
					p.sink[side] = append(p.sink[side], p.rbuf[:n]...)
				}
			case 4: // close, half-close or abort
				if c != nil {
					switch next(&i) % 3 {
					case 0:
						c.CloseWrite(p.now)
					case 1:
						c.Close(p.now)
					case 2:
						c.Abort(p.now)
					}
				}
			case 5: // let time pass
				d := time.Duration(next(&i)) * 10 * time.Millisecond
				p.run(d, func() bool { return false })
			case 6: // lose the next packet in flight
				if len(p.inflight) > 0 {
					p.inflight = p.inflight[1:]
				}
			case 7: // reorder or duplicate two packets
				if k := len(p.inflight); k >= 2 {
					j := int(next(&i)) % k
					if next(&i)%2 == 0 {
						p.inflight[0], p.inflight[j] = p.inflight[j], p.inflight[0]
						p.inflight[0].at, p.inflight[j].at = p.inflight[j].at, p.inflight[0].at
					} else {
						d := p.inflight[j]
						d.seg.Payload = bytes.Clone(d.seg.Payload)
						p.inflight = append(p.inflight, d)
					}
				}
			}
			checkPipe(t, p)
		}
		p.readOK = [2]bool{true, true}
		p.run(10*time.Minute, func() bool { return false })
		checkPipe(t, p)
		// Liveness: on a now lossless path, two connections that are
		// both still open have delivered everything.
		a, b := p.conns[0], p.conns[1]
		if a != nil && b != nil && a.State() != StateClosed && b.State() != StateClosed {
			for side := range 2 {
				if len(p.sink[1-side]) != len(p.wrote[side]) {
					t.Fatalf("side %d wrote %d bytes, %d arrived (states %v, %v)",
						side, len(p.wrote[side]), len(p.sink[1-side]), a.State(), b.State())
				}
			}
		}
	}
}

func checkPipe(t *testing.T, p *pipe) {
	t.Helper()
	for side, c := range p.conns {
		if c == nil {
			continue
		}
		if err := c.invariants(); err != nil {
			t.Fatalf("side %d (%v): %v", side, c.State(), err)
		}
		if !bytes.HasPrefix(p.wrote[1-side], p.sink[side]) {
			t.Fatalf("side %d read %d bytes that are not a prefix of the %d written", side, len(p.sink[side]), len(p.wrote[1-side]))
		}
	}
}

// FuzzSegmentsIntoEstablished throws arbitrary segments, near the
// connection's sequence space or not, at an established connection, with
// application calls and time in between.
func FuzzSegmentsIntoEstablished(f *testing.F) {
	f.Add([]byte{0x10, 0, 0, 0, 0, 0, 0, 1, 0, 10})
	f.Add([]byte{0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 5, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x11, 0, 0, 0, 100, 0, 0, 0, 255, 255, 0x19, 0, 0, 0, 0, 0, 0, 2, 0, 0})
	f.Add(bytes.Repeat([]byte{0x18, 0, 0, 5, 200, 0, 0, 0, 0, 40, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testConfig()
		cfg.Timestamps = true
		cfg.RcvBuf = 8192
		cfg.MaxOOORanges = 4
		h := newHarness(t, cfg)
		c := h.establishTS()
		c.Write(h.now, make([]byte, 3000))
		h.rec.take()
		ts := uint32(1000)
		for len(data) >= 10 {
			b := data[:10]
			data = data[10:]
			flags := wire.TCPFlags(b[0])
			s := Segment{Flags: flags}
			s.Seq = c.rcvNxt + seq.Value(int32(int16(uint16(b[1])<<8|uint16(b[2])))) // near RCV.NXT
			s.Ack = c.sndUna + seq.Value(int32(int8(b[3])))*64
			s.Window = uint16(b[4]) << 4
			if b[5]&1 != 0 {
				ts += uint32(b[5] >> 1)
				s.Options.HasTimestamp, s.Options.TSVal = true, ts-uint32(b[6]&0x7)
			}
			if b[5]&2 != 0 {
				s.Seq = seq.Value(uint32(b[6])<<24 | uint32(b[7])<<8) // anywhere
			}
			s.Payload = pattern(s.Seq, int(b[8]&0x7f)*20)
			c.Input(h.now, &s)
			switch b[9] % 6 {
			case 0:
				h.advance(time.Duration(b[9])*7*time.Millisecond, c)
			case 1:
				c.Read(h.now, make([]byte, int(b[9])*30))
			case 2:
				c.Write(h.now, make([]byte, int(b[9])*40))
			case 3:
				if b[9] > 200 {
					c.CloseWrite(h.now)
				}
			}
			h.rec.take()
			if err := c.invariants(); err != nil {
				t.Fatalf("%v: %v", c.State(), err)
			}
		}
		h.advance(time.Hour, c)
		if err := c.invariants(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSACKScoreboard throws ACKs with arbitrary SACK blocks, valid or not,
// at a SACK connection with data in flight, with time and writes in
// between: the scoreboard stays sorted within SND.UNA..SND.MAX, recovery
// and probes never send more than the peer's MSS, and nothing panics.
func FuzzSACKScoreboard(f *testing.F) {
	f.Add([]byte{0, 1, 4, 0, 0, 0, 0, 0, 1, 6, 0, 0, 0, 1, 8, 0, 0, 0})                // growing islands
	f.Add([]byte{0, 2, 3, 5, 9, 0, 1, 0, 0, 0, 0, 40, 2, 1, 12, 0, 0, 3})              // two islands, an ACK, time
	f.Add([]byte{0, 0x81, 4, 0, 0, 1, 0, 0, 1, 2, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 4}) // D-SACK, garbage
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := sackConfig()
		cfg.Timestamps = data != nil && len(data)%2 == 1
		cfg.MaxOOORanges = 4
		h := newHarness(t, cfg)
		c := h.connect()
		h.now = h.now.Add(20 * time.Millisecond)
		if cfg.Timestamps {
			h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460), withSACKPerm, withTS(1, 0))
		} else {
			h.in(c, "<SEQ=300><ACK=101><CTL=SYN,ACK>", withMSS(1460), withSACKPerm)
		}
		c.Write(h.now, make([]byte, 40<<10))
		mss := 1460
		check := func() {
			t.Helper()
			for _, s := range h.rec.take() {
				if n := len(s.seg.Payload) + s.seg.Options.Len(); n > mss {
					t.Fatalf("segment of %d bytes with options: %s", n, fmtSeg(&s.seg, false))
				}
			}
			if err := c.invariants(); err != nil {
				t.Fatalf("%v: %v", c.State(), err)
			}
		}
		check()
		for len(data) >= 6 {
			b := data[:6]
			data = data[6:]
			s := Segment{Flags: wire.FlagACK, Seq: c.rcvNxt, Window: 65535}
			s.Ack = c.sndUna + seq.Value(b[0]&0x7f)*512
			base := s.Ack
			if b[0]&0x80 != 0 {
				base = c.sndUna - 3000 // D-SACK territory
			}
			for k := 0; k < min(int(b[1]&3), 2); k++ {
				l := base.Add(seq.Size(b[2+k]) * 730)
				r := l.Add(seq.Size(b[4+k]&0x1f+1) * 365)
				if b[1]&0x40 != 0 {
					l, r = r, l
				}
				s.Options.SACK[k] = wire.SACKBlock{Left: uint32(l), Right: uint32(r)}
				s.Options.NumSACK++
			}
			if b[1]&0x20 != 0 {
				s.Payload = pattern(s.Seq, 100)
			}
			if cfg.Timestamps {
				withTS(2, 0)(&s)
			}
			if s.Ack.LessThanEq(c.sndMax) {
				c.Input(h.now, &s)
			}
			switch b[1] >> 2 & 3 {
			case 1:
				h.advance(time.Duration(b[5])*3*time.Millisecond, c)
			case 2:
				c.Write(h.now, make([]byte, int(b[5])*50))
			case 3:
				if d := c.Deadline(); !d.IsZero() {
					h.runTo(c)
				}
			}
			check()
		}
		h.advance(time.Hour, c)
		check()
	})
}

// FuzzICMPErrors throws ICMP errors with arbitrary quoted sequence numbers,
// MTUs and lengths at a connection with data in flight, with ACKs, writes
// and time in between: the MSS never drops below what MinPathMTU allows,
// the invariants hold, and nothing panics.
func FuzzICMPErrors(f *testing.F) {
	f.Add([]byte{1, 0, 0, 3, 232, 5, 220, 0})                            // frag needed, MTU 1000
	f.Add([]byte{1, 0, 0, 0, 0, 5, 220, 1, 0, 0, 0, 0, 0, 0, 0, 2})      // no MTU, then an ACK
	f.Add([]byte{2, 0, 5, 0, 0, 0, 0, 3, 3, 0x80, 0, 0, 0, 0, 0, 0})     // soft error, then time
	f.Add([]byte{1, 0xff, 0xff, 0, 100, 0, 40, 4, 1, 0, 1, 0, 68, 0, 0}) // out of window, tiny MTU
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testConfig()
		cfg.Timestamps = len(data)%2 == 1
		cfg.Retries = 3
		h := newHarness(t, cfg)
		var c *Conn
		if cfg.Timestamps {
			c = h.establishTS()
		} else {
			c = h.establish()
		}
		c.Write(h.now, make([]byte, 20000))
		h.rec.take()
		floor := MinPathMTU - 40 - 12
		for len(data) >= 8 {
			b := data[:8]
			data = data[8:]
			e := ICMPError{
				Seq:         c.sndUna + seq.Value(int32(int16(uint16(b[1])<<8|uint16(b[2])))),
				Errno:       syscall.Errno(b[0] >> 2),
				FragNeeded:  b[0]&1 != 0,
				Hard:        b[0]&2 != 0,
				PathMTU:     int(b[3])<<8 | int(b[4]),
				DatagramLen: int(b[5])<<8 | int(b[6]),
			}
			c.HandleICMP(h.now, e)
			switch b[7] % 4 {
			case 0:
				h.advance(time.Duration(b[7])*10*time.Millisecond, c)
			case 1:
				c.Write(h.now, make([]byte, int(b[7])*50))
			case 2:
				ack := Segment{Seq: c.rcvNxt, Ack: c.sndUna.Add(seq.Size(b[7]) * 100), Flags: wire.FlagACK, Window: 1000}
				if ack.Ack.GreaterThan(c.sndMax) {
					ack.Ack = c.sndMax
				}
				c.Input(h.now, &ack)
			}
			for _, s := range h.rec.take() {
				if len(s.seg.Payload) > int(c.sndMSS) {
					t.Fatalf("a %d-byte segment with an MSS of %d", len(s.seg.Payload), c.sndMSS)
				}
			}
			if c.State() != StateClosed && int(c.sndMSS) < floor {
				t.Fatalf("MSS %d, under the floor %d", c.sndMSS, floor)
			}
			if err := c.invariants(); err != nil {
				t.Fatalf("%v: %v", c.State(), err)
			}
		}
		h.advance(time.Hour, c)
		if err := c.invariants(); err != nil {
			t.Fatal(err)
		}
	})
}
