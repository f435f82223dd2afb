package ip

import (
	"bytes"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"berth/buf"
	"berth/link"
	"berth/wire"
)

var (
	epoch  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hostA  = netip.MustParseAddr("198.18.0.1")
	hostB  = netip.MustParseAddr("198.18.0.2")
	prefix = netip.MustParsePrefix("198.18.0.2/24")
)

// wireLink records what the layer writes.
type wireLink struct {
	mtu int
	out [][]byte
}

func (w *wireLink) MTU() int { return w.mtu }
func (w *wireLink) Write(pkts [][]byte) (int, error) {
	for _, p := range pkts {
		if len(p) > w.mtu {
			return 0, link.ErrTooBig
		}
		w.out = append(w.out, slices.Clone(p))
	}
	return len(pkts), nil
}
func (w *wireLink) Attach(link.Receiver) {}
func (w *wireLink) Close() error         { return nil }

func (w *wireLink) take() [][]byte { o := w.out; w.out = nil; return o }

func newLayer(t *testing.T, mtu int) (*Layer, *Interface, *wireLink) {
	t.Helper()
	l := New(Config{FirstID: 100})
	wl := &wireLink{mtu: mtu}
	ifc := l.AddInterface("t0", wl, prefix)
	return l, ifc, wl
}

// mkDatagram builds a valid IPv4 datagram from hostA to hostB.
func mkDatagram(proto uint8, payload []byte, mod func(*wire.IPv4Repr)) []byte {
	r := wire.IPv4Repr{ID: 7, TTL: 64, Protocol: proto, Src: hostA, Dst: hostB, PayloadLen: len(payload)}
	if mod != nil {
		mod(&r)
	}
	r.PayloadLen = len(payload)
	b := make([]byte, r.HeaderLen()+len(payload))
	r.Emit(b)
	copy(b[r.HeaderLen():], payload)
	return b
}

func echoRequest(id, seq uint16, data []byte) []byte {
	m := wire.ICMPv4Repr{Type: wire.ICMPv4Echo, ID: id, Seq: seq, Data: data}
	b := make([]byte, m.Len())
	m.Emit(b)
	return b
}

func mustICMP(t *testing.T, pkt []byte) (wire.IPv4, wire.ICMPv4) {
	t.Helper()
	h, err := wire.NewIPv4(pkt)
	if err != nil {
		t.Fatalf("sent packet does not parse: %v", err)
	}
	if !h.ChecksumValid() {
		t.Fatal("sent IPv4 header checksum invalid")
	}
	if h.Protocol() != wire.ProtoICMP {
		t.Fatalf("protocol %d, want ICMP", h.Protocol())
	}
	m, err := wire.NewICMPv4(h.Payload())
	if err != nil || !m.ChecksumValid() {
		t.Fatalf("sent ICMP invalid: %v", err)
	}
	return h, m
}

func TestEchoRequestIsAnswered_RFC792(t *testing.T) {
	l, ifc, wl := newLayer(t, 1500)
	data := []byte("abcdefghijklmnopqrstuvwxyz012345")
	l.Input(epoch, ifc, mkDatagram(wire.ProtoICMP, echoRequest(0x1234, 9, data), nil))
	out := wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d packets, want 1 echo reply", len(out))
	}
	h, m := mustICMP(t, out[0])
	if h.Src() != hostB || h.Dst() != hostA || h.TTL() != DefaultTTL {
		t.Fatalf("reply header %v -> %v ttl %d", h.Src(), h.Dst(), h.TTL())
	}
	if m.Type() != wire.ICMPv4EchoReply || m.ID() != 0x1234 || m.Seq() != 9 || !bytes.Equal(m.Payload(), data) {
		t.Fatalf("reply type %d id %x seq %d data %q", m.Type(), m.ID(), m.Seq(), m.Payload())
	}
	if l.ICMP.InEchos != 1 || l.ICMP.OutEchoReps != 1 || l.Stats.InDelivers != 1 {
		t.Fatalf("counters %+v %+v", l.Stats, l.ICMP)
	}
}

func TestEchoReplySteadyStateAllocatesNothing(t *testing.T) {
	l, ifc, wl := newLayer(t, 1500)
	req := mkDatagram(wire.ProtoICMP, echoRequest(1, 1, make([]byte, 56)), nil)
	pkt := make([]byte, len(req))
	wl.out = make([][]byte, 0, 1)
	sink := &countLink{mtu: 1500}
	ifc.Link = sink
	allocs := testing.AllocsPerRun(1000, func() {
		copy(pkt, req)
		l.Input(epoch, ifc, pkt)
	})
	if allocs != 0 {
		t.Fatalf("allocs per echo reply = %v, want 0", allocs)
	}
	if sink.n < 1000 {
		t.Fatalf("only %d replies sent", sink.n)
	}
}

type countLink struct{ mtu, n int }

func (c *countLink) MTU() int                      { return c.mtu }
func (c *countLink) Write(p [][]byte) (int, error) { c.n += len(p); return len(p), nil }
func (c *countLink) Attach(link.Receiver)          {}
func (c *countLink) Close() error                  { return nil }

func TestMalformedPacketsAreCountedByReason(t *testing.T) {
	good := mkDatagram(99, []byte("payload!"), nil)
	cases := []struct {
		name    string
		pkt     []byte
		counter func(*Stats) uint64
	}{
		{"truncated", good[:12], func(s *Stats) uint64 { return s.InTruncated }},
		{"version5", func() []byte { b := slices.Clone(good); b[0] = 0x55; return b }(), func(s *Stats) uint64 { return s.InBadVersion }},
		{"ihl4", func() []byte { b := slices.Clone(good); b[0] = 0x44; return b }(), func(s *Stats) uint64 { return s.InBadHeaderLen }},
		{"totallen-beyond", func() []byte { b := slices.Clone(good); b[3] = 200; return b }(), func(s *Stats) uint64 { return s.InTruncated }},
		{"checksum", func() []byte { b := slices.Clone(good); b[10] ^= 1; return b }(), func(s *Stats) uint64 { return s.InBadChecksum }},
		{"ttl0", mkDatagram(99, nil, func(r *wire.IPv4Repr) { r.TTL = 0 }), func(s *Stats) uint64 { return s.InBadTTL }},
		{"src-multicast", mkDatagram(99, nil, func(r *wire.IPv4Repr) { r.Src = netip.MustParseAddr("224.0.0.1") }), func(s *Stats) uint64 { return s.InBadSource }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, ifc, wl := newLayer(t, 1500)
			l.Input(epoch, ifc, c.pkt)
			if got := c.counter(&l.Stats); got != 1 {
				t.Fatalf("reason counter = %d, want 1 (%+v)", got, l.Stats)
			}
			if l.Stats.InHdrErrors != 1 || l.Stats.InReceives != 1 || l.Stats.InDelivers != 0 {
				t.Fatalf("counters %+v", l.Stats)
			}
			if len(wl.take()) != 0 {
				t.Fatal("a malformed packet got an answer")
			}
		})
	}
}

func TestNotOurAddressIsAnAddressError(t *testing.T) {
	l, ifc, wl := newLayer(t, 1500)
	l.Input(epoch, ifc, mkDatagram(wire.ProtoICMP, echoRequest(1, 1, nil), func(r *wire.IPv4Repr) { r.Dst = netip.MustParseAddr("198.18.0.77") }))
	if l.Stats.InAddrErrors != 1 || len(wl.take()) != 0 {
		t.Fatalf("stats %+v", l.Stats)
	}
}

func TestUnknownProtocolGetsProtocolUnreachable_RFC1122_3_2_2_1(t *testing.T) {
	l, ifc, wl := newLayer(t, 1500)
	orig := mkDatagram(200, []byte("0123456789"), nil)
	l.Input(epoch, ifc, orig)
	out := wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d, want 1", len(out))
	}
	h, m := mustICMP(t, out[0])
	if h.Dst() != hostA || m.Type() != wire.ICMPv4DestUnreachable || m.Code() != wire.ICMPv4ProtoUnreachable {
		t.Fatalf("got type %d code %d to %v", m.Type(), m.Code(), h.Dst())
	}
	if !bytes.Equal(m.Payload(), orig) {
		t.Fatal("error does not quote the original datagram")
	}
	if l.Stats.InUnknownProtos != 1 || l.ICMP.OutDestUnreachs != 1 {
		t.Fatalf("counters %+v %+v", l.Stats, l.ICMP)
	}
}

func TestICMPErrorsAreRateLimited(t *testing.T) {
	l := New(Config{ICMPRatePerSec: 10, ICMPRateBurst: 3})
	wl := &wireLink{mtu: 1500}
	ifc := l.AddInterface("t0", wl, prefix)
	for range 10 {
		l.Input(epoch, ifc, mkDatagram(200, nil, nil))
	}
	if n := len(wl.take()); n != 3 {
		t.Fatalf("burst sent %d errors, want 3", n)
	}
	l.Input(epoch.Add(100*time.Millisecond), ifc, mkDatagram(200, nil, nil))
	if n := len(wl.take()); n != 1 {
		t.Fatalf("after 100ms at 10/s sent %d, want 1", n)
	}
	if l.ICMP.OutRateLimited != 7 {
		t.Fatalf("OutRateLimited = %d", l.ICMP.OutRateLimited)
	}
}

func TestNoErrorAboutAnError_RFC1122_3_2_2(t *testing.T) {
	l, _, wl := newLayer(t, 1500)
	inner := mkDatagram(200, nil, nil)
	m := wire.ICMPv4Repr{Type: wire.ICMPv4DestUnreachable, Code: 3, Data: inner}
	mb := make([]byte, m.Len())
	m.Emit(mb)
	h, _ := wire.NewIPv4(mkDatagram(wire.ProtoICMP, mb, nil))
	l.SendError(epoch, h, wire.ICMPv4DestUnreachable, wire.ICMPv4ProtoUnreachable, 0)
	nonFirst, _ := wire.NewIPv4(mkDatagram(200, make([]byte, 8), func(r *wire.IPv4Repr) { r.FragmentOffset = 8 }))
	l.SendError(epoch, nonFirst, wire.ICMPv4DestUnreachable, wire.ICMPv4ProtoUnreachable, 0)
	bcast, _ := wire.NewIPv4(mkDatagram(200, nil, func(r *wire.IPv4Repr) { r.Dst = netip.MustParseAddr("255.255.255.255") }))
	l.SendError(epoch, bcast, wire.ICMPv4DestUnreachable, wire.ICMPv4ProtoUnreachable, 0)
	if n := len(wl.take()); n != 0 {
		t.Fatalf("sent %d forbidden errors", n)
	}
}

type recordingHandler struct {
	pkts [][]byte
	errs []ICMPError
}

func (r *recordingHandler) HandlePacket(p *Packet) { r.pkts = append(r.pkts, slices.Clone(p.Payload)) }
func (r *recordingHandler) HandleError(e *ICMPError) {
	c := *e
	c.Original = slices.Clone(e.Original)
	r.errs = append(r.errs, c)
}

func TestICMPErrorReachesTransportOfQuotedDatagram(t *testing.T) {
	l, ifc, _ := newLayer(t, 1500)
	h := &recordingHandler{}
	l.SetHandler(wire.ProtoUDP, h)
	// hostB sent a UDP datagram to hostA; hostA says port unreachable.
	sent := mkDatagram(wire.ProtoUDP, []byte{0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, 'h', 'i', '!', '!'}, func(r *wire.IPv4Repr) { r.Src, r.Dst = hostB, hostA })
	m := wire.ICMPv4Repr{Type: wire.ICMPv4DestUnreachable, Code: wire.ICMPv4PortUnreachable, Data: sent[:28]}
	mb := make([]byte, m.Len())
	m.Emit(mb)
	l.Input(epoch, ifc, mkDatagram(wire.ProtoICMP, mb, nil))
	if len(h.errs) != 1 {
		t.Fatalf("handler saw %d errors", len(h.errs))
	}
	e := h.errs[0]
	if e.Errno() != syscall.ECONNREFUSED || e.Original.Dst() != hostA || e.From != hostA {
		t.Fatalf("error %+v errno %v", e, e.Errno())
	}
	if !bytes.Equal(e.OrigPayload, sent[20:28]) {
		t.Fatalf("quoted transport header %x", e.OrigPayload)
	}
}

func TestFragmentationOnOutputAndReassembly_RFC791(t *testing.T) {
	tx, _, wl := newLayer(t, 1500)
	payload := make([]byte, 4000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	b := buf.From(buf.Headroom, payload)
	if err := tx.Send(epoch, b, Header{Dst: hostA, Protocol: 99}); err != nil {
		t.Fatal(err)
	}
	frags := wl.take()
	if len(frags) != 3 {
		t.Fatalf("%d fragments, want 3", len(frags))
	}
	wantOff := []int{0, 1480, 2960}
	for i, f := range frags {
		h, err := wire.NewIPv4(f)
		if err != nil || !h.ChecksumValid() || len(f) > 1500 {
			t.Fatalf("fragment %d bad: %v", i, err)
		}
		if h.FragmentOffset() != wantOff[i] || h.MoreFragments() != (i < 2) || h.ID() != frags0ID(frags) {
			t.Fatalf("fragment %d: off %d mf %v", i, h.FragmentOffset(), h.MoreFragments())
		}
	}
	// Deliver them out of order, with a duplicate, to a receiver.
	rx := New(Config{})
	rh := &recordingHandler{}
	rx.SetHandler(99, rh)
	rifc := rx.AddInterface("r0", &wireLink{mtu: 1500}, netip.MustParsePrefix("198.18.0.1/24"))
	for _, i := range []int{2, 0, 0, 1} {
		rx.Input(epoch, rifc, slices.Clone(frags[i]))
	}
	if len(rh.pkts) != 1 || !bytes.Equal(rh.pkts[0], payload) {
		t.Fatalf("reassembled %d datagrams", len(rh.pkts))
	}
	if rx.Stats.ReasmOKs != 1 || rx.Stats.ReasmReqds != 4 || rx.Stats.ReasmFails != 0 {
		t.Fatalf("stats %+v", rx.Stats)
	}
	if bytes, n := rx.ReasmHeld(); bytes != 0 || n != 0 {
		t.Fatalf("still holding %d bytes in %d datagrams", bytes, n)
	}
}

func frags0ID(f [][]byte) uint16 { return wire.IPv4(f[0]).ID() }

func TestDontFragmentTooBigIsEMSGSIZE(t *testing.T) {
	l, _, wl := newLayer(t, 1500)
	b := buf.From(buf.Headroom, make([]byte, 1481))
	if err := l.Send(epoch, b, Header{Dst: hostA, Protocol: 99, DontFragment: true}); err != syscall.EMSGSIZE {
		t.Fatalf("err = %v, want EMSGSIZE", err)
	}
	if len(wl.take()) != 0 {
		t.Fatal("something was sent")
	}
}

func fragment(id uint16, off int, mf bool, data []byte) []byte {
	return mkDatagram(99, data, func(r *wire.IPv4Repr) { r.ID = id; r.FragmentOffset = off; r.MoreFragments = mf })
}

func TestOverlappingFragmentDiscardsDatagram_RFC5722(t *testing.T) {
	l, ifc, _ := newLayer(t, 1500)
	h := &recordingHandler{}
	l.SetHandler(99, h)
	l.Input(epoch, ifc, fragment(5, 0, true, make([]byte, 16)))
	l.Input(epoch, ifc, fragment(5, 8, true, make([]byte, 16))) // overlaps [8,16)
	l.Input(epoch, ifc, fragment(5, 16, false, make([]byte, 8)))
	if len(h.pkts) != 0 {
		t.Fatal("overlapping fragments were reassembled")
	}
	if l.Stats.ReasmOverlaps != 1 {
		t.Fatalf("stats %+v", l.Stats)
	}
}

func TestReassemblyTimeoutSendsTimeExceeded_RFC792(t *testing.T) {
	l, ifc, wl := newLayer(t, 1500)
	first := fragment(6, 0, true, make([]byte, 16))
	l.Input(epoch, ifc, first)
	if d := l.NextDeadline(); !d.Equal(epoch.Add(30 * time.Second)) {
		t.Fatalf("deadline %v", d)
	}
	l.Tick(epoch.Add(29 * time.Second))
	if len(wl.take()) != 0 {
		t.Fatal("expired early")
	}
	l.Tick(epoch.Add(30 * time.Second))
	out := wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d", len(out))
	}
	_, m := mustICMP(t, out[0])
	if m.Type() != wire.ICMPv4TimeExceeded || m.Code() != wire.ICMPv4ReassemblyTimeExceeded {
		t.Fatalf("type %d code %d", m.Type(), m.Code())
	}
	if !bytes.Equal(m.Payload(), first[:28]) {
		t.Fatal("does not quote the first fragment's header + 8 bytes")
	}
	if l.Stats.ReasmTimeout != 1 || !l.NextDeadline().IsZero() {
		t.Fatalf("stats %+v", l.Stats)
	}
}

func TestReassemblyBoundsPerSource(t *testing.T) {
	l := New(Config{ReasmMaxPerSrc: 4, ReasmPerSource: 1 << 20})
	ifc := l.AddInterface("t0", &wireLink{mtu: 1500}, prefix)
	for id := range uint16(10) {
		l.Input(epoch, ifc, fragment(id, 0, true, make([]byte, 8)))
	}
	if _, n := l.ReasmHeld(); n != 4 {
		t.Fatalf("holding %d datagrams, want the bound 4", n)
	}
	if l.Stats.ReasmFails != 6 {
		t.Fatalf("ReasmFails %d", l.Stats.ReasmFails)
	}
	// Another source is not locked out.
	l.Input(epoch, ifc, mkDatagram(99, make([]byte, 8), func(r *wire.IPv4Repr) {
		r.Src = netip.MustParseAddr("198.18.0.9")
		r.MoreFragments = true
	}))
	if _, n := l.ReasmHeld(); n != 5 {
		t.Fatalf("second source refused: %d", n)
	}
}

func TestLongestPrefixMatch(t *testing.T) {
	var tb Table
	a, b, c := &Interface{Name: "a"}, &Interface{Name: "b"}, &Interface{Name: "c"}
	tb.Add(Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Iface: a})
	tb.Add(Route{Dst: netip.MustParsePrefix("198.18.0.0/15"), Iface: b})
	tb.Add(Route{Dst: netip.MustParsePrefix("198.18.5.0/24"), Iface: c})
	for addr, want := range map[string]string{"198.18.5.9": "c", "198.19.0.1": "b", "203.0.113.1": "a"} {
		r, ok := tb.Lookup(netip.MustParseAddr(addr))
		if !ok || r.Iface.Name != want {
			t.Errorf("%s routed via %v, want %s", addr, r.Iface, want)
		}
	}
	tb.Remove(netip.MustParsePrefix("0.0.0.0/0"))
	if _, ok := tb.Lookup(netip.MustParseAddr("203.0.113.1")); ok {
		t.Error("route after removing default")
	}
}

func TestLoopbackWaitsForFlush(t *testing.T) {
	l, _, wl := newLayer(t, 1500)
	h := &recordingHandler{}
	l.SetHandler(99, h)
	b := buf.From(buf.Headroom, []byte("to myself"))
	if err := l.Send(epoch, b, Header{Dst: hostB, Protocol: 99}); err != nil {
		t.Fatal(err)
	}
	if len(h.pkts) != 0 || !l.Pending() {
		t.Fatal("looped-back datagram delivered inside Send")
	}
	l.Flush(epoch)
	if len(wl.take()) != 0 || len(h.pkts) != 1 || string(h.pkts[0]) != "to myself" || l.Pending() {
		t.Fatalf("loopback: %q", h.pkts)
	}
}

func TestSendRawFillsACopyNotTheCallersBytes(t *testing.T) {
	l, _, wl := newLayer(t, 1500)
	r := wire.IPv4Repr{TTL: 9, Protocol: 253, Src: netip.IPv4Unspecified(), Dst: hostA, PayloadLen: 4}
	pkt := make([]byte, 24)
	r.Emit(pkt)
	wire.IPv4(pkt).SetChecksum(0)
	orig := slices.Clone(pkt)
	if err := l.SendRaw(epoch, pkt); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pkt, orig) {
		t.Fatal("SendRaw wrote into the caller's buffer")
	}
	out := wl.take()
	h, _ := wire.NewIPv4(out[0])
	if h.Src() != hostB || h.ID() == 0 || !h.ChecksumValid() {
		t.Fatalf("sent src %v id %d checksum ok %v", h.Src(), h.ID(), h.ChecksumValid())
	}
}

func TestLocalMTU(t *testing.T) {
	l, _, _ := newLayer(t, 1500)
	if m := l.LocalMTU(hostB); m != 1500 {
		t.Fatalf("MTU of the interface holding %v = %d", hostB, m)
	}
}

// IDs come from per-destination counters: what the host sends to one peer
// does not move the numbers another sees (RFC 7739 §5.3), and a sender
// that numbers its own datagrams (HasID) gets its number on the wire.
func TestIdentificationPerDestination(t *testing.T) {
	l, _, wl := newLayer(t, 1500)
	hostC := netip.MustParseAddr("198.18.0.9")
	send := func(dst netip.Addr, hdr Header) uint16 {
		t.Helper()
		hdr.Dst, hdr.Protocol = dst, 253
		b := buf.From(buf.Headroom, []byte("id"))
		defer b.Release()
		if err := l.Send(epoch, b, hdr); err != nil {
			t.Fatal(err)
		}
		out := wl.take()
		return wire.IPv4(out[len(out)-1]).ID()
	}
	a0 := send(hostA, Header{})
	c0 := send(hostC, Header{})
	for i := 1; i <= 5; i++ {
		if got := send(hostA, Header{}); got != a0+uint16(i) {
			t.Fatalf("datagram %d to %v: id %d, want %d", i, hostA, got, a0+uint16(i))
		}
		if i%2 == 0 {
			continue // to hostC only every other round
		}
		if got := send(hostC, Header{}); got != c0+uint16(i+1)/2 {
			t.Fatalf("datagram %d to %v: id %d, want %d", (i+1)/2, hostC, got, c0+uint16(i+1)/2)
		}
	}
	if got := send(hostA, Header{HasID: true, ID: 4242}); got != 4242 {
		t.Fatalf("HasID: id %d on the wire, want 4242", got)
	}
	if got := send(hostA, Header{}); got != a0+6 {
		t.Fatalf("after a HasID datagram: id %d, want %d (the counter untouched)", got, a0+6)
	}
	// Another key, other numbers: the counters start where the key says.
	l2 := New(Config{IDKey: 12345})
	wl2 := &wireLink{mtu: 1500}
	l2.AddInterface("t0", wl2, prefix)
	b := buf.From(buf.Headroom, []byte("id"))
	defer b.Release()
	if err := l2.Send(epoch, b, Header{Dst: hostA, Protocol: 253}); err != nil {
		t.Fatal(err)
	}
	if got := wire.IPv4(wl2.take()[0]).ID(); got == a0 {
		t.Fatalf("keys 100 and 12345 start the counter to %v at the same id %d", hostA, got)
	}
}

// A learned path MTU holds for PMTUExpiry, never raises the interface's,
// and the table stays bounded.
func TestLearnPathMTU(t *testing.T) {
	l, _, _ := newLayer(t, 1500)
	if got := l.PathMTU(epoch, hostA); got != 1500 {
		t.Fatalf("PathMTU %d before any news, want the link's 1500", got)
	}
	l.LearnPathMTU(epoch, hostA, 1000)
	l.LearnPathMTU(epoch, netip.MustParseAddr("198.18.0.9"), 9000)
	for _, tc := range []struct {
		at   time.Duration
		dst  netip.Addr
		want int
	}{
		{0, hostA, 1000},
		{0, netip.MustParseAddr("198.18.0.9"), 1500}, // learning cannot raise it
		{0, netip.MustParseAddr("198.18.0.10"), 1500},
		{PMTUExpiry - time.Second, hostA, 1000},
		{PMTUExpiry, hostA, 1500}, // expired: try the link's MTU again
	} {
		if got := l.PathMTU(epoch.Add(tc.at), tc.dst); got != tc.want {
			t.Fatalf("PathMTU(%v) at +%v = %d, want %d", tc.dst, tc.at, got, tc.want)
		}
	}
	for i := range 3 * maxPMTUEntries {
		l.LearnPathMTU(epoch, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 1200)
	}
	if n := len(l.pmtu); n > maxPMTUEntries {
		t.Fatalf("%d destinations remembered, bound %d", n, maxPMTUEntries)
	}
}
