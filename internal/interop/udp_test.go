package interop_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"berth/internal/netns"
	"berth/internal/wellknown"
)

// Datagram sizes exchanged with the kernel: empty, small, exactly filling
// the 1500-byte MTU (1472 + 8 + 20), one byte over, the 8,000 bytes the
// issue asks for, and UDP's largest over IPv4 (RFC 768 with a 65,535-byte
// IPv4 datagram): each above 1472 crosses the TUN in fragments.
var udpSizes = []int{0, 1, 512, 1472, 1473, 8000, 65507}

// The kernel's UDP client against berth's echo service (RFC 862), served
// by the well-known services on the callback API.
func TestKernelUDPClientBerthEcho(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	svc, err := wellknown.ServeUDP(h.Stack(), netip.IPv4Unspecified())
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	c := inNS(t, ns, func() (net.Conn, error) {
		return net.Dial("udp4", net.JoinHostPort(berthAddr.String(), strconv.Itoa(wellknown.Echo)))
	})
	in := make([]byte, 70000)
	for i, size := range udpSizes {
		msg := pattern(size, byte(i))
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("kernel write %d bytes: %v", size, err)
		}
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(in)
		if err != nil {
			t.Fatalf("kernel read echo of %d bytes: %v", size, err)
		}
		if !bytes.Equal(in[:n], msg) {
			t.Fatalf("echo of %d bytes came back as %d bytes, different", size, n)
		}
	}
	// RFC 768, RFC 1122 §4.1.3.4: on IPv4 a zero checksum means the
	// sender computed none, and the receiver must accept the datagram.
	// SO_NO_CHECK makes the kernel send exactly that.
	nc := inNS(t, ns, func() (*net.UDPConn, error) {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(berthAddr, wellknown.Echo)))
		if err != nil {
			return nil, err
		}
		raw, err := c.SyscallConn()
		if err == nil {
			ctlErr := raw.Control(func(fd uintptr) {
				err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_NO_CHECK, 1)
			})
			err = errors.Join(ctlErr, err)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("SO_NO_CHECK: %w", err)
		}
		return c, nil
	})
	noCheck := []byte("sent without a checksum")
	if _, err := nc.Write(noCheck); err != nil {
		t.Fatal(err)
	}
	nc.SetReadDeadline(time.Now().Add(wait))
	if n, err := nc.Read(in); err != nil || !bytes.Equal(in[:n], noCheck) {
		t.Fatalf("echo of a datagram without checksum: %q, %v", in[:n], err)
	}

	st := h.Stack().Stats()
	if want := uint64(len(udpSizes) + 1); st.Udp.InDatagrams != want || st.Udp.OutDatagrams != want {
		t.Errorf("berth Udp counters: InDatagrams %d, OutDatagrams %d, want %d each", st.Udp.InDatagrams, st.Udp.OutDatagrams, want)
	}
	if st.Udp.InErrors != 0 || st.Udp.InCsumErrors != 0 {
		t.Errorf("berth Udp counters: InErrors %d, InCsumErrors %d, want 0", st.Udp.InErrors, st.Udp.InCsumErrors)
	}
	ds := checkCapture(t, h, capture)
	checkUDPCapture(t, ds, kernelAddr, berthAddr)
	if n := count(ds, func(d datagram) bool {
		return d.proto == layers.IPProtocolUDP && d.src == kernelAddr && bytes.Equal(d.payload[8:], noCheck) &&
			d.payload[6] == 0 && d.payload[7] == 0
	}); n != 1 {
		t.Errorf("capture: %d kernel datagrams with a zero checksum, want 1 (did SO_NO_CHECK work?)", n)
	}
	if n := count(ds, func(d datagram) bool {
		return d.proto == layers.IPProtocolUDP && d.src == berthAddr && d.payload[6] == 0 && d.payload[7] == 0
	}); n != 0 {
		t.Errorf("capture: berth sent %d datagrams without a checksum, want none", n)
	}
}

// berth's UDP client (Dial, the net.Conn API) against a kernel UDP echo
// server: first one datagram at a time of each size, then a burst of
// datagrams sent before any reply is read.
func TestBerthUDPClientKernelServer(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	srv := inNS(t, ns, func() (net.PacketConn, error) {
		return net.ListenPacket("udp4", net.JoinHostPort(kernelAddr.String(), "0"))
	})
	froms := make(chan net.Addr, 100)
	go func() {
		b := make([]byte, 70000)
		for {
			n, from, err := srv.ReadFrom(b)
			if err != nil {
				return // closed at the end of the test
			}
			froms <- from
			srv.WriteTo(b[:n], from)
		}
	}()
	c, err := h.Dial("udp", srv.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	if local.Addr() != berthAddr || local.Port() == 0 {
		t.Fatalf("berth conn's local address %v", local)
	}
	in := make([]byte, 70000)
	for i, size := range udpSizes {
		msg := pattern(size, byte(i))
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("berth write %d bytes: %v", size, err)
		}
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(in)
		if err != nil {
			t.Fatalf("berth read echo of %d bytes: %v", size, err)
		}
		if !bytes.Equal(in[:n], msg) {
			t.Fatalf("echo of %d bytes came back as %d bytes, different", size, n)
		}
		if from := (<-froms).(*net.UDPAddr).AddrPort(); from != local {
			t.Fatalf("kernel server saw the datagram from %v, want %v", from, local)
		}
	}
	// A burst: 16 datagrams of 1,400 bytes in flight at once, well within
	// both sides' receive buffers, come back whole and in order (a TUN
	// neither loses nor reorders).
	const burst = 16
	for i := range burst {
		if _, err := c.Write(pattern(1400, byte(100+i))); err != nil {
			t.Fatalf("burst write %d: %v", i, err)
		}
	}
	for i := range burst {
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(in)
		if err != nil {
			t.Fatalf("burst read %d: %v", i, err)
		}
		if !bytes.Equal(in[:n], pattern(1400, byte(100+i))) {
			t.Fatalf("burst reply %d: %d bytes, not datagram %d", i, n, i)
		}
	}
	checkUDPCapture(t, checkCapture(t, h, capture), berthAddr, kernelAddr)
}

// checkUDPCapture finds each size of udpSizes in the capture, sent by
// client and echoed by server, fragmented exactly when it exceeds the MTU.
func checkUDPCapture(t *testing.T, ds []datagram, client, server netip.Addr) {
	t.Helper()
	for _, size := range udpSizes {
		frags := 1
		if size+8+20 > 1500 {
			frags = (size + 8 + 1479) / 1480 // 1480 payload bytes a fragment
		}
		for _, dir := range [][2]netip.Addr{{client, server}, {server, client}} {
			if n := count(ds, func(d datagram) bool {
				return d.proto == layers.IPProtocolUDP && d.src == dir[0] && d.dst == dir[1] &&
					len(d.payload) == size+8 && d.frags == frags
			}); n != 1 {
				t.Errorf("capture: %d UDP datagrams %v→%v of %d bytes in %d fragment(s), want 1", n, dir[0], dir[1], size, frags)
			}
		}
	}
}

// A berth datagram to a kernel port nobody holds: the kernel answers with
// port unreachable, which a connected berth socket reports as ECONNREFUSED
// on its next call, once, as Linux does; an unconnected socket hears
// nothing of it (no IP_RECVERR).
func TestBerthUDPToClosedKernelPort(t *testing.T) {
	ns := netns.New(t)
	h, capture := attach(t, ns)
	closed := netip.AddrPortFrom(kernelAddr, 9999)

	// Unconnected first, so that its port unreachable has arrived by the
	// time the connected socket's has.
	pc, err := h.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.WriteTo([]byte("unconnected"), net.UDPAddrFromAddrPort(closed)); err != nil {
		t.Fatal(err)
	}

	c, err := h.Dial("udp", closed.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("connected")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	_, err = c.Read(make([]byte, 100))
	errIs(t, "berth read after port unreachable", err, syscall.ECONNREFUSED)

	// The error waits for whichever call comes first: a second connected
	// socket's error, arrived behind the first's, meets a Write.
	c2, err := h.Dial("udp", netip.AddrPortFrom(kernelAddr, 9998).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.Write([]byte("connected, then write")); err != nil {
		t.Fatal(err)
	}
	c3, err := h.Dial("udp", netip.AddrPortFrom(kernelAddr, 9997).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if _, err := c3.Write([]byte("connected, then read")); err != nil {
		t.Fatal(err)
	}
	c3.SetReadDeadline(time.Now().Add(wait))
	_, err = c3.Read(make([]byte, 100))
	errIs(t, "berth read after port unreachable", err, syscall.ECONNREFUSED)
	_, err = c2.Write([]byte("again"))
	errIs(t, "berth write after port unreachable", err, syscall.ECONNREFUSED)
	// Reported, the error is gone: the next write goes out, and its own
	// port unreachable comes back as the next error.
	if _, err := c2.Write([]byte("once more")); err != nil {
		t.Fatalf("write after the error was reported: %v", err)
	}
	c2.SetReadDeadline(time.Now().Add(wait))
	_, err = c2.Read(make([]byte, 100))
	errIs(t, "berth read after a second port unreachable", err, syscall.ECONNREFUSED)

	// Five datagrams, five port unreachables: within the kernel's ICMP
	// rate limit burst (six per destination).
	if st := h.Stack().Stats(); st.Icmp.InDestUnreachs != 5 {
		t.Fatalf("berth Icmp.InDestUnreachs = %d, want 5 (one per datagram)", st.Icmp.InDestUnreachs)
	}
	// Reported once: the next read waits again.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Read(make([]byte, 100)); !os.IsTimeout(err) {
		t.Fatalf("second read: %v, want a timeout", err)
	}
	pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := pc.ReadFrom(make([]byte, 100)); !os.IsTimeout(err) {
		t.Fatalf("unconnected socket's read: %v, want a timeout", err)
	}

	ds := checkCapture(t, h, capture)
	if n := count(ds, func(d datagram) bool {
		ty, code, ok := d.icmp()
		return ok && ty == 3 && code == 3 && d.src == kernelAddr && d.dst == berthAddr
	}); n != 5 {
		t.Errorf("capture: %d port unreachable messages from the kernel, want 5", n)
	}
}
