package gvisorpeer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// exchangeTimeout bounds one handshake-and-echo test on a clean link, where
// nothing is lost and every step takes microseconds.
const exchangeTimeout = 10 * time.Second

// echoSizes are the client's messages: a byte, a small request, exactly
// one full-size segment (MSS 1460 on a 1500-byte link), and several
// segments that the server must reassemble before echoing all of it.
var echoSizes = []int{1, 100, 1460, 5000}

// serveEcho is the server's half of the exchange: greet, echo each message
// whole, read the client's FIN as io.EOF, say goodbye and close.
func serveEcho(c net.Conn, greeting string) error {
	defer c.Close()
	if _, err := io.WriteString(c, greeting); err != nil {
		return fmt.Errorf("server greeting: %w", err)
	}
	for _, n := range echoSizes {
		buf := make([]byte, n)
		if _, err := io.ReadFull(c, buf); err != nil {
			return fmt.Errorf("server reading %d-byte message: %w", n, err)
		}
		if _, err := c.Write(buf); err != nil {
			return fmt.Errorf("server echoing %d bytes: %w", n, err)
		}
	}
	var one [1]byte
	if n, err := c.Read(one[:]); n != 0 || err != io.EOF {
		return fmt.Errorf("server after the client's FIN: read %d bytes, err %v; want 0, io.EOF", n, err)
	}
	if _, err := io.WriteString(c, "bye"); err != nil {
		return fmt.Errorf("server goodbye after the client's FIN (half-close): %w", err)
	}
	return nil
}

// runEchoClient is the client's half: read the greeting, send each
// message and read it back, half-close, then read the goodbye and io.EOF.
func runEchoClient(c net.Conn, greeting string) error {
	got := make([]byte, len(greeting))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("client reading greeting: %w", err)
	}
	if string(got) != greeting {
		return fmt.Errorf("client greeting = %q, want %q", got, greeting)
	}
	for i, n := range echoSizes {
		msg := bytes.Repeat([]byte{byte('a' + i)}, n)
		msg[0], msg[n-1] = '<', '>'
		if _, err := c.Write(msg); err != nil {
			return fmt.Errorf("client sending %d bytes: %w", n, err)
		}
		back := make([]byte, n)
		if _, err := io.ReadFull(c, back); err != nil {
			return fmt.Errorf("client reading %d-byte echo: %w", n, err)
		}
		if !bytes.Equal(back, msg) {
			return fmt.Errorf("client: %d-byte echo differs", n)
		}
	}
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("client conn %T has no CloseWrite", c)
	}
	if err := cw.CloseWrite(); err != nil {
		return fmt.Errorf("client CloseWrite: %w", err)
	}
	rest, err := io.ReadAll(c) // ReadAll returns nil on io.EOF
	if err != nil {
		return fmt.Errorf("client reading goodbye: %w", err)
	}
	if string(rest) != "bye" {
		return fmt.Errorf("client read %q before EOF, want %q", rest, "bye")
	}
	var one [1]byte
	if n, err := c.Read(one[:]); n != 0 || err != io.EOF {
		return fmt.Errorf("client read after EOF: %d bytes, err %v; want 0, io.EOF", n, err)
	}
	return c.Close()
}

// berthRow returns berth's socket-table row for the connection between
// local and remote, if there is one.
func (p *peers) berthRow(local, remote netip.AddrPort) (state string, ok bool) {
	for _, s := range p.h.Sockets() {
		if s.Proto == "tcp" && s.Local == local && s.Remote == remote {
			return s.State, true
		}
	}
	return "", false
}

// waitRow polls berth's socket table until the row for local↔remote is in
// state want ("" for gone) or the deadline passes. The state change it
// waits for follows a segment from gVisor, which arrives within
// microseconds on a clean link; the bound is for a stack that never sends it.
func (p *peers) waitRow(t *testing.T, local, remote netip.AddrPort, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		state, ok := p.berthRow(local, remote)
		if (want == "" && !ok) || (ok && state == want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("berth row %v -> %v: state %q (present %v), want %q\n%s", local, remote, state, ok, want, p.diagnose())
		}
		time.Sleep(time.Millisecond)
	}
}

// checkClean asserts that neither stack saw a damaged or refused segment:
// on a clean link every segment berth sent passed gVisor's checks and vice
// versa, and nobody reset anything.
func (p *peers) checkClean(t *testing.T) {
	t.Helper()
	bs := p.h.Stack().Stats().Tcp
	gs := p.gv.Stats().TCP
	if bs.InErrs != 0 || bs.OutRsts != 0 || bs.EstabResets != 0 || bs.AttemptFails != 0 {
		t.Errorf("berth counters show errors or resets: %+v", bs)
	}
	if n := gs.ChecksumErrors.Value() + gs.InvalidSegmentsReceived.Value() + gs.ResetsSent.Value() + gs.ResetsReceived.Value(); n != 0 {
		t.Errorf("gVisor counters show errors or resets: %s", nonZero(gs))
	}
	if n := p.gv.Stats().IP.MalformedPacketsReceived.Value(); n != 0 {
		t.Errorf("gVisor dropped %d malformed IP packets from berth", n)
	}
}

// TestHandshake_GVisorDialsBerth: gVisor's active open meets berth's
// listener (RFC 9293 §3.5, Figure 6), then an echo exchange, a half-close
// by gVisor and berth's passive close; both ends read io.EOF.
func TestHandshake_GVisorDialsBerth(t *testing.T) {
	p := newPeers(t, setup{})
	ln := p.berthListen(t, 7)
	const greeting = "berth here"

	srv := make(chan error, 1)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srv <- fmt.Errorf("berth accept: %w", err)
			return
		}
		accepted <- c
		srv <- serveEcho(c, greeting)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), exchangeTimeout)
	defer cancel()
	c, err := p.gvDial(ctx, 7)
	if err != nil {
		t.Fatalf("gVisor dial berth: %v\n%s", err, p.diagnose())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(exchangeTimeout))

	var sc net.Conn
	select {
	case sc = <-accepted:
	case err := <-srv:
		t.Fatal(err)
	case <-ctx.Done():
		t.Fatalf("berth accepted nothing\n%s", p.diagnose())
	}
	sc.SetDeadline(time.Now().Add(exchangeTimeout))
	local := sc.LocalAddr().(*net.TCPAddr).AddrPort()
	remote := sc.RemoteAddr().(*net.TCPAddr).AddrPort()
	if want := c.LocalAddr().(*net.TCPAddr).AddrPort(); remote.Addr().Unmap() != gvAddr || remote.Port() != want.Port() {
		t.Errorf("berth's conn: remote %v, want gVisor's %v", remote, want)
	}
	if local != netip.AddrPortFrom(berthAddr, 7) {
		t.Errorf("berth's conn: local %v, want %v", local, netip.AddrPortFrom(berthAddr, 7))
	}
	if state, ok := p.berthRow(local, remote); !ok || (state != "ESTABLISHED" && state != "CLOSE-WAIT") {
		t.Errorf("berth row %v -> %v: %q (present %v), want ESTABLISHED", local, remote, state, ok)
	}

	if err := runEchoClient(c, greeting); err != nil {
		t.Errorf("gVisor client: %v\n%s", err, p.diagnose())
	}
	if err := <-srv; err != nil {
		t.Errorf("berth server: %v\n%s", err, p.diagnose())
	}
	// Berth closed second: LAST-ACK until gVisor acknowledges its FIN,
	// then the row is gone (the TIME-WAIT is gVisor's).
	p.waitRow(t, local, remote, "")
	p.checkClean(t)
	if st := p.h.Stack().Stats().Tcp; st.PassiveOpens != 1 || st.CurrEstab != 0 {
		t.Errorf("berth: PassiveOpens=%d CurrEstab=%d, want 1, 0", st.PassiveOpens, st.CurrEstab)
	}
}

// TestHandshake_BerthDialsGVisor: berth's active open meets gVisor's
// listener, then the same exchange with berth as the client: berth
// half-closes first and ends in TIME-WAIT.
func TestHandshake_BerthDialsGVisor(t *testing.T) {
	p := newPeers(t, setup{})
	ln := p.gvListen(t, 7)
	const greeting = "gVisor here"

	srv := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srv <- fmt.Errorf("gVisor accept: %w", err)
			return
		}
		c.SetDeadline(time.Now().Add(exchangeTimeout))
		srv <- serveEcho(c, greeting)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), exchangeTimeout)
	defer cancel()
	c, err := p.berthDial(ctx, 7)
	if err != nil {
		t.Fatalf("berth dial gVisor: %v\n%s", err, p.diagnose())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(exchangeTimeout))
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	remote := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	if remote != netip.AddrPortFrom(gvAddr, 7) || local.Addr() != berthAddr {
		t.Errorf("berth's conn: %v -> %v, want %v:* -> %v", local, remote, berthAddr, netip.AddrPortFrom(gvAddr, 7))
	}
	if state, ok := p.berthRow(local, remote); !ok || state != "ESTABLISHED" {
		t.Errorf("berth row %v -> %v: %q (present %v), want ESTABLISHED", local, remote, state, ok)
	}

	if err := runEchoClient(c, greeting); err != nil {
		t.Errorf("berth client: %v\n%s", err, p.diagnose())
	}
	if err := <-srv; err != nil {
		t.Errorf("gVisor server: %v\n%s", err, p.diagnose())
	}
	// Berth sent the first FIN: once gVisor's FIN is acknowledged the
	// 4-tuple waits out 2·MSL in TIME-WAIT (RFC 9293 §3.6).
	p.waitRow(t, local, remote, "TIME-WAIT")
	p.checkClean(t)
	if st := p.h.Stack().Stats().Tcp; st.ActiveOpens != 1 || st.CurrEstab != 0 {
		t.Errorf("berth: ActiveOpens=%d CurrEstab=%d, want 1, 0", st.ActiveOpens, st.CurrEstab)
	}
}
