package interop_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"berth/internal/netns"
	"berth/socket"
	"berth/tcp"
)

// kernelTCPInfo is what the kernel says it negotiated on a connection
// (getsockopt TCP_INFO).
type kernelTCPInfo struct {
	ts, sack, wscale     bool
	sndWScale, rcvWScale int
	sndMSS               int
}

// tcpi_options bits (linux/tcp.h).
const (
	tcpiOptTimestamps = 1
	tcpiOptSACK       = 2
	tcpiOptWScale     = 4
)

func tcpInfoOf(t *testing.T, c *net.TCPConn) kernelTCPInfo {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || gerr != nil {
		t.Fatalf("TCP_INFO: %v %v", err, gerr)
	}
	// struct tcp_info's seventh byte holds the bit fields
	// tcpi_snd_wscale:4, tcpi_rcv_wscale:4, which x/sys/unix leaves as
	// padding.
	scales := (*[8]byte)(unsafe.Pointer(info))[6]
	return kernelTCPInfo{
		ts:        info.Options&tcpiOptTimestamps != 0,
		sack:      info.Options&tcpiOptSACK != 0,
		wscale:    info.Options&tcpiOptWScale != 0,
		sndWScale: int(scales & 0xf), rcvWScale: int(scales >> 4),
		sndMSS: int(info.Snd_mss),
	}
}

// The options berth and the kernel negotiate, in a capture of one
// connection each way at MTU 1500: both ends advertise MSS 1460 (RFC 6691:
// the MTU less 40), both offer window scaling and timestamps (RFC 7323),
// so both are on; both offer SACK-permitted (RFC 2018), so SACK is on as
// far as berth's default configuration offers it. The kernel's own TCP_INFO and
// berth's Info must agree with the capture.
func TestNegotiatedOptions(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	berthSACK := tcp.DefaultConfig().SACKPermitted
	berthWScale := tcp.DefaultConfig().WindowScale

	// The kernel dials berth.
	ln, err := h.Listen("tcp", ":7003")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	kc := inNS(t, ns, func() (*net.TCPConn, error) {
		d := net.Dialer{Timeout: wait}
		c, err := d.Dial("tcp4", "198.18.0.2:7003")
		if err != nil {
			return nil, err
		}
		return c.(*net.TCPConn), nil
	})
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	inbound := nc.(*socket.TCPConn)
	defer inbound.Close()

	// berth dials the kernel.
	kl := inNS(t, ns, func() (net.Listener, error) { return net.Listen("tcp4", "198.18.0.1:7004") })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := kl.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	nc, err = h.Dial("tcp", "198.18.0.1:7004")
	if err != nil {
		t.Fatal(err)
	}
	outbound := nc.(*socket.TCPConn)
	defer outbound.Close()
	ka, ok := <-accepted
	if !ok {
		t.Fatal("the kernel's listener accepted nothing")
	}
	defer ka.Close()

	// Each side's own account of what was agreed.
	for _, c := range []struct {
		name   string
		berth  *socket.TCPConn
		kernel *net.TCPConn
	}{
		{"kernel → berth", inbound, kc},
		{"berth → kernel", outbound, ka.(*net.TCPConn)},
	} {
		b, k := c.berth.Stack().Info(), tcpInfoOf(t, c.kernel)
		t.Logf("%s: berth %+v; kernel %+v", c.name, b, k)
		if !b.Timestamps || !k.ts || b.SACK != berthSACK || k.sack != berthSACK || !k.wscale {
			t.Errorf("%s: timestamps berth %v kernel %v, SACK berth %v kernel %v, kernel window scaling %v; want timestamps and scaling on, SACK %v",
				c.name, b.Timestamps, k.ts, b.SACK, k.sack, k.wscale, berthSACK)
		}
		if b.RcvWScale != berthWScale || k.sndWScale != berthWScale || b.SndWScale != k.rcvWScale || b.SndWScale < 0 {
			t.Errorf("%s: window scales berth send %d receive %d, kernel send %d receive %d; want berth's %d one way and the kernel's the other",
				c.name, b.SndWScale, b.RcvWScale, k.sndWScale, k.rcvWScale, berthWScale)
		}
		// With timestamps, 12 of the 1460 bytes go to the option. (The
		// kernel's tcpi_advmss has them taken off too, so the capture,
		// below, checks the advertised 1460.)
		if b.SndMSS != 1448 || k.sndMSS != 1448 || b.AdvMSS != 1460 {
			t.Errorf("%s: MSS berth sends %d and advertised %d, kernel sends %d; want 1448, 1460, 1448",
				c.name, b.SndMSS, b.AdvMSS, k.sndMSS)
		}
	}
	berthIn := netip.MustParseAddrPort(inbound.LocalAddr().String())
	kernelOut := netip.MustParseAddrPort(kc.LocalAddr().String())
	berthOut := netip.MustParseAddrPort(outbound.LocalAddr().String())
	kernelIn := netip.MustParseAddrPort("198.18.0.1:7004")
	inbound.Close()
	outbound.Close()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	segs := readTCPCapture(t, capture)
	for _, c := range []struct {
		name        string
		syn, synAck segment
		berthIsSYN  bool
	}{
		{"kernel → berth", synOf(t, segs, kernelOut, berthIn, false), synOf(t, segs, berthIn, kernelOut, true), false},
		{"berth → kernel", synOf(t, segs, berthOut, kernelIn, false), synOf(t, segs, kernelIn, berthOut, true), true},
	} {
		t.Logf("%s:\n%v\n%v", c.name, c.syn, c.synAck)
		for _, s := range []segment{c.syn, c.synAck} {
			fromBerth := s.src.Addr() == berthAddr
			who := map[bool]string{true: "berth's", false: "the kernel's"}[fromBerth]
			what := fmt.Sprintf("%s: %s %s", c.name, who, map[bool]string{true: "SYN-ACK", false: "SYN"}[s.ak])
			if s.mss != 1460 {
				t.Errorf("%s advertises MSS %d, want 1460 (MTU 1500)", what, s.mss)
			}
			if s.wscale < 0 || (fromBerth && s.wscale != berthWScale) {
				t.Errorf("%s has window scale %d, want one (berth's %d)", what, s.wscale, berthWScale)
			}
			if !s.ts {
				t.Errorf("%s has no timestamps option", what)
			}
		}
		// The kernel always offers SACK-permitted in its SYN; in its
		// SYN-ACK only if berth's SYN did. berth offers it only when
		// configured to.
		berthSeg, kernelSeg := c.synAck, c.syn
		if c.berthIsSYN {
			berthSeg, kernelSeg = c.syn, c.synAck
		}
		if berthSeg.sackOK != berthSACK {
			t.Errorf("%s: berth's %v offers SACK-permitted: %v, want %v", c.name, berthSeg, berthSeg.sackOK, berthSACK)
		}
		if want := !c.berthIsSYN || berthSACK; kernelSeg.sackOK != want {
			t.Errorf("%s: the kernel's %v offers SACK-permitted: %v, want %v", c.name, kernelSeg, kernelSeg.sackOK, want)
		}
		// The window in a SYN or SYN-ACK is never scaled (RFC 7323 §2.2).
		if berthSeg.win == 0 {
			t.Errorf("%s: berth's %v offers no window", c.name, berthSeg)
		}
	}
}
