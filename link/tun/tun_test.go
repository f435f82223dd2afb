//go:build linux

package tun_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"berth/internal/netns"
	"berth/link"
	"berth/link/tun"
)

// These tests open devices inside throwaway namespaces (internal/netns), so
// they never touch the host's network, and skip when not root.

func checksum(b []byte) uint16 {
	var sum uint32
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// echoRequest builds an IPv4 ICMP echo request (RFC 791, RFC 792) from
// berth's address to the kernel's, by hand.
func echoRequest(id, seq uint16, data []byte) []byte {
	p := make([]byte, 28+len(data))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)))
	p[8], p[9] = 64, 1
	copy(p[12:], netns.BerthAddr.Addr().AsSlice())
	copy(p[16:], netns.KernelAddr.Addr().AsSlice())
	binary.BigEndian.PutUint16(p[10:], checksum(p[:20]))
	p[20] = 8
	binary.BigEndian.PutUint16(p[24:], id)
	binary.BigEndian.PutUint16(p[26:], seq)
	copy(p[28:], data)
	binary.BigEndian.PutUint16(p[22:], checksum(p[20:]))
	return p
}

// receive collects packets from l.
func receive(l link.Link) chan []byte {
	c := make(chan []byte, 64)
	l.Attach(link.ReceiverFunc(func(p []byte) {
		select {
		case c <- bytes.Clone(p):
		default:
		}
	}))
	return c
}

// awaitReply waits for the kernel's echo reply to (id, seq).
func awaitReply(t *testing.T, c chan []byte, id, seq uint16) []byte {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-c:
			if len(p) >= 28 && p[0] == 0x45 && p[9] == 1 && p[20] == 0 &&
				binary.BigEndian.Uint16(p[24:]) == id && binary.BigEndian.Uint16(p[26:]) == seq {
				return p
			}
		case <-deadline:
			t.Fatalf("no echo reply for id %d seq %d", id, seq)
		}
	}
}

func TestKernelAnswersPingThroughTUN(t *testing.T) {
	ns := netns.New(t)
	l := ns.Link()
	c := receive(l)
	data := bytes.Repeat([]byte("berth"), 280) // 1400 bytes
	req := echoRequest(0xbe, 1, data)
	if n, err := l.Write([][]byte{req}); n != 1 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	rep := awaitReply(t, c, 0xbe, 1)
	if !bytes.Equal(rep[12:16], req[16:20]) || !bytes.Equal(rep[16:20], req[12:16]) {
		t.Fatalf("reply addresses %v → %v", rep[12:16], rep[16:20])
	}
	if !bytes.Equal(rep[28:], data) || checksum(rep[:20]) != 0 || checksum(rep[20:]) != 0 {
		t.Fatal("reply payload or checksums wrong")
	}
	s := l.Stats()
	if s.TxPackets != 1 || s.TxBytes != uint64(len(req)) || s.RxPackets < 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMalformedWriteIsDroppedNotFatal(t *testing.T) {
	ns := netns.New(t)
	l := ns.Link()
	c := receive(l)
	// The kernel refuses a packet whose version nibble is neither 4 nor 6.
	n, err := l.Write([][]byte{{0x00, 1, 2, 3}, echoRequest(7, 7, nil)})
	if n != 2 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	awaitReply(t, c, 7, 7)
	if s := l.Stats(); s.TxDropped != 1 || s.TxPackets != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOpenWithMTU(t *testing.T) {
	ns := netns.New(t)
	var l *tun.Link
	if err := ns.Do(func() (err error) { l, err = tun.Open("bt1", tun.MTU(9000)); return }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Name() != "bt1" || l.MTU() != 9000 {
		t.Fatalf("name %q MTU %d", l.Name(), l.MTU())
	}
	out, err := exec.Command("ip", "-n", ns.Name(), "link", "show", "dev", "bt1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "mtu 9000") {
		t.Fatalf("ip link: %v\n%s", err, out)
	}
	if n, err := l.Write([][]byte{make([]byte, 9001)}); n != 0 || !errors.Is(err, link.ErrTooBig) {
		t.Fatalf("Write 9001 bytes = %d, %v", n, err)
	}
}

func TestOpenAttachesToExistingDevice(t *testing.T) {
	ns := netns.New(t)
	if out, err := exec.Command("ip", "-n", ns.Name(), "tuntap", "add", "dev", "bt2", "mode", "tun").CombinedOutput(); err != nil {
		t.Fatalf("ip tuntap add: %v\n%s", err, out)
	}
	var l *tun.Link
	if err := ns.Do(func() (err error) { l, err = tun.Open("bt2"); return }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Name() != "bt2" || l.MTU() != 1500 {
		t.Fatalf("name %q MTU %d", l.Name(), l.MTU())
	}
	// berth0 is already held by this process (not multi-queue): busy.
	err := ns.Do(func() error { _, err := tun.Open(netns.DefaultDev); return err })
	if err == nil || !strings.Contains(err.Error(), "busy") && !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second Open of a held device: %v", err)
	}
	// A name the kernel picks.
	var k *tun.Link
	if err := ns.Do(func() (err error) { k, err = tun.Open(""); return }); err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if !strings.HasPrefix(k.Name(), "tun") {
		t.Fatalf("kernel-chosen name %q", k.Name())
	}
	// Not a TUN device: lo.
	err = ns.Do(func() error { _, err := tun.Open("lo"); return err })
	if err == nil || !strings.Contains(err.Error(), "not a TUN") {
		t.Fatalf("Open(lo): %v", err)
	}
}

func TestCloseEndsReaderPromptly(t *testing.T) {
	ns := netns.New(t)
	var l *tun.Link
	if err := ns.Do(func() (err error) { l, err = tun.Open("bt3"); return }); err != nil {
		t.Fatal(err)
	}
	receive(l)
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	checkNoGoroutine(t, "berth/link/tun.(*Link).read", 1) // only berth0's reader is left
	if n, err := l.Write([][]byte{echoRequest(1, 1, nil)}); n != 0 || !errors.Is(err, link.ErrClosed) {
		t.Fatalf("Write after Close = %d, %v", n, err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if l.Err() != nil {
		t.Fatalf("Err after Close = %v", l.Err())
	}
	// A non-persistent device goes with its file.
	out, _ := exec.Command("ip", "-n", ns.Name(), "link", "show", "dev", "bt3").CombinedOutput()
	if !strings.Contains(string(out), "does not exist") {
		t.Fatalf("bt3 still there:\n%s", out)
	}
}

// checkNoGoroutine fails t if more than allowed goroutines mention fn.
// Close waits for the reader, but the reader needs a moment to return
// after signalling, so this polls briefly.
func checkNoGoroutine(t *testing.T, fn string, allowed int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for i := 0; ; i++ {
		n := runtime.Stack(buf, true)
		if bytes.Count(buf[:n], []byte(fn+"(")) <= allowed {
			return
		}
		if i == 2000 {
			t.Fatalf("goroutine leak: %s:\n%s", fn, buf[:n])
		}
		runtime.Gosched()
		if i > 100 {
			time.Sleep(time.Millisecond)
		}
	}
}
