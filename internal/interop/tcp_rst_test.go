package interop_test

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"berth/internal/netns"
)

// berth dials a kernel port nobody listens on: the kernel answers the SYN
// with a RST, and berth's Dial fails with ECONNREFUSED, as net.Dial does.
func TestBerthDialsClosedKernelPort(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	c, err := h.DialContext(ctx, "tcp", "198.18.0.1:9999")
	if err == nil {
		c.Close()
		t.Fatal("dial to a closed kernel port succeeded")
	}
	errIs(t, "berth dial to a closed kernel port", err, syscall.ECONNREFUSED)
	if want := "dial tcp 198.18.0.1:9999: connect: connection refused"; err.Error() != want {
		t.Errorf("error %q, want %q as net.Dial words it", err, want)
	}
	st := h.Stack().Stats().Tcp
	if st.ActiveOpens != 1 || st.AttemptFails != 1 {
		t.Errorf("berth counters: ActiveOpens %d, AttemptFails %d, want 1 each", st.ActiveOpens, st.AttemptFails)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	segs := readTCPCapture(t, capture)
	kernel := netip.MustParseAddrPort("198.18.0.1:9999")
	var syn segment
	for _, s := range segs {
		if s.dst == kernel && s.syn {
			syn = s
			break
		}
	}
	if !syn.syn {
		t.Fatalf("capture: no SYN to %v", kernel)
	}
	// RFC 9293 §3.10.7.1: a RST answering a segment without ACK has
	// sequence number zero and acknowledges the SYN.
	rsts := flow(segs, kernel, syn.src)
	if len(rsts) != 1 || !rsts[0].rst || !rsts[0].ak || rsts[0].ack != syn.seq+1 {
		dumpFlow(t, segs, syn.src, kernel, 20)
		t.Fatalf("capture: the kernel answered the SYN with %v, want one RST,ACK acknowledging seq %d", rsts, syn.seq+1)
	}
	if n := len(flow(segs, syn.src, kernel)); n != 1 {
		dumpFlow(t, segs, syn.src, kernel, 20)
		t.Errorf("capture: berth sent %d segments to %v, want the one SYN", n, kernel)
	}
}

// The kernel dials a berth port nobody listens on: berth answers with a
// RST (RFC 9293 §3.10.7.1) and the kernel's connect fails with
// ECONNREFUSED.
func TestKernelDialsClosedBerthPort(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	err := ns.Do(func() error {
		d := net.Dialer{Timeout: wait}
		c, err := d.Dial("tcp4", "198.18.0.2:9999")
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil {
		t.Fatal("kernel dial to a closed berth port succeeded")
	}
	errIs(t, "kernel dial to a closed berth port", err, syscall.ECONNREFUSED)
	st := h.Stack().Stats().Tcp
	if st.OutRsts != 1 || st.PassiveOpens != 0 {
		t.Errorf("berth counters: OutRsts %d, PassiveOpens %d, want 1 and 0", st.OutRsts, st.PassiveOpens)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	segs := readTCPCapture(t, capture)
	closed := netip.MustParseAddrPort("198.18.0.2:9999")
	var syn segment
	for _, s := range segs {
		if s.dst == closed && s.syn {
			syn = s
			break
		}
	}
	if !syn.syn || syn.ak {
		t.Fatalf("capture: no SYN to %v", closed)
	}
	// The SYN has no ACK, so the RST is <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
	rsts := flow(segs, closed, syn.src)
	if len(rsts) != 1 || !rsts[0].rst || !rsts[0].ak || rsts[0].seq != 0 || rsts[0].ack != syn.seq+1 || rsts[0].n != 0 {
		dumpFlow(t, segs, syn.src, closed, 20)
		t.Fatalf("capture: berth answered the SYN with %v, want one RST,ACK with seq 0, ack %d", rsts, syn.seq+1)
	}
}
