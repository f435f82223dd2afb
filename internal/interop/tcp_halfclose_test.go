package interop_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"berth/internal/netns"
	"berth/socket"
	"berth/tcp"
)

// readAll reads c to EOF within the bounded wait.
func readAll(t *testing.T, what string, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s: read %d bytes, then %v", what, len(b), err)
	}
	return b
}

// waitState waits for a berth connection to reach a state.
func waitState(t *testing.T, c *socket.TCPConn, want tcp.State) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for c.Stack().State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("berth connection in %v, want %v", c.Stack().State(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkHalfClose checks a half-closed exchange in a capture: the side that
// closed first (first) sent its data then a FIN; the other side sent data
// after acknowledging that FIN, then its own FIN; each FIN came once and
// was acknowledged.
func checkHalfClose(t *testing.T, segs []segment, first, second netip.AddrPort, firstData, secondData int) {
	t.Helper()
	a, b := flow(segs, first, second), flow(segs, second, first)
	finA, finB := -1, -1
	var finSeqA, finSeqB uint32
	sentA, sentB, afterFin := 0, 0, 0
	for _, s := range a {
		if s.rst {
			dumpFlow(t, segs, first, second, 40)
			t.Fatalf("capture: %v sent a RST: %v", first, s)
		}
		if s.fin {
			if finA >= 0 {
				t.Errorf("capture: %v sent two FINs", first)
			}
			finA, finSeqA = s.i, s.seq+uint32(s.n)
		}
		sentA += s.n
	}
	for _, s := range b {
		if s.rst {
			dumpFlow(t, segs, first, second, 40)
			t.Fatalf("capture: %v sent a RST: %v", second, s)
		}
		if s.fin {
			if finB >= 0 {
				t.Errorf("capture: %v sent two FINs", second)
			}
			finB, finSeqB = s.i, s.seq+uint32(s.n)
		}
		if finA >= 0 && s.i > finA && s.n > 0 && s.ak && s.ack == finSeqA+1 {
			afterFin += s.n
		}
		sentB += s.n
	}
	if finA < 0 || finB < 0 || finB < finA {
		dumpFlow(t, segs, first, second, 40)
		t.Fatalf("capture: FIN from %v at #%d, from %v at #%d; want both, in that order", first, finA, second, finB)
	}
	if sentA != firstData || sentB != secondData {
		t.Errorf("capture: %d bytes from %v and %d from %v, want %d and %d", sentA, first, sentB, second, firstData, secondData)
	}
	if afterFin != secondData {
		dumpFlow(t, segs, first, second, 40)
		t.Errorf("capture: %v sent %d bytes after acknowledging %v's FIN, want all %d", second, afterFin, first, secondData)
	}
	acked := func(segs []segment, ack uint32) bool {
		for _, s := range segs {
			if s.ak && s.ack == ack {
				return true
			}
		}
		return false
	}
	if !acked(b, finSeqA+1) || !acked(a, finSeqB+1) {
		dumpFlow(t, segs, first, second, 40)
		t.Errorf("capture: a FIN went unacknowledged")
	}
}

// berth half-closes a connection it dialed: the kernel reads EOF, then
// still sends, and berth reads all of it, then EOF.
func TestHalfCloseBerthFirst(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	ln := inNS(t, ns, func() (net.Listener, error) { return net.Listen("tcp4", "198.18.0.1:7000") })
	request, reply := pattern(3000, 1), pattern(5000, 2)
	kernelDone := make(chan error, 1)
	go func() {
		kernelDone <- func() error {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(wait))
			got, err := io.ReadAll(c)
			if err != nil {
				return fmt.Errorf("read %d bytes, then %v", len(got), err)
			}
			if !bytes.Equal(got, request) {
				return fmt.Errorf("read %d bytes, want the %d berth sent", len(got), len(request))
			}
			// After berth's FIN the kernel may still send (RFC 9293
			// §3.6: CLOSE-WAIT).
			_, err = c.Write(reply)
			return err
		}()
	}()
	nc, err := h.Dial("tcp", "198.18.0.1:7000")
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*socket.TCPConn)
	defer c.Close()
	if _, err := c.Write(request); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, "berth", c)
	if !bytes.Equal(got, reply) {
		t.Fatalf("berth read %d bytes after its CloseWrite, want the kernel's %d", len(got), len(reply))
	}
	if err := <-kernelDone; err != nil {
		t.Fatalf("kernel: %v", err)
	}
	// Both FINs are in and acknowledged: TIME-WAIT for the closer.
	waitState(t, c, tcp.StateTimeWait)
	local := netip.MustParseAddrPort(c.LocalAddr().String())
	c.Close()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	checkHalfClose(t, readTCPCapture(t, capture), local, netip.MustParseAddrPort("198.18.0.1:7000"), len(request), len(reply))
}

// The kernel half-closes a connection it dialed ((*net.TCPConn).CloseWrite):
// berth reads EOF, then still sends, and the kernel reads all of it.
func TestHalfCloseKernelFirst(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	ln, err := h.Listen("tcp", ":7001")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	request, reply := pattern(3000, 3), pattern(5000, 4)
	kc := inNS(t, ns, func() (*net.TCPConn, error) {
		d := net.Dialer{Timeout: wait}
		c, err := d.Dial("tcp4", "198.18.0.2:7001")
		if err != nil {
			return nil, err
		}
		return c.(*net.TCPConn), nil
	})
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*socket.TCPConn)
	defer c.Close()
	if _, err := kc.Write(request); err != nil {
		t.Fatal(err)
	}
	if err := kc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, "berth", c)
	if !bytes.Equal(got, request) {
		t.Fatalf("berth read %d bytes, want the kernel's %d", len(got), len(request))
	}
	if st := c.Stack().State(); st != tcp.StateCloseWait {
		t.Errorf("berth after the kernel's FIN: %v, want CLOSE-WAIT", st)
	}
	if _, err := c.Write(reply); err != nil {
		t.Fatalf("berth write in CLOSE-WAIT: %v", err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got = readAll(t, "kernel", kc)
	if !bytes.Equal(got, reply) {
		t.Fatalf("kernel read %d bytes after its CloseWrite, want berth's %d", len(got), len(reply))
	}
	// berth closed second: LAST-ACK, then CLOSED once the kernel's ACK
	// of its FIN is in.
	waitState(t, c, tcp.StateClosed)
	c.Close()
	remote := netip.MustParseAddrPort(kc.LocalAddr().String())
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	checkHalfClose(t, readTCPCapture(t, capture), remote, netip.MustParseAddrPort("198.18.0.2:7001"), len(request), len(reply))
}
