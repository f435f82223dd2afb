package interop_test

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"berth/internal/netns"
	"berth/socket"
)

// A berth reader pauses for 2 s while the kernel sends 4 MiB: berth's
// receive buffer fills and its window closes (RFC 9293 §3.8.6.1), the
// kernel probes the zero window on its persist timer, and once berth reads
// again it opens the window with an update and the transfer completes,
// byte-exact. The capture must show the zero window, the kernel's probes
// and the update, and no shrinking of berth's window (§3.8.6.2.2).
func TestZeroWindowPausedBerthReader(t *testing.T) {
	const size = 4 << 20
	ns := netns.New(t)
	h, capture := attach(t, ns)
	ln, err := h.Listen("tcp", ":7002")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	kc := inNS(t, ns, func() (*net.TCPConn, error) {
		d := net.Dialer{Timeout: wait}
		c, err := d.Dial("tcp4", "198.18.0.2:7002")
		if err != nil {
			return nil, err
		}
		return c.(*net.TCPConn), nil
	})
	sent := make(chan error, 1)
	go func() {
		kc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		err := streamBytes(kc, size)
		if err == nil {
			err = kc.CloseWrite()
		}
		sent <- err
	}()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*socket.TCPConn)
	defer c.Close()

	time.Sleep(2 * time.Second) // the paused reader
	in := c.Stack().Info()
	// What is left of the buffer may be less than one unit of the
	// window's scale: then the window on the wire is zero.
	if in.RcvWScale < 0 || in.RcvWnd>>in.RcvWScale != 0 || in.RecvQueue == 0 {
		t.Errorf("berth after 2 s unread: receive window %d (scale %d) with %d bytes queued, want a window of 0 on the wire and a full buffer",
			in.RcvWnd, in.RcvWScale, in.RecvQueue)
	}
	t.Logf("berth paused: %d bytes queued, %d bytes free, window scale %d", in.RecvQueue, in.RcvWnd, in.RcvWScale)

	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	n, sum, err := sumReader(c)
	if err != nil || n != size || sum != streamSum(size) {
		t.Fatalf("berth read %d bytes (SHA-256 %x), then %v; want %d bytes, %x", n, sum, err, size, streamSum(size))
	}
	if err := <-sent; err != nil {
		t.Fatalf("kernel send: %v", err)
	}
	berthEnd := netip.MustParseAddrPort(c.LocalAddr().String())
	kernelEnd := netip.MustParseAddrPort(kc.LocalAddr().String())
	c.Close()
	kc.Close()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	segs := readTCPCapture(t, capture)
	synAck := synOf(t, segs, berthEnd, kernelEnd, true)
	if synAck.wscale < 0 {
		t.Fatalf("capture: berth's SYN-ACK has no window scale: %v", synAck)
	}
	shift := uint(synAck.wscale)

	// Walk the connection in capture order, tracking berth's last ACK and
	// window. The zero-window period runs from berth's first zero window to
	// its first window above zero after that.
	var (
		lastAck             uint32
		lastEdge            uint32
		haveEdge            bool
		zeroAt, reopenAt    = -1, -1
		probes, probeAnswer int
		shrinks             []string
	)
	for _, s := range segs {
		switch {
		case s.src == berthEnd && s.dst == kernelEnd && s.ak && !s.syn && !s.rst:
			edge := s.ack + uint32(s.win)<<shift
			// A scaled window is rounded down to a multiple of 2^shift,
			// so the edge may seem to retreat by less than that.
			if haveEdge && int32(edge-lastEdge) <= -(1<<shift) {
				shrinks = append(shrinks, s.String())
			}
			if !haveEdge || int32(edge-lastEdge) > 0 {
				lastEdge, haveEdge = edge, true
			}
			lastAck = s.ack
			switch {
			case s.win == 0 && zeroAt < 0:
				zeroAt = s.i
			case s.win == 0 && zeroAt >= 0 && reopenAt < 0 && probes > 0:
				probeAnswer++
			case s.win > 0 && zeroAt >= 0 && reopenAt < 0:
				reopenAt = s.i
			}
		case s.src == kernelEnd && s.dst == berthEnd && zeroAt >= 0 && reopenAt < 0:
			// While the window is closed the kernel sends nothing but
			// probes: Linux's is a bare ACK one below SND.UNA, which
			// the receiver must answer with an ACK (RFC 9293 §3.8.6.1).
			if s.n == 0 && !s.fin && s.seq == lastAck-1 {
				probes++
			} else if s.n > 0 {
				t.Errorf("capture: the kernel sent data into berth's zero window: %v", s)
			}
		}
	}
	if zeroAt < 0 || reopenAt < 0 || probes == 0 {
		dumpFlow(t, segs, kernelEnd, berthEnd, 60)
		t.Fatalf("capture: berth's zero window at #%d, reopened at #%d, %d kernel probes; want a zero window, probes, then a reopening",
			zeroAt, reopenAt, probes)
	}
	if probeAnswer == 0 {
		t.Errorf("capture: berth answered none of the kernel's %d zero-window probes", probes)
	}
	if len(shrinks) > 0 {
		t.Errorf("capture: berth shrank its window (RFC 9293 §3.8.6.2.2) %d times, first: %s", len(shrinks), shrinks[0])
	}
	var zeroTime, reopenTime time.Time
	for _, s := range segs {
		switch s.i {
		case zeroAt:
			zeroTime = s.at
		case reopenAt:
			reopenTime = s.at
		}
	}
	closedFor := reopenTime.Sub(zeroTime)
	if closedFor < time.Second {
		t.Errorf("capture: berth's window was closed for %v, want most of the 2 s pause", closedFor)
	}
	var around []string
	for _, s := range segs {
		if s.i >= zeroAt-2 && s.i <= reopenAt+2 {
			around = append(around, s.String())
		}
	}
	t.Logf("the zero-window period:\n%s", strings.Join(around, "\n"))
	t.Logf("zero window at #%d for %v: %d kernel probes (%d answered with window 0), reopened at #%d",
		zeroAt, closedFor.Round(time.Millisecond), probes, probeAnswer, reopenAt)
}
