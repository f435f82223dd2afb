package sim

import (
	"bytes"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"berth/wire"
)

// Each fault gets a test that shows its effect on the wire, counted in the
// captures of the two hosts (the sender's as packets leave, the receiver's
// as they arrive), and that TCP still delivers byte-exact data through it.

// faultRun sets up a and b with captures, runs a 256 KiB transfer from a
// to b over a link with the faults, and returns both captures.
func faultRun(t *testing.T, n *Network, size int, f ...Fault) (a, b *Host, atA, atB []captured, took time.Duration, l *Link) {
	t.Helper()
	return faultRunNet(t, n, "tcp", size, f...)
}

// faultRunNet is faultRun on network: "tcp", or "tcp6" for IPv6.
func faultRunNet(t *testing.T, n *Network, network string, size int, f ...Fault) (a, b *Host, atA, atB []captured, took time.Duration, l *Link) {
	t.Helper()
	a, b = n.Host("a"), n.Host("b")
	var ca, cb bytes.Buffer
	a.Capture(&ca)
	b.Capture(&cb)
	l = n.Link(a, b, f...)
	took, err := transferNet(a, b, network, 9, size)
	if err != nil {
		t.Fatalf("transfer through %v: %v", l.Stats(), err)
	}
	time.Sleep(2 * time.Minute) // TIME-WAIT ends; the captures are complete
	n.Flush()
	return a, b, readCapture(t, ca.Bytes()), readCapture(t, cb.Bytes()), took, l
}

func TestFaultLoss(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, _, atA, atB, _, l := faultRun(t, n, 256<<10, Loss(0.05))
		sent, arrived := len(from(atA, a)), len(from(atB, a))
		st := l.Path(a).Stats()
		if st.Lost == 0 || uint64(sent-arrived) != st.Lost {
			t.Fatalf("a sent %d, b got %d of them, path lost %d", sent, arrived, st.Lost)
		}
		// Losses cost retransmissions: some sequence numbers leave twice.
		if r := retransmitted(dataSegments(from(atA, a))); r == 0 {
			t.Fatal("no retransmission in a's capture")
		}
		t.Logf("a sent %d packets, b received %d, %d lost; stats %+v", sent, arrived, st.Lost, st)
	})
}

func retransmitted(ps []captured) int {
	seen := map[uint32]bool{}
	n := 0
	for _, p := range ps {
		if seen[p.seq] {
			n++
		}
		seen[p.seq] = true
	}
	return n
}

func TestFaultGilbertElliottBursts(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		var trace bytes.Buffer
		_ = trace
		a, _, atA, atB, _, l := faultRun(t, n, 256<<10, GilbertElliott(0.02, 0.25, 0, 1))
		st := l.Path(a).Stats()
		// Find the longest run of a's packets that left but never arrived:
		// bursty loss loses several in a row far more often than 5% loss
		// at random would.
		arrived := map[string]int{}
		for _, p := range from(atB, a) {
			arrived[string(p.data)]++
		}
		run, longest := 0, 0
		for _, p := range from(atA, a) {
			if arrived[string(p.data)] > 0 {
				arrived[string(p.data)]--
				run = 0
				continue
			}
			run++
			longest = max(longest, run)
		}
		if st.Lost == 0 || longest < 3 {
			t.Fatalf("lost %d, longest burst %d; want bursts of 3 or more", st.Lost, longest)
		}
		t.Logf("lost %d of %d, longest burst %d", st.Lost, st.Sent, longest)
	})
}

func TestFaultDelay(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b, atA, atB, took, _ := faultRun(t, n, 64<<10, Delay(20*time.Millisecond, 0))
		synA, synB := from(atA, a)[0], from(atB, a)[0]
		if d := synB.at.Sub(synA.at); d != 20*time.Millisecond {
			t.Fatalf("SYN took %v to cross, want 20ms", d)
		}
		// Every packet takes exactly the delay, so none overtakes another.
		if len(from(atA, b)) != len(from(atB, b)) {
			t.Fatal("packets lost on a delay-only path")
		}
		for i, p := range from(atB, a) {
			if q := from(atA, a)[i]; !bytes.Equal(p.data, q.data) || p.at.Sub(q.at) != 20*time.Millisecond {
				t.Fatalf("packet %d arrived as %v after %v", i, p.at.Sub(q.at), q.at)
			}
		}
		if took < 80*time.Millisecond {
			t.Fatalf("transfer with 40ms RTT took %v", took)
		}
	})
}

func TestFaultJitterReorders(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, _, atA, atB, _, _ := faultRun(t, n, 256<<10, Delay(10*time.Millisecond, 8*time.Millisecond))
		sentOrder, arrivedOrder := dataSegments(from(atA, a)), dataSegments(from(atB, a))
		inversions := 0
		for i := 1; i < len(arrivedOrder); i++ {
			if int32(arrivedOrder[i].seq-arrivedOrder[i-1].seq) < 0 {
				inversions++
			}
		}
		if inversions == 0 {
			t.Fatalf("%d of %d segments arrived, none out of order", len(arrivedOrder), len(sentOrder))
		}
		t.Logf("%d data segments, %d arrived before one sent earlier", len(arrivedOrder), inversions)
	})
}

func TestFaultDuplicate(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, _, atA, atB, _, l := faultRun(t, n, 256<<10, Duplicate(0.1))
		st := l.Path(a).Stats()
		sent, arrived := len(from(atA, a)), len(from(atB, a))
		if st.Duplicated == 0 || uint64(arrived-sent) != st.Duplicated {
			t.Fatalf("a sent %d, b got %d, path duplicated %d", sent, arrived, st.Duplicated)
		}
		// The receiver's capture holds byte-identical twins.
		seen, twins := map[string]bool{}, 0
		for _, p := range from(atB, a) {
			if seen[string(p.data)] {
				twins++
			}
			seen[string(p.data)] = true
		}
		if twins < int(st.Duplicated) {
			t.Fatalf("%d identical twins in b's capture, want %d", twins, st.Duplicated)
		}
	})
}

func TestFaultCorrupt(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, _, atA, atB, _, l := faultRun(t, n, 256<<10, Corrupt(0.05))
		st := l.Path(a).Stats()
		bad := 0
		for _, p := range from(atB, a) {
			if !p.ipOK || (p.tcp != nil && !p.tcpOK) {
				bad++
			}
		}
		// A flip in the IP addresses hides a packet from from(); one in
		// the header's length can make it undecodable: count those too.
		stray := len(atB) - len(from(atB, a)) - len(from(atB, n.Lookup("b")))
		if st.Corrupted == 0 || uint64(bad+stray) != st.Corrupted {
			t.Fatalf("path corrupted %d, b's capture has %d bad checksums and %d strays", st.Corrupted, bad, stray)
		}
		for _, p := range from(atA, a) {
			if !p.ipOK || !p.tcpOK {
				t.Fatal("a sent a packet with a bad checksum")
			}
		}
	})
}

func TestFaultInterfaceMTU(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a", InterfaceMTU(576)), n.Host("b", InterfaceMTU(576))
		var ca bytes.Buffer
		a.Capture(&ca)
		if _, err := transfer(a, b, 9, 100<<10); err != nil {
			t.Fatal(err)
		}
		biggest := 0
		n.Flush()
		for _, p := range readCapture(t, ca.Bytes()) {
			biggest = max(biggest, len(p.data))
		}
		if biggest != 576 {
			t.Fatalf("largest packet %d bytes, want 576", biggest)
		}
	})
}

// A path MTU below the hosts' is a black hole (RFC 2923 §2.1): small
// packets pass, large ones vanish. UDP shows it directly; TCP's handshake
// succeeds and its full-size segments then die, until the retransmission
// limit or the user timeout ends the connection with ETIMEDOUT (berth does
// not probe the path MTU, RFC 4821).
func TestFaultPathMTUBlackHole(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		l := n.Link(a, b, MTU(1000))
		pc, _ := b.ListenPacket("udp", ":9")
		u, _ := a.Dial("udp", "b:9")
		u.Write(make([]byte, 900))  // 928 bytes with headers: passes
		u.Write(make([]byte, 1200)) // 1228: vanishes
		buf := make([]byte, 2000)
		pc.SetReadDeadline(time.Now().Add(time.Second))
		if k, _, err := pc.ReadFrom(buf); err != nil || k != 900 {
			t.Fatalf("first datagram: %d bytes, %v", k, err)
		}
		if _, _, err := pc.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("second datagram: %v, want a timeout", err)
		}
		if st := l.Path(a).Stats(); st.MTUDrops != 1 {
			t.Fatalf("MTU drops %d, want 1", st.MTUDrops)
		}

		ln, _ := b.Listen("tcp", ":10")
		go func() {
			c, err := ln.Accept()
			if err == nil {
				io.Copy(io.Discard, c)
				c.Close()
			}
		}()
		c, err := a.Dial("tcp", "b:10")
		if err != nil {
			t.Fatalf("handshake through the black hole: %v", err)
		}
		if _, err := c.Write(make([]byte, 10000)); err != nil {
			t.Fatal(err)
		}
		_, err = c.Read(buf)
		if !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("read: %v, want ETIMEDOUT", err)
		}
		t.Logf("after %v: %v", n.Elapsed(), err)
		c.Close()
		ln.Close()
	})
}

// A router that says so (RouterMTU) makes the same path usable: berth's
// first full-sized segments are dropped, the router's "fragmentation
// needed" lowers the sender's MSS (RFC 1191), and the transfer completes
// byte-exact, with every later segment within the path's MTU.
func TestFaultRouterMTU(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, _, atA, _, _, l := faultRun(t, n, 256<<10, RouterMTU(1000))
		st := l.Path(a).Stats()
		if st.MTUDrops == 0 || st.MTUDrops > 20 {
			t.Fatalf("MTU drops %d: want some, then none once the MSS fits", st.MTUDrops)
		}
		var icmps, big, after int
		for _, p := range atA {
			if p.protocol == wire.ProtoICMP && p.src == RouterAddr.String() {
				m := wire.ICMPv4(p.data[20:])
				if m.Type() != wire.ICMPv4DestUnreachable || m.Code() != wire.ICMPv4FragNeeded || m.NextHopMTU() != 1000 || !m.ChecksumValid() {
					t.Fatalf("router's message: type %d code %d MTU %d checksum ok %v", m.Type(), m.Code(), m.NextHopMTU(), m.ChecksumValid())
				}
				icmps++
				continue
			}
			if icmps > 0 && p.src == a.Addr().String() && p.protocol == wire.ProtoTCP {
				after++
				if len(p.data) > 1000 {
					big++
				}
			}
		}
		if icmps != int(st.MTUDrops) {
			t.Fatalf("%d fragmentation-needed messages reached a for %d drops", icmps, st.MTUDrops)
		}
		// Segments already on their way when the first message arrived may
		// be big; the rest of the transfer is not.
		if after < 100 || big > 10 {
			t.Fatalf("after the first message a sent %d segments, %d over 1000 bytes", after, big)
		}
		t.Logf("%d drops answered by %d messages; %d segments after the first, %d of them over 1000 bytes", st.MTUDrops, icmps, after, big)
	})
}
