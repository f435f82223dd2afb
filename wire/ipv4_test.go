package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// gopacketIPv4 decodes b with gopacket, the independent decoder.
func gopacketIPv4(t testing.TB, b []byte) *layers.IPv4 {
	t.Helper()
	var l layers.IPv4
	if err := l.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket: %v", err)
	}
	return &l
}

// compareIPv4 checks the view against gopacket's decoding of the same bytes.
func compareIPv4(t testing.TB, v IPv4, g *layers.IPv4) {
	t.Helper()
	type fields struct {
		HeaderLen, TotalLen, FragOff int
		TOS, TTL, Proto              uint8
		ID, Checksum                 uint16
		DF, MF                       bool
		Src, Dst                     netip.Addr
		Options, Payload             string
	}
	src, _ := netip.AddrFromSlice(g.SrcIP)
	dst, _ := netip.AddrFromSlice(g.DstIP)
	want := fields{
		int(g.IHL) * 4, int(g.Length), int(g.FragOffset) * 8,
		g.TOS, g.TTL, uint8(g.Protocol),
		g.Id, g.Checksum,
		g.Flags&layers.IPv4DontFragment != 0, g.Flags&layers.IPv4MoreFragments != 0,
		src, dst,
		string(g.Contents[20:]), string(g.Payload),
	}
	got := fields{
		v.HeaderLen(), v.TotalLen(), v.FragmentOffset(),
		v.TOS(), v.TTL(), v.Protocol(),
		v.ID(), v.Checksum(),
		v.DontFragment(), v.MoreFragments(),
		v.Src(), v.Dst(),
		string(v.Options()), string(v.Payload()),
	}
	if got != want {
		t.Fatalf("view disagrees with gopacket:\n got %+v\nwant %+v", got, want)
	}
}

func TestIPv4_LinuxPackets(t *testing.T) {
	for _, name := range linuxPacketNames(t, "") {
		t.Run(name, func(t *testing.T) {
			b := linuxPacket(t, name)
			v, err := NewIPv4(b)
			if err != nil {
				t.Fatal(err)
			}
			if !v.ChecksumValid() {
				t.Fatal("Linux's header checksum does not verify")
			}
			compareIPv4(t, v, gopacketIPv4(t, b))
			r := ParseIPv4(v)
			out := make([]byte, r.HeaderLen())
			r.Emit(out)
			if !bytes.Equal(out, b[:v.HeaderLen()]) {
				t.Fatalf("emit differs from Linux's header:\n got %x\nwant %x", out, b[:v.HeaderLen()])
			}
		})
	}
}

func TestIPv4_Fields(t *testing.T) {
	for _, tc := range []struct {
		name string
		want IPv4Repr
	}{
		{"udp_fragment_first", IPv4Repr{MoreFragments: true, FragmentOffset: 0, PayloadLen: 1480}},
		{"udp_fragment_last", IPv4Repr{MoreFragments: false, FragmentOffset: 2960, PayloadLen: 48}},
		{"tcp_syn_ts_sack_ws", IPv4Repr{DontFragment: true, PayloadLen: 40}},
		{"icmp_port_unreachable", IPv4Repr{TOS: 0xc0, PayloadLen: 49}},
	} {
		v, err := NewIPv4(linuxPacket(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		r := ParseIPv4(v)
		if r.DontFragment != tc.want.DontFragment || r.MoreFragments != tc.want.MoreFragments ||
			r.FragmentOffset != tc.want.FragmentOffset || r.PayloadLen != tc.want.PayloadLen || r.TOS != tc.want.TOS {
			t.Errorf("%s: got %+v, want %+v", tc.name, r, tc.want)
		}
		if r.Src != netip.MustParseAddr("198.18.1.1") || r.Dst != netip.MustParseAddr("198.18.1.2") || r.TTL != 64 {
			t.Errorf("%s: addresses/TTL %v %v %d", tc.name, r.Src, r.Dst, r.TTL)
		}
	}
}

func TestNewIPv4_CutsLinkPadding(t *testing.T) {
	b := linuxPacket(t, "tcp_rst_ack_closed_port") // 40 bytes, padded to 46 on Ethernet
	b = append(b, 0, 0, 0, 0, 0, 0)
	v, err := NewIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 40 || len(v.Payload()) != 20 {
		t.Fatalf("view %d bytes, payload %d; want 40 and 20", len(v), len(v.Payload()))
	}
}

// ipv4Header builds a 20-byte header (plus opts) for the rejection tests,
// with Total Length = header + dataLen.
func ipv4Header(opts []byte, dataLen int) []byte {
	r := IPv4Repr{TTL: 64, Protocol: ProtoUDP, Src: addrA, Dst: addrB, PayloadLen: dataLen}
	r.OptionsLen = uint8(copy(r.Options[:], opts))
	b := make([]byte, r.HeaderLen()+dataLen)
	r.Emit(b)
	return b
}

func TestNewIPv4_Rejects(t *testing.T) {
	good := ipv4Header(nil, 8)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name      string
		b         []byte
		err       error
		quotedErr error // NewQuotedIPv4's verdict
	}{
		{"empty", nil, ErrTruncated, ErrTruncated},
		{"19 bytes", good[:19], ErrTruncated, ErrTruncated},
		{"version 6", mod(func(b []byte) []byte { b[0] = 0x65; return b }), ErrBadVersion, ErrBadVersion},
		{"version 0", mod(func(b []byte) []byte { b[0] = 0x05; return b }), ErrBadVersion, ErrBadVersion},
		{"IHL 4", mod(func(b []byte) []byte { b[0] = 0x44; return b }), ErrBadHeaderLen, ErrBadHeaderLen},
		{"IHL 0", mod(func(b []byte) []byte { b[0] = 0x40; return b }), ErrBadHeaderLen, ErrBadHeaderLen},
		{"IHL past buffer", mod(func(b []byte) []byte { b[0] = 0x48; return b }), ErrTruncated, ErrTruncated},
		{"IHL 15, 28 bytes", mod(func(b []byte) []byte { b[0] = 0x4f; return b }), ErrTruncated, ErrTruncated},
		{"total length below header", mod(func(b []byte) []byte { b[3] = 19; return b }), ErrBadLength, ErrBadLength},
		{"total length 0", mod(func(b []byte) []byte { b[2], b[3] = 0, 0; return b }), ErrBadLength, ErrBadLength},
		{"total length past buffer", mod(func(b []byte) []byte { b[3] = 29; return b }), ErrTruncated, nil},
		{"data cut short", good[:27], ErrTruncated, nil},
		{"total length below IHL*4", func() []byte {
			b := ipv4Header([]byte{1, 1, 1, 1}, 0)
			b[3] = 20
			return b
		}(), ErrBadLength, ErrBadLength},
	} {
		if _, err := NewIPv4(tc.b); err != tc.err {
			t.Errorf("%s: NewIPv4 error %v, want %v", tc.name, err, tc.err)
		}
		if _, err := NewQuotedIPv4(tc.b); err != tc.quotedErr {
			t.Errorf("%s: NewQuotedIPv4 error %v, want %v", tc.name, err, tc.quotedErr)
		}
	}
	if _, err := NewIPv4(good); err != nil {
		t.Errorf("good header rejected: %v", err)
	}
}

func TestNewQuotedIPv4_Truncated(t *testing.T) {
	b := linuxPacket(t, "udp_fragment_first")[:28] // IP header + 8 bytes of 1480
	v, err := NewQuotedIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	if v.TotalLen() != 1500 || len(v.Payload()) != 8 {
		t.Fatalf("TotalLen %d, payload %d; want 1500 and 8", v.TotalLen(), len(v.Payload()))
	}
	if r := ParseIPv4(v); r.PayloadLen != 1480 {
		t.Fatalf("PayloadLen %d, want the original 1480", r.PayloadLen)
	}
	// A quote longer than the datagram it quotes is cut to Total Length.
	b = ipv4Header(nil, 4)
	v, err = NewQuotedIPv4(append(b, 9, 9, 9))
	if err != nil || len(v) != 24 {
		t.Fatalf("len %d err %v, want 24 <nil>", len(v), err)
	}
}

func TestIPv4_Setters(t *testing.T) {
	v, err := NewIPv4(linuxPacket(t, "udp_dns_query"))
	if err != nil {
		t.Fatal(err)
	}
	check := v.Checksum()
	v.SetTTL(63)
	// A router's TTL decrement, RFC 1624 §4's motivating case.
	v.SetChecksum(UpdateChecksum16(check, 64<<8|uint16(ProtoUDP), 63<<8|uint16(ProtoUDP)))
	if !v.ChecksumValid() {
		t.Fatal("incremental TTL update left a bad checksum")
	}
	v.SetID(0xbeef)
	v.SetSrc(addrA)
	v.SetDst(addrB)
	v.SetTOS(0x10)
	v.SetProtocol(ProtoTCP)
	v.SetFragment(false, true, 1480)
	v.SetTotalLen(40)
	if v.ChecksumValid() {
		t.Fatal("checksum still valid after changes")
	}
	v.UpdateChecksum()
	if !v.ChecksumValid() {
		t.Fatal("UpdateChecksum left a bad checksum")
	}
	want := IPv4Repr{TOS: 0x10, ID: 0xbeef, MoreFragments: true, FragmentOffset: 1480, TTL: 63,
		Protocol: ProtoTCP, Src: addrA, Dst: addrB, PayloadLen: 20}
	if got := ParseIPv4(v); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	compareIPv4(t, v, gopacketIPv4(t, v))
}

func TestIPv4_SetFragmentPanics(t *testing.T) {
	for _, off := range []int{-8, 4, 1, 0x2000 * 8} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetFragment(%d) did not panic", off)
				}
			}()
			IPv4(make([]byte, 20)).SetFragment(false, false, off)
		}()
	}
}

func TestIPv4Repr_Options(t *testing.T) {
	// Record Route (RFC 791 §3.1): type 7, length 11, pointer 4, room for
	// two addresses. 11 bytes are padded to 12 with an End of Option List.
	r := IPv4Repr{ID: 1, TTL: 1, Protocol: ProtoICMP, Src: addrA, Dst: addrB, PayloadLen: 8}
	r.OptionsLen = uint8(copy(r.Options[:], []byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}))
	if r.HeaderLen() != 32 {
		t.Fatalf("HeaderLen %d, want 32", r.HeaderLen())
	}
	b := make([]byte, 40)
	for i := range b {
		b[i] = 0xee // Emit must overwrite the padding
	}
	r.Emit(b)
	g := gopacketIPv4(t, b)
	if len(g.Options) != 2 || g.Options[0].OptionType != 7 || g.Options[0].OptionLength != 11 || g.Options[1].OptionType != 0 {
		t.Fatalf("gopacket options %v", g.Options)
	}
	v, err := NewIPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	compareIPv4(t, v, g)
	got := ParseIPv4(v)
	want := r
	want.OptionsLen = 12
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestIPv4Repr_String(t *testing.T) {
	r := IPv4Repr{ID: 7, DontFragment: true, TTL: 64, Protocol: ProtoTCP, Src: addrA, Dst: addrB, PayloadLen: 20}
	if got, want := r.String(), "198.18.0.1 > 198.18.0.2 proto 6 ttl 64 id 7 DF len 40"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	r = IPv4Repr{MoreFragments: true, FragmentOffset: 8, TTL: 1, Src: addrA, Dst: addrB, OptionsLen: 1}
	if got, want := r.String(), "198.18.0.1 > 198.18.0.2 proto 0 ttl 1 id 0 MF off 8 opts 00 len 24"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestIPv4Repr_EmitPanics(t *testing.T) {
	for name, r := range map[string]IPv4Repr{
		"options > 40":   {Src: addrA, Dst: addrB, OptionsLen: 41},
		"too long":       {Src: addrA, Dst: addrB, PayloadLen: 65516},
		"negative":       {Src: addrA, Dst: addrB, PayloadLen: -1},
		"IPv6 source":    {Src: addr6, Dst: addrB},
		"invalid dst":    {Src: addrA},
		"unaligned frag": {Src: addrA, Dst: addrB, FragmentOffset: 3},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Emit did not panic", name)
				}
			}()
			r.Emit(make([]byte, 100))
		}()
	}
}

// TestIPv4_DifferentialRandom emits random headers and decodes them with
// gopacket, and serializes random headers with gopacket and parses them.
func TestIPv4_DifferentialRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range 2000 {
		r := IPv4Repr{
			TOS: uint8(rng.Uint32()), ID: uint16(rng.Uint32()),
			DontFragment: rng.IntN(2) == 0, MoreFragments: rng.IntN(2) == 0,
			FragmentOffset: 8 * rng.IntN(0x2000), TTL: uint8(rng.Uint32()), Protocol: uint8(rng.Uint32()),
			Src:        netip.AddrFrom4([4]byte{198, 18, byte(rng.Uint32()), byte(rng.Uint32())}),
			Dst:        netip.AddrFrom4([4]byte{198, 19, byte(rng.Uint32()), byte(rng.Uint32())}),
			PayloadLen: rng.IntN(200),
		}
		if i%3 == 0 { // a NOP-padded option gopacket understands: 4 NOPs per word
			r.OptionsLen = uint8(4 * (1 + rng.IntN(10)))
			for j := range r.OptionsLen {
				r.Options[j] = 1
			}
		}
		b := make([]byte, r.HeaderLen()+r.PayloadLen)
		r.Emit(b)
		v, err := NewIPv4(b)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if !v.ChecksumValid() {
			t.Fatalf("%+v: bad checksum", r)
		}
		compareIPv4(t, v, gopacketIPv4(t, b))
		if got := ParseIPv4(v); got != r {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}

		// And the other direction.
		g := &layers.IPv4{
			Version: 4, TOS: r.TOS, Id: r.ID, FragOffset: uint16(r.FragmentOffset / 8), TTL: r.TTL,
			Protocol: layers.IPProtocol(r.Protocol), SrcIP: net.IP(r.Src.AsSlice()), DstIP: net.IP(r.Dst.AsSlice()),
		}
		if r.DontFragment {
			g.Flags |= layers.IPv4DontFragment
		}
		if r.MoreFragments {
			g.Flags |= layers.IPv4MoreFragments
		}
		buf := gopacket.NewSerializeBuffer()
		payload := make([]byte, r.PayloadLen)
		err = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, g, gopacket.Payload(payload))
		if err != nil {
			t.Fatal(err)
		}
		v, err = NewIPv4(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !v.ChecksumValid() {
			t.Fatal("gopacket's checksum does not verify")
		}
		want := r
		want.Options, want.OptionsLen = [40]byte{}, 0
		if got := ParseIPv4(v); got != want {
			t.Fatalf("from gopacket:\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestIPv4_ZeroAllocs(t *testing.T) {
	b := linuxPacket(t, "tcp_syn_ts_sack_ws")
	out := make([]byte, 60)
	var r IPv4Repr
	if n := testing.AllocsPerRun(100, func() {
		v, err := NewIPv4(b)
		if err != nil {
			panic(err)
		}
		r = ParseIPv4(v)
		r.Emit(out)
		_ = v.ChecksumValid()
	}); n != 0 {
		t.Fatalf("%v allocations per parse+emit, want 0", n)
	}
}

func FuzzIPv4(f *testing.F) {
	m, err := linuxPackets()
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range m {
		f.Add(b)
	}
	f.Add(ipv4Header([]byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := NewQuotedIPv4(b); err == nil {
			touchIPv4(q)
			if len(q) < q.HeaderLen() || q.TotalLen() < q.HeaderLen() {
				t.Fatalf("quoted view %d bytes, header %d, total %d", len(q), q.HeaderLen(), q.TotalLen())
			}
		}
		v, err := NewIPv4(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadVersion) &&
				!errors.Is(err, ErrBadHeaderLen) && !errors.Is(err, ErrBadLength) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		touchIPv4(v)
		if len(v) != v.TotalLen() {
			t.Fatalf("view %d bytes, total length %d", len(v), v.TotalLen())
		}
		r := ParseIPv4(v)
		out := make([]byte, r.HeaderLen()+r.PayloadLen)
		r.Emit(out)
		copy(out[r.HeaderLen():], v.Payload())
		v2, err := NewIPv4(out)
		if err != nil {
			t.Fatalf("emitted header rejected: %v", err)
		}
		if !v2.ChecksumValid() {
			t.Fatal("emitted header checksum does not verify")
		}
		if r2 := ParseIPv4(v2); r2 != r {
			t.Fatalf("round trip:\n got %+v\nwant %+v", r2, r)
		}
		// Emit writes back the very bytes it parsed, except for the reserved
		// flag bit, which it does not carry, and the checksum field (wrong,
		// or 0xffff where the computed 0x0000 verifies as well).
		if v.ChecksumValid() && v[6]&0x80 == 0 &&
			(!bytes.Equal(out[:10], v[:10]) || !bytes.Equal(out[12:r.HeaderLen()], v[12:v.HeaderLen()])) {
			t.Fatalf("emitted %x, parsed %x", out[:r.HeaderLen()], v[:v.HeaderLen()])
		}
		// Differential: where gopacket also accepts the bytes, it must agree.
		var g layers.IPv4
		if g.DecodeFromBytes(b, gopacket.NilDecodeFeedback) == nil {
			compareIPv4(t, v, &g)
		}
	})
}

// touchIPv4 calls every accessor, to prove none panics on an accepted view.
func touchIPv4(v IPv4) {
	_ = v.HeaderLen() + v.TotalLen() + v.FragmentOffset() + int(v.TOS()) + int(v.TTL()) + int(v.Protocol()) +
		int(v.ID()) + int(v.Checksum())
	_, _, _ = v.DontFragment(), v.MoreFragments(), v.ChecksumValid()
	_, _ = v.Src(), v.Dst()
	_, _ = v.Options(), v.Payload()
	_ = ParseIPv4(v).String()
}

func TestIPv4_SeedCorpus(t *testing.T) {
	m, err := linuxPackets()
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]any{
		"record-route":   {ipv4Header([]byte{7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}, 3)},
		"ihl-past-total": {func() []byte { b := ipv4Header([]byte{1, 1, 1, 1}, 0); b[3] = 20; return b }()},
	}
	for name, b := range m {
		seeds[name] = []any{b}
	}
	writeSeeds(t, "FuzzIPv4", seeds)
}

func BenchmarkIPv4Parse(b *testing.B) {
	pkt := linuxPacket(b, "tcp_syn_ts_sack_ws")
	b.ReportAllocs()
	var r IPv4Repr
	for b.Loop() {
		v, err := NewIPv4(pkt)
		if err != nil {
			b.Fatal(err)
		}
		r = ParseIPv4(v)
	}
	_ = r
}

func BenchmarkIPv4Emit(b *testing.B) {
	v, _ := NewIPv4(linuxPacket(b, "tcp_syn_ts_sack_ws"))
	r := ParseIPv4(v)
	out := make([]byte, r.HeaderLen())
	b.ReportAllocs()
	for b.Loop() {
		r.Emit(out)
	}
}
