package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"gvisor.dev/gvisor/pkg/tcpip"
	gvheader "gvisor.dev/gvisor/pkg/tcpip/header"
)

// compareICMPv6 checks the view against gopacket's and gVisor's decoding
// of the same bytes.
func compareICMPv6(t testing.TB, v ICMPv6) {
	t.Helper()
	var g layers.ICMPv6
	if err := g.DecodeFromBytes(v, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket: %v", err)
	}
	if v.Type() != g.TypeCode.Type() || v.Code() != g.TypeCode.Code() || v.Checksum() != g.Checksum ||
		!bytes.Equal(v[4:], g.Payload) {
		t.Fatalf("view %d/%d %#04x disagrees with gopacket %v %#04x", v.Type(), v.Code(), v.Checksum(), g.TypeCode, g.Checksum)
	}
	if v.Type() == ICMPv6EchoRequest || v.Type() == ICMPv6EchoReply {
		var e layers.ICMPv6Echo
		if err := e.DecodeFromBytes(g.Payload, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("gopacket echo: %v", err)
		}
		if v.ID() != e.Identifier || v.Seq() != e.SeqNumber {
			t.Fatalf("echo id %d seq %d, gopacket id %d seq %d", v.ID(), v.Seq(), e.Identifier, e.SeqNumber)
		}
	}
	gv := gvheader.ICMPv6(v)
	if v.Type() != uint8(gv.Type()) || v.Code() != uint8(gv.Code()) || v.Checksum() != gv.Checksum() ||
		v.ID() != gv.Ident() || v.Seq() != gv.Sequence() || v.MTU() != gv.MTU() || v.Pointer() != gv.TypeSpecific() ||
		!bytes.Equal(v.Payload(), gv.Payload()) {
		t.Fatalf("view disagrees with gVisor: %x", []byte(v))
	}
}

// gvisorICMPv6Checksum is the checksum gVisor computes for v between src
// and dst (the checksum field itself is skipped).
func gvisorICMPv6Checksum(v ICMPv6, src, dst netip.Addr) uint16 {
	return gvheader.ICMPv6Checksum(gvheader.ICMPv6ChecksumParams{
		Header: gvheader.ICMPv6(v), Src: tcpip.AddrFrom16(src.As16()), Dst: tcpip.AddrFrom16(dst.As16()),
	})
}

// linuxICMPv6 returns the packet and ICMPv6 message of a captured packet.
func linuxICMPv6(t testing.TB, name string) (IPv6, ICMPv6) {
	t.Helper()
	ip, err := NewIPv6(linux6Packet(t, name))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ip.Transport()
	if err != nil || tr.Proto != ProtoICMPv6 {
		t.Fatalf("%s: walk %+v, %v", name, tr, err)
	}
	m, err := NewICMPv6(ip[tr.Offset:])
	if err != nil {
		t.Fatal(err)
	}
	return ip, m
}

var linuxICMPv6Names = []string{
	"ping6_echo_request", "exthdr_echo_request", "kernel6_echo_reply", "kernel6_echo_reply_to_exthdrs",
	"icmp6_port_unreachable", "icmp6_param_unknown_option", "icmp6_param_hbh_not_first",
	"icmp6_param_unknown_next_header", "icmp6_packet_too_big", "icmp6_time_exceeded", "icmp6_no_route",
}

func TestICMPv6_Linux(t *testing.T) {
	for _, tc := range []struct {
		name string
		want ICMPv6Repr // Data is checked by length only
		len  int
		text string
	}{
		{"ping6_echo_request", ICMPv6Repr{Type: ICMPv6EchoRequest, Seq: 1}, 56, ""},
		{"exthdr_echo_request", ICMPv6Repr{Type: ICMPv6EchoRequest, ID: 0x4242, Seq: 1}, 14, "echo request id 16962 seq 1 len 14"},
		{"kernel6_echo_reply", ICMPv6Repr{Type: ICMPv6EchoReply, ID: 0x4242, Seq: 7}, 32, "echo reply id 16962 seq 7 len 32"},
		{"kernel6_echo_reply_to_exthdrs", ICMPv6Repr{Type: ICMPv6EchoReply, ID: 0x4242, Seq: 8}, 3, "echo reply id 16962 seq 8 len 3"},
		{"icmp6_port_unreachable", ICMPv6Repr{Type: ICMPv6DestUnreachable, Code: ICMPv6PortUnreachable}, 61,
			"destination unreachable: port unreachable"},
		{"icmp6_no_route", ICMPv6Repr{Type: ICMPv6DestUnreachable, Code: ICMPv6NoRoute}, 55,
			"destination unreachable: no route to destination"},
		{"icmp6_param_unknown_option", ICMPv6Repr{Type: ICMPv6ParamProblem, Code: ICMPv6ParamOption, Pointer: 42}, 56,
			"parameter problem: unrecognized option pointer 42"},
		{"icmp6_param_hbh_not_first", ICMPv6Repr{Type: ICMPv6ParamProblem, Code: ICMPv6ParamNextHeader, Pointer: 40}, 64,
			"parameter problem: unrecognized next header pointer 40"},
		{"icmp6_param_unknown_next_header", ICMPv6Repr{Type: ICMPv6ParamProblem, Code: ICMPv6ParamNextHeader, Pointer: 6}, 48,
			"parameter problem: unrecognized next header pointer 6"},
		{"icmp6_packet_too_big", ICMPv6Repr{Type: ICMPv6PacketTooBig, MTU: 1280}, 1232, "packet too big mtu 1280"},
		{"icmp6_time_exceeded", ICMPv6Repr{Type: ICMPv6TimeExceeded, Code: ICMPv6HopLimitExceeded}, 51,
			"time exceeded: hop limit exceeded in transit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip, m := linuxICMPv6(t, tc.name)
			if !m.ChecksumValid(ip.Src(), ip.Dst()) {
				t.Fatal("Linux's checksum does not verify")
			}
			if c := gvisorICMPv6Checksum(m, ip.Src(), ip.Dst()); c != m.Checksum() {
				t.Fatalf("gVisor computes %#04x, Linux sent %#04x", c, m.Checksum())
			}
			compareICMPv6(t, m)
			r, err := ParseICMPv6(m)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.Type == ICMPv6EchoRequest && tc.want.ID == 0 { // ping chooses its identifier
				tc.want.ID = r.ID
			}
			got := r
			got.Data = nil
			if !icmpv6Equal(got, tc.want) || len(r.Data) != tc.len {
				t.Fatalf("got %+v (%d bytes of data)\nwant %+v (%d)", got, len(r.Data), tc.want, tc.len)
			}
			if tc.text != "" && r.String() != tc.text {
				t.Errorf("String() = %q, want %q", r.String(), tc.text)
			}
			out := make([]byte, r.Len())
			r.Emit(out, ip.Src(), ip.Dst())
			if !bytes.Equal(out, m) {
				t.Fatalf("emit differs from Linux:\n got %x\nwant %x", out, []byte(m))
			}
		})
	}
}

func TestICMPv6_LinuxPortUnreachableQuote(t *testing.T) {
	_, m := linuxICMPv6(t, "icmp6_port_unreachable")
	r, err := ParseICMPv6(m)
	if err != nil {
		t.Fatal(err)
	}
	// Linux quotes the whole datagram we wrote: a UDP datagram from the peer.
	q, err := NewQuotedIPv6(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := q.Transport()
	if err != nil || tr.Proto != ProtoUDP || q.Src() != peer6 || q.Dst() != local6 {
		t.Fatalf("quoted %v > %v: %+v %v", q.Src(), q.Dst(), tr, err)
	}
	u, err := NewUDP(q[tr.Offset:])
	if err != nil {
		t.Fatal(err)
	}
	if u.SrcPort() != 5555 || u.DstPort() != 9 || string(u.Payload()) != "anyone there?" || !u.ChecksumValid(q.Src(), q.Dst()) {
		t.Fatalf("quoted UDP %d > %d %q", u.SrcPort(), u.DstPort(), u.Payload())
	}
}

// quote6 returns an IPv6 header with Payload Length origLen followed by n
// bytes of its payload, as an ICMPv6 error quotes it.
func quote6(origLen, n int) []byte {
	r := IPv6Repr{NextHeader: ProtoUDP, HopLimit: 1, Src: local6, Dst: peer6, PayloadLen: origLen}
	b := make([]byte, IPv6HeaderLen+n)
	r.Emit(b)
	for i := IPv6HeaderLen; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

func icmpv6Equal(a, b ICMPv6Repr) bool {
	return a.Type == b.Type && a.Code == b.Code && a.ID == b.ID && a.Seq == b.Seq && a.MTU == b.MTU &&
		a.Pointer == b.Pointer && bytes.Equal(a.Data, b.Data)
}

func TestICMPv6Repr_RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		r    ICMPv6Repr
		text string
	}{
		{ICMPv6Repr{Type: ICMPv6EchoRequest, ID: 1, Seq: 2, Data: []byte("ping")}, "echo request id 1 seq 2 len 4"},
		{ICMPv6Repr{Type: ICMPv6EchoReply, ID: 0xffff}, "echo reply id 65535 seq 0 len 0"},
		{ICMPv6Repr{Type: ICMPv6PacketTooBig, MTU: 1280, Data: quote6(1460, 1232-IPv6HeaderLen)}, "packet too big mtu 1280"},
		{ICMPv6Repr{Type: ICMPv6PacketTooBig, Code: 1, MTU: 0xffffffff, Data: quote6(8, 8)}, "packet too big code 1 mtu 4294967295"},
		{ICMPv6Repr{Type: ICMPv6DestUnreachable, Code: ICMPv6AddrUnreachable, Data: quote6(100, 100)},
			"destination unreachable: address unreachable"},
		{ICMPv6Repr{Type: ICMPv6DestUnreachable, Code: 9, Data: quote6(3, 3)}, "destination unreachable: code 9"},
		{ICMPv6Repr{Type: ICMPv6TimeExceeded, Code: ICMPv6ReassemblyTimeExceeded, Data: quote6(4, 4)},
			"time exceeded: fragment reassembly time exceeded"},
		{ICMPv6Repr{Type: ICMPv6ParamProblem, Code: ICMPv6ParamIncompleteChain, Pointer: 0, Data: quote6(16, 8)},
			"parameter problem: incomplete header chain in first fragment pointer 0"},
		{ICMPv6Repr{Type: ICMPv6ParamProblem, Code: ICMPv6ParamHeaderField, Pointer: 1 << 31, Data: quote6(0, 0)},
			"parameter problem: erroneous header field pointer 2147483648"},
		// RFC 4443 §2.4(a): an error of unknown type is still an error.
		{ICMPv6Repr{Type: 100, Code: 7, Data: quote6(8, 8)}, "type 100: code 7"},
	} {
		b := make([]byte, tc.r.Len())
		tc.r.Emit(b, local6, peer6)
		v, err := NewICMPv6(b)
		if err != nil {
			t.Fatal(err)
		}
		if !v.ChecksumValid(local6, peer6) {
			t.Fatalf("%v: bad checksum", tc.r)
		}
		if c := gvisorICMPv6Checksum(v, local6, peer6); c != v.Checksum() {
			t.Fatalf("%v: gVisor computes %#04x, berth %#04x", tc.r, c, v.Checksum())
		}
		compareICMPv6(t, v)
		got, err := ParseICMPv6(v)
		if err != nil {
			t.Fatalf("%v: %v", tc.r, err)
		}
		if !icmpv6Equal(got, tc.r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.r)
		}
		if s := got.String(); s != tc.text {
			t.Errorf("String() = %q, want %q", s, tc.text)
		}
	}
}

func TestICMPv6_Accessors(t *testing.T) {
	b := make([]byte, 12)
	v, err := NewICMPv6(b)
	if err != nil {
		t.Fatal(err)
	}
	v.SetType(ICMPv6ParamProblem)
	v.SetCode(ICMPv6ParamOption)
	v.SetID(0x0a0b)
	v.SetSeq(0x0c0d)
	v.SetChecksum(0x1234)
	if v.Type() != 4 || v.Code() != 2 || v.Checksum() != 0x1234 || v.Pointer() != 0x0a0b0c0d || v.MTU() != 0x0a0b0c0d ||
		v.ID() != 0x0a0b || v.Seq() != 0x0c0d || len(v.Payload()) != 4 {
		t.Fatalf("accessors read %x", b)
	}
	v.SetMTU(1500)
	if v.MTU() != 1500 || v.ID() != 0 || v.Seq() != 1500 {
		t.Fatalf("SetMTU wrote %x", b)
	}
	v.SetPointer(0xfffffffe)
	if v.Pointer() != 0xfffffffe {
		t.Fatalf("SetPointer wrote %x", b)
	}
	v.UpdateChecksum(local6, peer6)
	if !v.ChecksumValid(local6, peer6) || v.ChecksumValid(peer6, local6.Next()) {
		t.Fatal("the checksum does not cover the pseudo-header")
	}
	if c := gvisorICMPv6Checksum(v, local6, peer6); c != v.Checksum() {
		t.Fatalf("gVisor computes %#04x, berth %#04x", c, v.Checksum())
	}
	// ICMPv6 travels in IPv6 alone: IPv4 addresses never verify.
	if v.ChecksumValid(addrA, addrB) || v.ChecksumValid(local6, addrB) {
		t.Fatal("an IPv4 pseudo-header verified")
	}
	for name, f := range map[string]func(){
		"UpdateChecksum IPv4": func() { v.UpdateChecksum(addrA, peer6) },
		"Emit IPv4":           func() { r := ICMPv6Repr{Type: ICMPv6EchoRequest}; r.Emit(make([]byte, 8), local6, addrB) },
		"Emit invalid":        func() { r := ICMPv6Repr{Type: ICMPv6EchoRequest}; r.Emit(make([]byte, 8), netip.Addr{}, peer6) },
		"Emit into short slice": func() {
			r := ICMPv6Repr{Type: ICMPv6EchoRequest, Data: []byte{1}}
			r.Emit(make([]byte, 8), local6, peer6)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestICMPv6_Rejects(t *testing.T) {
	if _, err := NewICMPv6(make([]byte, 7)); err != ErrTruncated {
		t.Errorf("7 bytes: %v, want ErrTruncated", err)
	}
	msg := func(typ, code uint8, data []byte) ICMPv6 {
		b := make([]byte, 8+len(data))
		b[0], b[1] = typ, code
		copy(b[8:], data)
		return ICMPv6(b)
	}
	bad := func(f func(q []byte)) []byte { q := quote6(100, 8); f(q); return q }
	for _, tc := range []struct {
		name string
		v    ICMPv6
		err  error
	}{
		{"neighbor solicitation", msg(ICMPv6NeighborSolicitation, 0, make([]byte, 16)), ErrUnsupportedType},
		{"router advertisement", msg(ICMPv6RouterAdvertisement, 0, make([]byte, 8)), ErrUnsupportedType},
		{"MLDv2 report", msg(ICMPv6MLDv2Report, 0, make([]byte, 8)), ErrUnsupportedType},
		{"informational 200", msg(200, 0, quote6(8, 8)), ErrUnsupportedType},
		{"no quote", msg(ICMPv6DestUnreachable, ICMPv6PortUnreachable, nil), ErrBadQuote},
		{"quote of 39 bytes", msg(ICMPv6TimeExceeded, 0, quote6(100, 8)[:39]), ErrBadQuote},
		{"quote without 8 payload bytes", msg(ICMPv6PacketTooBig, 0, quote6(100, 7)), ErrBadQuote},
		{"quote of IPv4", msg(ICMPv6ParamProblem, 0, bad(func(q []byte) { q[0] = 0x45 })), ErrBadQuote},
		{"unknown error type, no quote", msg(127, 0, make([]byte, 20)), ErrBadQuote},
	} {
		if _, err := ParseICMPv6(tc.v); err != tc.err {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	// A packet with less than 8 bytes of payload is quoted whole, and an
	// error of unknown type is parsed for its quote.
	for name, v := range map[string]ICMPv6{
		"quote of a 3-byte payload": msg(ICMPv6DestUnreachable, 4, quote6(3, 3)),
		"quote of a bare header":    msg(ICMPv6DestUnreachable, 4, quote6(0, 0)),
		"error type 0":              msg(0, 0, quote6(8, 8)),
	} {
		if _, err := ParseICMPv6(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestICMPv6_Names(t *testing.T) {
	for c := range uint8(7) {
		if s := ICMPv6CodeString(ICMPv6DestUnreachable, c); s == "" || s[:4] == "code" {
			t.Errorf("destination unreachable code %d has no name: %q", c, s)
		}
	}
	for _, tc := range []struct{ got, want string }{
		{ICMPv6CodeString(ICMPv6DestUnreachable, ICMPv6RejectRoute), "reject route to destination"},
		{ICMPv6CodeString(ICMPv6DestUnreachable, 7), "code 7"},
		{ICMPv6CodeString(ICMPv6PacketTooBig, 0), "code 0"},
		{ICMPv6TypeString(ICMPv6NeighborSolicitation), "neighbor solicitation"},
		{ICMPv6TypeString(ICMPv6MLDv2Report), "multicast listener report v2"},
		{ICMPv6TypeString(5), "type 5"},
		{ICMPv6Repr{Type: ICMPv6RouterAdvertisement}.String(), "router advertisement code 0"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for typ := range 256 {
		t8 := uint8(typ)
		if IsICMPv6Error(t8) != (typ < 128) {
			t.Errorf("IsICMPv6Error(%d) = %v", typ, IsICMPv6Error(t8))
		}
		if IsICMPv6NDP(t8) != (typ >= 133 && typ <= 137) {
			t.Errorf("IsICMPv6NDP(%d) = %v", typ, IsICMPv6NDP(t8))
		}
		if gv := gvheader.ICMPv6Type(t8).IsErrorType(); gv != IsICMPv6Error(t8) {
			t.Errorf("type %d: gVisor says error %v", typ, gv)
		}
	}
}

// TestICMPv6_DifferentialRandom has gopacket build echo messages, checksum
// included, for berth to parse and emit again, and berth build errors for
// gVisor to checksum.
func TestICMPv6_DifferentialRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	for range 500 {
		src, dst := randAddr6(rng), randAddr6(rng)
		data := make([]byte, rng.IntN(100))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		typ := []uint8{ICMPv6EchoRequest, ICMPv6EchoReply}[rng.IntN(2)]
		g := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
		ip := &layers.IPv6{SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(dst.AsSlice()), NextHeader: layers.IPProtocolICMPv6}
		if err := g.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		e := &layers.ICMPv6Echo{Identifier: uint16(rng.Uint32()), SeqNumber: uint16(rng.Uint32())}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, g, e, gopacket.Payload(data)); err != nil {
			t.Fatal(err)
		}
		v, err := NewICMPv6(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !v.ChecksumValid(src, dst) {
			t.Fatal("gopacket's checksum does not verify")
		}
		r, err := ParseICMPv6(v)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != e.Identifier || r.Seq != e.SeqNumber || r.Type != typ || !bytes.Equal(r.Data, data) {
			t.Fatalf("parsed %+v from gopacket's %+v", r, e)
		}
		out := make([]byte, r.Len())
		r.Emit(out, src, dst)
		if !bytes.Equal(out, buf.Bytes()) {
			t.Fatalf("emit %x, gopacket %x", out, buf.Bytes())
		}

		er := ICMPv6Repr{Type: uint8(rng.IntN(5)), Code: uint8(rng.IntN(8)), MTU: rng.Uint32(), Pointer: rng.Uint32(),
			Data: quote6(rng.IntN(2000), 8+rng.IntN(200))}
		out = make([]byte, er.Len())
		er.Emit(out, src, dst)
		v = ICMPv6(out)
		if c := gvisorICMPv6Checksum(v, src, dst); c != v.Checksum() {
			t.Fatalf("%v: gVisor computes %#04x, berth %#04x", er, c, v.Checksum())
		}
		compareICMPv6(t, v)
	}
}

func TestICMPv6_ZeroAllocs(t *testing.T) {
	ip, m := linuxICMPv6(t, "icmp6_port_unreachable")
	src, dst := ip.Src(), ip.Dst()
	out := make([]byte, len(m))
	if n := testing.AllocsPerRun(100, func() {
		v, err := NewICMPv6(m)
		if err != nil {
			panic(err)
		}
		if !v.ChecksumValid(src, dst) {
			panic("checksum")
		}
		r, err := ParseICMPv6(v)
		if err != nil {
			panic(err)
		}
		r.Emit(out, src, dst)
	}); n != 0 {
		t.Fatalf("%v allocations per parse+verify+emit, want 0", n)
	}
}

// icmpv6Seeds are the messages of the captured packets and crafted ones.
// FuzzICMPv6 checks checksums over the pseudo-header of local6 > peer6,
// which is that of every captured message (the kernel sent them all).
func icmpv6Seeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	for _, name := range linuxICMPv6Names {
		_, m := linuxICMPv6(t, name)
		seeds[name] = m
	}
	for name, r := range map[string]ICMPv6Repr{
		"packet-too-big":     {Type: ICMPv6PacketTooBig, MTU: 1280, Data: quote6(1460, 200)},
		"reassembly-timeout": {Type: ICMPv6TimeExceeded, Code: ICMPv6ReassemblyTimeExceeded, Data: quote6(3, 3)},
		"param-chain":        {Type: ICMPv6ParamProblem, Code: ICMPv6ParamIncompleteChain, Data: quote6(40, 20)},
		"unknown-error":      {Type: 100, Code: 1, Data: quote6(8, 8)},
	} {
		b := make([]byte, r.Len())
		r.Emit(b, local6, peer6)
		seeds[name] = b
	}
	seeds["neighbor-solicitation"] = append([]byte{ICMPv6NeighborSolicitation, 0, 0, 0, 0, 0, 0, 0}, addr6.AsSlice()...)
	return seeds
}

func TestICMPv6_SeedCorpus(t *testing.T) {
	seeds := map[string][]any{}
	for name, b := range icmpv6Seeds(t) {
		seeds[name] = []any{b}
	}
	writeSeeds(t, "FuzzICMPv6", seeds)
}

func FuzzICMPv6(f *testing.F) {
	for _, b := range icmpv6Seeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := NewICMPv6(b)
		if err != nil {
			if err != ErrTruncated || len(b) >= ICMPv6HeaderLen {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_ = int(v.Type()) + int(v.Code()) + int(v.Checksum()) + int(v.ID()) + int(v.Seq()) +
			int(v.Pointer()) + int(v.MTU()) + len(v.Payload())
		valid := v.ChecksumValid(local6, peer6)
		if valid != (gvisorICMPv6Checksum(v, local6, peer6) == v.Checksum()) && v.Checksum() != 0xffff && v.Checksum() != 0 {
			t.Fatalf("ChecksumValid %v disagrees with gVisor's checksum %#04x (field %#04x)",
				valid, gvisorICMPv6Checksum(v, local6, peer6), v.Checksum())
		}
		compareICMPv6(t, v)
		r, err := ParseICMPv6(v)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedType) && !errors.Is(err, ErrBadQuote) {
				t.Fatalf("unexpected error %v", err)
			}
			if IsICMPv6Error(v.Type()) == errors.Is(err, ErrUnsupportedType) {
				t.Fatalf("type %d: %v", v.Type(), err)
			}
			return
		}
		_ = r.String()
		if IsICMPv6Error(r.Type) {
			q, err := NewQuotedIPv6(r.Data)
			if err != nil {
				t.Fatalf("accepted quote fails NewQuotedIPv6: %v", err)
			}
			touchIPv6(q)
			checkTransport(t, q)
		}
		out := make([]byte, r.Len())
		r.Emit(out, local6, peer6)
		v2, err := NewICMPv6(out)
		if err != nil || !v2.ChecksumValid(local6, peer6) {
			t.Fatalf("emitted message %x: %v", out, err)
		}
		if c := gvisorICMPv6Checksum(v2, local6, peer6); c != v2.Checksum() {
			t.Fatalf("gVisor computes %#04x for the emitted message, berth %#04x", c, v2.Checksum())
		}
		r2, err := ParseICMPv6(v2)
		if err != nil {
			t.Fatalf("emitted message rejected: %v", err)
		}
		if !icmpv6Equal(r, r2) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", r2, r)
		}
		// Emit reproduces the bytes it parsed, but for the checksum where
		// both 0x0000 and 0xffff verify, and the 4 bytes after it where the
		// type leaves them unused (RFC 4443: sent as zero, ignored).
		carried := r.Type == ICMPv6EchoRequest || r.Type == ICMPv6EchoReply ||
			r.Type == ICMPv6PacketTooBig || r.Type == ICMPv6ParamProblem || binary.BigEndian.Uint32(b[4:]) == 0
		if valid && carried && (!bytes.Equal(out[:2], b[:2]) || !bytes.Equal(out[4:], b[4:])) {
			t.Fatalf("emitted %x, parsed %x", out, b)
		}
	})
}

func BenchmarkICMPv6Parse(b *testing.B) {
	ip, m := linuxICMPv6(b, "icmp6_port_unreachable")
	src, dst := ip.Src(), ip.Dst()
	b.ReportAllocs()
	for b.Loop() {
		v, err := NewICMPv6(m)
		if err != nil {
			b.Fatal(err)
		}
		if !v.ChecksumValid(src, dst) {
			b.Fatal("checksum")
		}
		if _, err := ParseICMPv6(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkICMPv6Emit(b *testing.B) {
	ip, m := linuxICMPv6(b, "ping6_echo_request")
	r, _ := ParseICMPv6(m)
	out := make([]byte, r.Len())
	src, dst := ip.Src(), ip.Dst()
	b.ReportAllocs()
	for b.Loop() {
		r.Emit(out, src, dst)
	}
}
