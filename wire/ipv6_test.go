package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"gvisor.dev/gvisor/pkg/tcpip"
	gvheader "gvisor.dev/gvisor/pkg/tcpip/header"
)

// gopacketIPv6 decodes b with gopacket, the independent decoder.
func gopacketIPv6(t testing.TB, b []byte) *layers.IPv6 {
	t.Helper()
	var l layers.IPv6
	if err := l.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket: %v", err)
	}
	return &l
}

// compareIPv6 checks the view against gopacket's and gVisor's decoding of
// the same bytes.
func compareIPv6(t testing.TB, v IPv6, g *layers.IPv6) {
	t.Helper()
	type fields struct {
		Version, TC, Next, HopLimit uint8
		Flow                        uint32
		PayloadLen                  int
		Src, Dst                    netip.Addr
	}
	src, _ := netip.AddrFromSlice(g.SrcIP)
	dst, _ := netip.AddrFromSlice(g.DstIP)
	want := fields{g.Version, g.TrafficClass, uint8(g.NextHeader), g.HopLimit, g.FlowLabel, int(g.Length), src, dst}
	got := fields{v[0] >> 4, v.TrafficClass(), v.NextHeader(), v.HopLimit(), v.FlowLabel(), v.PayloadLen(), v.Src(), v.Dst()}
	if got != want {
		t.Fatalf("view disagrees with gopacket:\n got %+v\nwant %+v", got, want)
	}
	// gopacket takes a Hop-by-Hop header into the IPv6 layer; its Payload
	// then starts after it (and is cut to a length that still counts it).
	if g.HopByHop == nil && !bytes.Equal(v.Payload(), g.Payload) {
		t.Fatalf("payload %x, gopacket %x", v.Payload(), g.Payload)
	}
	gv := gvheader.IPv6(v)
	tc, flow := gv.TOS()
	gvGot := fields{v[0] >> 4, tc, gv.NextHeader(), gv.HopLimit(), flow, int(gv.PayloadLength()),
		netip.AddrFrom16(gv.SourceAddress().As16()), netip.AddrFrom16(gv.DestinationAddress().As16())}
	if gvGot != got {
		t.Fatalf("view disagrees with gVisor:\n got %+v\nwant %+v", got, gvGot)
	}
}

func TestIPv6_LinuxPackets(t *testing.T) {
	for _, name := range linux6PacketNames(t, "") {
		t.Run(name, func(t *testing.T) {
			b := linux6Packet(t, name)
			v, err := NewIPv6(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != len(b) {
				t.Fatalf("view %d bytes of a %d-byte packet", len(v), len(b))
			}
			compareIPv6(t, v, gopacketIPv6(t, b))
			r := ParseIPv6(v)
			out := make([]byte, r.HeaderLen())
			r.Emit(out)
			if !bytes.Equal(out, b[:IPv6HeaderLen]) {
				t.Fatalf("emit differs from Linux's header:\n got %x\nwant %x", out, b[:IPv6HeaderLen])
			}
		})
	}
}

func TestIPv6_Fields(t *testing.T) {
	// Linux sets a flow label per flow (RFC 6437) on what its sockets send.
	for _, tc := range []struct {
		name string
		want IPv6Repr
	}{
		{"ping6_echo_request", IPv6Repr{FlowLabel: 0x126e0, NextHeader: ProtoICMPv6, HopLimit: 64, Src: local6, Dst: peer6, PayloadLen: 64}},
		{"udp6_dns_query", IPv6Repr{FlowLabel: 0xb1501, NextHeader: ProtoUDP, HopLimit: 64, Src: local6, Dst: peer6, PayloadLen: 20}},
		{"tcp6_syn", IPv6Repr{FlowLabel: 0xddc73, NextHeader: ProtoTCP, HopLimit: 64, Src: local6, Dst: peer6, PayloadLen: 40}},
		{"udp6_fragment_first", IPv6Repr{FlowLabel: 0xdb650, NextHeader: ProtoFragment, HopLimit: 64, Src: local6, Dst: peer6, PayloadLen: 1456}},
		{"exthdr_echo_request", IPv6Repr{FlowLabel: 0x126e0, NextHeader: ProtoHopByHop, HopLimit: 64, Src: local6, Dst: peer6, PayloadLen: 46}},
		// The forwarding path's Packet Too Big fills the minimum MTU exactly.
		{"icmp6_packet_too_big", IPv6Repr{FlowLabel: 0x52f06, NextHeader: ProtoICMPv6, HopLimit: 64, Src: local6, Dst: peer6, PayloadLen: IPv6MinMTU - IPv6HeaderLen}},
	} {
		v, err := NewIPv6(linux6Packet(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		if got := ParseIPv6(v); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

// ipv6Packet builds a fixed header with Payload Length = len(payload),
// followed by payload.
func ipv6Packet(next uint8, payload []byte) []byte {
	r := IPv6Repr{NextHeader: next, HopLimit: 64, Src: local6, Dst: peer6, PayloadLen: len(payload)}
	b := make([]byte, IPv6HeaderLen+len(payload))
	r.Emit(b)
	copy(b[IPv6HeaderLen:], payload)
	return b
}

func TestNewIPv6_Rejects(t *testing.T) {
	good := ipv6Packet(ProtoUDP, make([]byte, 8))
	mod := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	for _, tc := range []struct {
		name      string
		b         []byte
		err       error
		quotedErr error // NewQuotedIPv6's verdict
	}{
		{"empty", nil, ErrTruncated, ErrTruncated},
		{"39 bytes", good[:39], ErrTruncated, ErrTruncated},
		{"version 4", mod(func(b []byte) { b[0] = 0x45 }), ErrBadVersion, ErrBadVersion},
		{"version 0", mod(func(b []byte) { b[0] = 0x00 }), ErrBadVersion, ErrBadVersion},
		{"version 15", mod(func(b []byte) { b[0] = 0xf0 }), ErrBadVersion, ErrBadVersion},
		{"payload length past buffer", mod(func(b []byte) { b[5] = 9 }), ErrTruncated, nil},
		{"payload length 65535", mod(func(b []byte) { b[4], b[5] = 0xff, 0xff }), ErrTruncated, nil},
		{"payload cut short", good[:47], ErrTruncated, nil},
		{"header only, payload length 0", ipv6Packet(ProtoNoNextHeader, nil), nil, nil},
	} {
		if _, err := NewIPv6(tc.b); err != tc.err {
			t.Errorf("%s: NewIPv6 error %v, want %v", tc.name, err, tc.err)
		}
		if _, err := NewQuotedIPv6(tc.b); err != tc.quotedErr {
			t.Errorf("%s: NewQuotedIPv6 error %v, want %v", tc.name, err, tc.quotedErr)
		}
		// gVisor's basic validation agrees on what NewIPv6 accepts.
		if ok := gvheader.IPv6(tc.b).IsValid(len(tc.b)); ok != (tc.err == nil) {
			t.Errorf("%s: gVisor IsValid %v, NewIPv6 error %v", tc.name, ok, tc.err)
		}
	}
}

func TestNewIPv6_CutsLinkPadding(t *testing.T) {
	b := append(linux6Packet(t, "udp6_dns_query"), 0, 0, 0, 0, 0, 0)
	v, err := NewIPv6(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 60 || len(v.Payload()) != 20 {
		t.Fatalf("view %d bytes, payload %d; want 60 and 20", len(v), len(v.Payload()))
	}
	// Payload Length 0 is an empty payload, whatever follows.
	v, err = NewIPv6(append(ipv6Packet(ProtoNoNextHeader, nil), 1, 2, 3))
	if err != nil || len(v) != 40 || len(v.Payload()) != 0 {
		t.Fatalf("len %d err %v, want 40 <nil>", len(v), err)
	}
}

func TestNewQuotedIPv6_Truncated(t *testing.T) {
	// Linux's Packet Too Big quotes a 1400-byte packet in 1232 bytes, so
	// that the error fits the minimum MTU (RFC 4443 §2.4(c)).
	v, err := NewIPv6(linux6Packet(t, "icmp6_packet_too_big"))
	if err != nil {
		t.Fatal(err)
	}
	quote := v.Payload()[ICMPv6HeaderLen:]
	q, err := NewQuotedIPv6(quote)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != IPv6MinMTU-IPv6HeaderLen-ICMPv6HeaderLen || q.PayloadLen() != 1360 {
		t.Fatalf("quote %d bytes, payload length %d; want 1232 and 1360", len(q), q.PayloadLen())
	}
	// Linux quotes the packet as it arrived, before the hop limit went down.
	want := IPv6Repr{NextHeader: ProtoUDP, HopLimit: 64, Src: peer6, Dst: netip.MustParseAddr("2001:2:1::9"), PayloadLen: 1360}
	if r := ParseIPv6(q); r != want {
		t.Fatalf("quoted header\n got %+v\nwant %+v", r, want)
	}
	if _, err := NewIPv6(quote); err != ErrTruncated {
		t.Fatalf("NewIPv6 on the quote: %v, want ErrTruncated", err)
	}
	// A quote longer than the packet it quotes is cut to 40 + Payload Length.
	q, err = NewQuotedIPv6(append(ipv6Packet(ProtoUDP, make([]byte, 8)), 9, 9, 9))
	if err != nil || len(q) != 48 {
		t.Fatalf("len %d err %v, want 48 <nil>", len(q), err)
	}
}

func TestIPv6_Setters(t *testing.T) {
	v, err := NewIPv6(linux6Packet(t, "udp6_dns_query"))
	if err != nil {
		t.Fatal(err)
	}
	v.SetTrafficClass(0xb8) // DSCP EF (RFC 3246)
	if v.FlowLabel() != 0xb1501 || v[0]>>4 != 6 {
		t.Fatalf("SetTrafficClass disturbed its neighbours: %x", v[:4])
	}
	v.SetFlowLabel(0xfffff)
	if v.TrafficClass() != 0xb8 || v[0]>>4 != 6 {
		t.Fatalf("SetFlowLabel disturbed its neighbours: %x", v[:4])
	}
	v.SetFlowLabel(0x12345)
	v.SetPayloadLen(8)
	v.SetNextHeader(ProtoNoNextHeader)
	v.SetHopLimit(255)
	v.SetSrc(addr6)
	v.SetDst(netip.MustParseAddr("::ffff:198.18.0.1")) // IPv4-mapped is IPv6
	want := IPv6Repr{TrafficClass: 0xb8, FlowLabel: 0x12345, NextHeader: ProtoNoNextHeader, HopLimit: 255,
		Src: addr6, Dst: netip.MustParseAddr("::ffff:198.18.0.1"), PayloadLen: 8}
	if got := ParseIPv6(v); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	compareIPv6(t, v[:48], gopacketIPv6(t, v[:48]))
}

func TestIPv6_SetterPanics(t *testing.T) {
	for name, f := range map[string]func(v IPv6){
		"flow label 21 bits": func(v IPv6) { v.SetFlowLabel(1 << 20) },
		"IPv4 source":        func(v IPv6) { v.SetSrc(addrA) },
		"invalid dst":        func(v IPv6) { v.SetDst(netip.Addr{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f(IPv6(make([]byte, 40)))
		}()
	}
}

func TestIPv6Repr_EmitPanics(t *testing.T) {
	for name, r := range map[string]IPv6Repr{
		"negative":        {Src: addr6, Dst: addr6, PayloadLen: -1},
		"too long":        {Src: addr6, Dst: addr6, PayloadLen: 65536},
		"flow label":      {Src: addr6, Dst: addr6, FlowLabel: 0x100000},
		"IPv4 source":     {Src: addrA, Dst: addr6},
		"invalid dst":     {Src: addr6},
		"IPv4 both sides": {Src: addrA, Dst: addrB},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Emit did not panic", name)
				}
			}()
			r.Emit(make([]byte, 40))
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Emit into 39 bytes did not panic")
			}
		}()
		r := IPv6Repr{Src: addr6, Dst: addr6}
		r.Emit(make([]byte, 39))
	}()
}

func TestIPv6Repr_String(t *testing.T) {
	r := IPv6Repr{NextHeader: ProtoICMPv6, HopLimit: 64, Src: local6, Dst: peer6, PayloadLen: 64}
	if got, want := r.String(), "2001:2::1 > 2001:2::2 next 58 hlim 64 len 104"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	r.TrafficClass, r.FlowLabel = 0xb8, 0x12345
	if got, want := r.String(), "2001:2::1 > 2001:2::2 next 58 hlim 64 tc 0xb8 flow 0x12345 len 104"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func randAddr6(rng *rand.Rand) netip.Addr {
	var a [16]byte
	a[0], a[1], a[2], a[3] = 0x20, 0x01, 0, 2 // 2001:2::/48 (RFC 5180)
	for i := 6; i < 16; i++ {
		a[i] = byte(rng.Uint32())
	}
	return netip.AddrFrom16(a)
}

// TestIPv6_DifferentialRandom emits random headers for gopacket and gVisor
// to decode, and parses random headers that gopacket and gVisor serialize.
func TestIPv6_DifferentialRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for range 2000 {
		r := IPv6Repr{
			TrafficClass: uint8(rng.Uint32()), FlowLabel: rng.Uint32() & 0xfffff,
			NextHeader: uint8(rng.Uint32()), HopLimit: uint8(rng.Uint32()),
			Src: randAddr6(rng), Dst: randAddr6(rng),
			PayloadLen: 1 + rng.IntN(300), // gopacket refuses a Payload Length of 0
		}
		if r.NextHeader == ProtoHopByHop {
			r.NextHeader = ProtoNoNextHeader // gopacket would parse the random payload as options
		}
		b := make([]byte, r.HeaderLen()+r.PayloadLen)
		r.Emit(b)
		v, err := NewIPv6(b)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		compareIPv6(t, v, gopacketIPv6(t, b))
		if got := ParseIPv6(v); got != r {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}

		// gopacket serializes, berth parses.
		g := &layers.IPv6{
			Version: 6, TrafficClass: r.TrafficClass, FlowLabel: r.FlowLabel, NextHeader: layers.IPProtocol(r.NextHeader),
			HopLimit: r.HopLimit, SrcIP: net.IP(r.Src.AsSlice()), DstIP: net.IP(r.Dst.AsSlice()),
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, g, gopacket.Payload(make([]byte, r.PayloadLen))); err != nil {
			t.Fatal(err)
		}
		v, err = NewIPv6(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got := ParseIPv6(v); got != r {
			t.Fatalf("from gopacket:\n got %+v\nwant %+v", got, r)
		}

		// gVisor encodes, berth parses.
		gb := make([]byte, IPv6HeaderLen)
		gvheader.IPv6(gb).Encode(&gvheader.IPv6Fields{
			TrafficClass: r.TrafficClass, FlowLabel: r.FlowLabel, PayloadLength: uint16(r.PayloadLen),
			TransportProtocol: tcpip.TransportProtocolNumber(r.NextHeader), HopLimit: r.HopLimit,
			SrcAddr: tcpip.AddrFrom16(r.Src.As16()), DstAddr: tcpip.AddrFrom16(r.Dst.As16()),
		})
		if !bytes.Equal(gb, b[:IPv6HeaderLen]) {
			t.Fatalf("gVisor encodes %x, berth %x", gb, b[:IPv6HeaderLen])
		}
	}
}

func TestIPv6_ZeroAllocs(t *testing.T) {
	b := linux6Packet(t, "exthdr_echo_request")
	out := make([]byte, IPv6HeaderLen)
	var r IPv6Repr
	var tr IPv6Transport
	if n := testing.AllocsPerRun(100, func() {
		v, err := NewIPv6(b)
		if err != nil {
			panic(err)
		}
		r = ParseIPv6(v)
		r.Emit(out)
		if tr, err = v.Transport(); err != nil {
			panic(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per parse+emit+walk, want 0", n)
	}
	_ = tr
}

// ipv6Seeds are the fuzz seeds of FuzzIPv6: the captured packets and the
// crafted chains of the walker's tests.
func ipv6Seeds(t testing.TB) map[string][]byte {
	m, err := linux6Packets()
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{}
	for name, b := range m {
		seeds[name] = b
	}
	for _, tc := range walkCases() {
		slug := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '-'
		}, strings.ToLower(tc.name))
		seeds["walk-"+slug] = tc.pkt
	}
	return seeds
}

func TestIPv6_SeedCorpus(t *testing.T) {
	seeds := map[string][]any{}
	for name, b := range ipv6Seeds(t) {
		seeds[name] = []any{b}
	}
	writeSeeds(t, "FuzzIPv6", seeds)
}

// FuzzIPv6 feeds the constructors, the extension header walk and the Repr
// round trip, and checks them against gopacket and gVisor.
func FuzzIPv6(f *testing.F) {
	for _, b := range ipv6Seeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := NewQuotedIPv6(b); err == nil {
			touchIPv6(q)
			if len(q) < IPv6HeaderLen || len(q) > IPv6HeaderLen+q.PayloadLen() {
				t.Fatalf("quoted view %d bytes, payload length %d", len(q), q.PayloadLen())
			}
			checkTransport(t, q)
		}
		v, err := NewIPv6(b)
		if ok := gvheader.IPv6(b).IsValid(len(b)); ok != (err == nil) {
			t.Fatalf("gVisor IsValid %v, NewIPv6 error %v", ok, err)
		}
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadVersion) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		touchIPv6(v)
		if len(v) != IPv6HeaderLen+v.PayloadLen() {
			t.Fatalf("view %d bytes, payload length %d", len(v), v.PayloadLen())
		}
		checkTransport(t, v)
		compareTransportGVisor(t, v)
		// Emit(Parse(v)) reproduces the header: IPv6 has no field it does
		// not carry, and no checksum.
		r := ParseIPv6(v)
		out := make([]byte, r.HeaderLen())
		r.Emit(out)
		if !bytes.Equal(out, v[:IPv6HeaderLen]) {
			t.Fatalf("emitted %x, parsed %x", out, v[:IPv6HeaderLen])
		}
		v2, err := NewIPv6(append(out, v.Payload()...))
		if err != nil {
			t.Fatalf("emitted header rejected: %v", err)
		}
		if r2 := ParseIPv6(v2); r2 != r {
			t.Fatalf("round trip:\n got %+v\nwant %+v", r2, r)
		}
		// Differential: where gopacket also accepts the bytes, it must agree.
		var g layers.IPv6
		if g.DecodeFromBytes(v, gopacket.NilDecodeFeedback) == nil {
			compareIPv6(t, v, &g)
		}
	})
}

// touchIPv6 calls every accessor, to prove none panics on an accepted view.
func touchIPv6(v IPv6) {
	_ = int(v.TrafficClass()) + int(v.FlowLabel()) + v.PayloadLen() + int(v.NextHeader()) + int(v.HopLimit())
	_, _ = v.Src(), v.Dst()
	_ = v.Payload()
	_ = ParseIPv6(v).String()
}

func BenchmarkIPv6Parse(b *testing.B) {
	pkt := linux6Packet(b, "tcp6_syn")
	b.ReportAllocs()
	var r IPv6Repr
	for b.Loop() {
		v, err := NewIPv6(pkt)
		if err != nil {
			b.Fatal(err)
		}
		r = ParseIPv6(v)
	}
	_ = r
}

func BenchmarkIPv6Emit(b *testing.B) {
	v, _ := NewIPv6(linux6Packet(b, "tcp6_syn"))
	r := ParseIPv6(v)
	out := make([]byte, r.HeaderLen())
	b.ReportAllocs()
	for b.Loop() {
		r.Emit(out)
	}
}

func BenchmarkIPv6Transport(b *testing.B) {
	for _, name := range []string{"tcp6_syn", "exthdr_echo_request", "udp6_fragment_first"} {
		v, _ := NewIPv6(linux6Packet(b, name))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Transport(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
