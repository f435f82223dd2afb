package stack

import (
	"bytes"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"berth/link"
	"berth/link/mem"
	"berth/tcp"
	"berth/wire"
)

// peer6 is a hand-played IPv6 host at addr6B on the far end of a link:
// the test reads what the stack sends and writes what the peer answers.
type peer6 struct {
	t    *testing.T
	l    *mem.Link
	pkts chan []byte
}

func newPeer6(t *testing.T) (*Stack, *peer6) {
	la, lb := mem.Pair(mem.MTU(1500))
	s := New(Options{Name: "a", Seed: 1})
	if err := s.AddLink("mem0", la, addrA); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAddress("mem0", addr6A); err != nil {
		t.Fatal(err)
	}
	p := &peer6{t: t, l: lb, pkts: make(chan []byte, 256)}
	lb.Attach(link.ReceiverFunc(func(pkt []byte) { p.pkts <- bytes.Clone(pkt) }))
	t.Cleanup(func() { s.Close(); lb.Close() })
	return s, p
}

// next returns the next TCP segment the stack sent over IPv6.
func (p *peer6) next() (wire.IPv6, wire.TCPRepr, []byte) {
	p.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case pkt := <-p.pkts:
			h, err := wire.NewIPv6(pkt)
			if err != nil || h.NextHeader() != wire.ProtoTCP {
				continue
			}
			v, err := wire.NewTCP(h.Payload())
			if err != nil || !v.ChecksumValid(h.Src(), h.Dst()) {
				p.t.Fatalf("bad TCP segment over IPv6: %x", pkt)
			}
			r, _ := wire.ParseTCP(v)
			return h, r, v.Payload()
		case <-timeout:
			p.t.Fatal("no TCP segment over IPv6 within 5s")
		}
	}
}

func (p *peer6) send(next uint8, payload []byte) {
	p.t.Helper()
	r := wire.IPv6Repr{NextHeader: next, HopLimit: 64, Src: addr6B.Addr(), Dst: addr6A.Addr(), PayloadLen: len(payload)}
	b := make([]byte, wire.IPv6HeaderLen+len(payload))
	r.Emit(b)
	copy(b[wire.IPv6HeaderLen:], payload)
	if _, err := p.l.Write([][]byte{b}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *peer6) sendTCP(r wire.TCPRepr) {
	b := make([]byte, r.HeaderLen())
	r.Emit(b, 0, addr6B.Addr(), addr6A.Addr())
	p.send(wire.ProtoTCP, b)
}

// An ICMPv6 Packet Too Big quoting a segment in flight lowers the MSS to
// the reported MTU less 60 (RFC 8201 §4, RFC 6691), what was in flight is
// sent again in packets that fit, and later connections start at the
// learned path MTU. The SYN offers an IPv6 route's MSS, MTU - 60.
func TestTCP6PacketTooBigLowersMSS(t *testing.T) {
	a, peer := newPeer6(t)
	c, err := a.DialTCP(netip.AddrPortFrom(addr6B.Addr(), 80), TCPOptions{NoDelay: true})
	if err != nil {
		t.Fatal(err)
	}
	_, syn, _ := peer.next()
	if syn.Flags != wire.FlagSYN || syn.Options.MSS != 1500-60 || syn.DstPort != 80 {
		t.Fatalf("SYN %+v", syn)
	}
	// SYN-ACK without timestamps, so the whole MSS carries payload.
	peer.sendTCP(wire.TCPRepr{SrcPort: 80, DstPort: syn.SrcPort, Seq: 5000, Ack: syn.Seq + 1,
		Flags: wire.FlagSYN | wire.FlagACK, Window: 65535, Options: wire.TCPOptions{MSS: 1440}})
	waitFor(t, "established", 5*time.Second, func() bool { return c.State() == tcp.StateEstablished })
	if _, ack, _ := peer.next(); ack.Flags != wire.FlagACK || ack.Ack != 5001 {
		t.Fatalf("handshake ACK %+v", ack)
	}
	if n, err := c.TryWrite(make([]byte, 3000)); n != 3000 || err != nil {
		t.Fatalf("write %d %v", n, err)
	}
	h, first, data := peer.next()
	if len(data) != 1440 || len(h) != 1500 || first.Seq != syn.Seq+1 {
		t.Fatalf("first data segment: %d bytes in a %d-byte packet, seq %d", len(data), len(h), first.Seq)
	}
	// The rest of the flight: 1440 and 120 bytes.
	for _, want := range []int{1440, 120} {
		if _, r, data := peer.next(); len(data) != want {
			t.Fatalf("flight segment seq %d: %d bytes, want %d", r.Seq, len(data), want)
		}
	}
	// The quote of a segment outside SND.UNA..SND.MAX is not believed.
	bogus := bytes.Clone(h)
	wire.TCP(bogus[wire.IPv6HeaderLen:]).SetSeq(first.Seq + 1<<20)
	for _, quoted := range [][]byte{bogus, h} {
		m := wire.ICMPv6Repr{Type: wire.ICMPv6PacketTooBig, MTU: 1280, Data: quoted[:1232]}
		b := make([]byte, m.Len())
		m.Emit(b, addr6B.Addr(), addr6A.Addr())
		peer.send(wire.ProtoICMPv6, b)
	}
	// What follows, resent from SND.UNA, fits 1280 bytes.
	for {
		h, r, data := peer.next()
		if len(h) > 1280 || len(data) > 1280-60 {
			t.Fatalf("a %d-byte packet after Packet Too Big 1280 (seq %d)", len(h), r.Seq)
		}
		if r.Seq == first.Seq {
			if len(data) != 1220 {
				t.Fatalf("resent %d bytes, want 1220", len(data))
			}
			break
		}
	}
	if in := c.Info(); in.SndMSS != 1220 {
		t.Fatalf("SndMSS %d, want 1220", in.SndMSS)
	}
	st := a.Stats().Tcp
	if st.PMTUReductions != 1 || st.OutOfWindowICMPs != 1 {
		t.Fatalf("tcp stats: %d reductions, %d out-of-window ICMPs", st.PMTUReductions, st.OutOfWindowICMPs)
	}
	a.mu.Lock()
	mtu, mss := a.ip.PathMTU(a.clk.Now(), addr6B.Addr()), a.mssFor(addr6B.Addr())
	a.mu.Unlock()
	if mtu != 1280 || mss != 1220 {
		t.Fatalf("path MTU %d, next MSS %d; want 1280, 1220", mtu, mss)
	}
}

// ICMPv6 never takes the path MTU below 1280 (RFC 8201 §4): a Packet Too
// Big saying less is read as 1280, and the IPv4 floor of 552 is not
// IPv6's.
func TestTCP6PathMTUFloor(t *testing.T) {
	for _, c := range []struct {
		e    tcp.ICMPError
		want int
	}{
		{tcp.ICMPError{IPv6: true, FragNeeded: true, PathMTU: 600, DatagramLen: 1500}, 1280},
		{tcp.ICMPError{IPv6: true, FragNeeded: true, PathMTU: 1400, DatagramLen: 1500}, 1400},
		{tcp.ICMPError{FragNeeded: true, PathMTU: 600, DatagramLen: 1500}, 600},
		{tcp.ICMPError{FragNeeded: true, PathMTU: 300, DatagramLen: 1500}, tcp.MinPathMTU},
	} {
		if got := c.e.NextHopMTU(); got != c.want {
			t.Errorf("%+v: NextHopMTU %d, want %d", c.e, got, c.want)
		}
	}
}

// A segment to a closed IPv6 port is answered by a reset from the address
// it was sent to (RFC 9293 §3.10.7.1), over IPv6.
func TestTCP6ResetForClosedPort(t *testing.T) {
	a, peer := newPeer6(t)
	peer.sendTCP(wire.TCPRepr{SrcPort: 4000, DstPort: 81, Seq: 77, Flags: wire.FlagSYN, Window: 1000})
	h, rst, _ := peer.next()
	if h.Src() != addr6A.Addr() || h.Dst() != addr6B.Addr() || rst.Flags != wire.FlagRST|wire.FlagACK ||
		rst.Ack != 78 || rst.SrcPort != 81 || rst.DstPort != 4000 {
		t.Fatalf("reset %v -> %v %+v", h.Src(), h.Dst(), rst)
	}
	if st := a.Stats().Tcp; st.OutRsts != 1 {
		t.Fatalf("%d resets counted", st.OutRsts)
	}
}

// An ICMPv6 Destination Unreachable quoting the SYN ends the attempt at
// once with its errno (RFC 4443 §3.1; EACCES for administratively
// prohibited, as Linux's icmpv6_err_convert), rather than after the SYN
// retries.
func TestTCP6DestUnreachableFailsConnect(t *testing.T) {
	a, peer := newPeer6(t)
	c, err := a.DialTCP(netip.AddrPortFrom(addr6B.Addr(), 80), TCPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, syn, _ := peer.next()
	if syn.Flags != wire.FlagSYN {
		t.Fatalf("SYN %+v", syn)
	}
	m := wire.ICMPv6Repr{Type: wire.ICMPv6DestUnreachable, Code: wire.ICMPv6AdminProhibited, Data: h}
	b := make([]byte, m.Len())
	m.Emit(b, addr6B.Addr(), addr6A.Addr())
	peer.send(wire.ProtoICMPv6, b)
	waitFor(t, "connect to fail", 5*time.Second, func() bool { return c.State() == tcp.StateClosed })
	if err := c.Err(); err != syscall.EACCES {
		t.Fatalf("err = %v, want EACCES", err)
	}
}
