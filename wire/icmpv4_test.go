package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func gopacketICMPv4(t testing.TB, b []byte) *layers.ICMPv4 {
	t.Helper()
	var l layers.ICMPv4
	if err := l.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket: %v", err)
	}
	return &l
}

func compareICMPv4(t testing.TB, v ICMPv4, g *layers.ICMPv4) {
	t.Helper()
	if v.Type() != g.TypeCode.Type() || v.Code() != g.TypeCode.Code() || v.Checksum() != g.Checksum ||
		v.ID() != g.Id || v.Seq() != g.Seq || v.NextHopMTU() != g.Seq || !bytes.Equal(v.Payload(), g.Payload) {
		t.Fatalf("view %d/%d %#04x id %d seq %d disagrees with gopacket %v %#04x id %d seq %d",
			v.Type(), v.Code(), v.Checksum(), v.ID(), v.Seq(), g.TypeCode, g.Checksum, g.Id, g.Seq)
	}
}

func mustICMPv4(t testing.TB, b []byte) ICMPv4 {
	t.Helper()
	v, err := NewICMPv4(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestICMPv4_LinuxEcho(t *testing.T) {
	for _, tc := range []struct {
		name     string
		typ      uint8
		id, seq  uint16
		dataLen  int
		wantText string
	}{
		{"ping_echo_request", ICMPv4Echo, 0, 1, 56, "echo request id %d seq 1 len 56"},
		{"kernel_echo_reply", ICMPv4EchoReply, 0x4242, 7, 32, "echo reply id 16962 seq 7 len 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, p := linuxTransport(t, tc.name)
			v := mustICMPv4(t, p)
			if !v.ChecksumValid() {
				t.Fatal("Linux's checksum does not verify")
			}
			compareICMPv4(t, v, gopacketICMPv4(t, p))
			r, err := ParseICMPv4(v)
			if err != nil {
				t.Fatal(err)
			}
			if tc.id == 0 { // ping chooses its identifier
				tc.id = r.ID
				tc.wantText = r.String()
			}
			if r.Type != tc.typ || r.Code != 0 || r.ID != tc.id || r.Seq != tc.seq || len(r.Data) != tc.dataLen {
				t.Fatalf("got %+v", r)
			}
			if r.String() != tc.wantText {
				t.Errorf("String() = %q, want %q", r.String(), tc.wantText)
			}
			out := make([]byte, r.Len())
			r.Emit(out)
			if !bytes.Equal(out, p) {
				t.Fatalf("emit differs from Linux:\n got %x\nwant %x", out, p)
			}
		})
	}
}

func TestICMPv4_LinuxPortUnreachable(t *testing.T) {
	_, p := linuxTransport(t, "icmp_port_unreachable")
	v := mustICMPv4(t, p)
	if !v.ChecksumValid() {
		t.Fatal("Linux's checksum does not verify")
	}
	compareICMPv4(t, v, gopacketICMPv4(t, p))
	r, err := ParseICMPv4(v)
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != ICMPv4DestUnreachable || r.Code != ICMPv4PortUnreachable {
		t.Fatalf("type/code %d/%d", r.Type, r.Code)
	}
	if got, want := r.String(), "destination unreachable: port unreachable"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// Linux quotes the whole datagram we wrote: a UDP datagram from the peer.
	q, err := NewQuotedIPv4(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	if q.Src() != netip.MustParseAddr("198.18.1.2") || q.Dst() != netip.MustParseAddr("198.18.1.1") || q.Protocol() != ProtoUDP {
		t.Fatalf("quoted %v > %v proto %d", q.Src(), q.Dst(), q.Protocol())
	}
	u, err := NewUDP(q.Payload())
	if err != nil {
		t.Fatal(err)
	}
	if u.SrcPort() != 5555 || u.DstPort() != 9 || string(u.Payload()) != "anyone there?" {
		t.Fatalf("quoted UDP %d > %d %q", u.SrcPort(), u.DstPort(), u.Payload())
	}
	out := make([]byte, r.Len())
	r.Emit(out)
	if !bytes.Equal(out, p) {
		t.Fatalf("emit differs from Linux:\n got %x\nwant %x", out, p)
	}
}

// quote returns an IPv4 header with Total Length 20+origLen followed by n
// bytes of its data, as an ICMP error quotes it.
func quote(origLen, n int) []byte {
	r := IPv4Repr{TTL: 1, Protocol: ProtoUDP, Src: addrA, Dst: addrB, PayloadLen: origLen}
	b := make([]byte, 20+n)
	r.Emit(b)
	for i := 20; i < len(b); i++ {
		b[i] = byte(i)
	}
	return b
}

func TestICMPv4Repr_RoundTrip(t *testing.T) {
	for _, tc := range []struct {
		r    ICMPv4Repr
		text string
	}{
		{ICMPv4Repr{Type: ICMPv4Echo, ID: 1, Seq: 2, Data: []byte("ping")}, "echo request id 1 seq 2 len 4"},
		{ICMPv4Repr{Type: ICMPv4EchoReply, ID: 0xffff, Seq: 0}, "echo reply id 65535 seq 0 len 0"},
		{ICMPv4Repr{Type: ICMPv4DestUnreachable, Code: ICMPv4FragNeeded, NextHopMTU: 1280, Data: quote(1480, 8)},
			"destination unreachable: fragmentation needed and DF set mtu 1280"},
		{ICMPv4Repr{Type: ICMPv4DestUnreachable, Code: ICMPv4HostUnreachable, Data: quote(100, 100)},
			"destination unreachable: host unreachable"},
		{ICMPv4Repr{Type: ICMPv4TimeExceeded, Code: ICMPv4TTLExceeded, Data: quote(30, 8)},
			"time exceeded: time to live exceeded in transit"},
		{ICMPv4Repr{Type: ICMPv4TimeExceeded, Code: ICMPv4ReassemblyTimeExceeded, Data: quote(4, 4)},
			"time exceeded: fragment reassembly time exceeded"},
		{ICMPv4Repr{Type: ICMPv4ParamProblem, Code: ICMPv4ParamPointer, Pointer: 9, Data: quote(8, 8)},
			"parameter problem: pointer indicates the error pointer 9"},
		{ICMPv4Repr{Type: ICMPv4Redirect, Code: ICMPv4RedirectHost, Gateway: netip.MustParseAddr("198.18.0.254"), Data: quote(8, 8)},
			"redirect: redirect for host to 198.18.0.254"},
	} {
		b := make([]byte, tc.r.Len())
		tc.r.Emit(b)
		v := mustICMPv4(t, b)
		if !v.ChecksumValid() {
			t.Fatalf("%v: bad checksum", tc.r)
		}
		compareICMPv4(t, v, gopacketICMPv4(t, b))
		got, err := ParseICMPv4(v)
		if err != nil {
			t.Fatalf("%v: %v", tc.r, err)
		}
		if !icmpv4Equal(got, tc.r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.r)
		}
		if s := got.String(); s != tc.text {
			t.Errorf("String() = %q, want %q", s, tc.text)
		}
	}
}

func icmpv4Equal(a, b ICMPv4Repr) bool {
	return a.Type == b.Type && a.Code == b.Code && a.ID == b.ID && a.Seq == b.Seq && a.Pointer == b.Pointer &&
		a.NextHopMTU == b.NextHopMTU && a.Gateway == b.Gateway && bytes.Equal(a.Data, b.Data)
}

func TestICMPv4_Accessors(t *testing.T) {
	b := make([]byte, 12)
	v := mustICMPv4(t, b)
	v.SetType(ICMPv4ParamProblem)
	v.SetCode(ICMPv4ParamBadLength)
	v.SetID(0x0a0b)
	v.SetSeq(0x0c0d)
	v.SetChecksum(0x1234)
	if v.Type() != 12 || v.Code() != 2 || v.Checksum() != 0x1234 || v.Pointer() != 0x0a ||
		v.NextHopMTU() != 0x0c0d || v.Gateway() != netip.AddrFrom4([4]byte{0x0a, 0x0b, 0x0c, 0x0d}) || len(v.Payload()) != 4 {
		t.Fatalf("accessors read %x", b)
	}
	v.UpdateChecksum()
	if !v.ChecksumValid() || Checksum(b) != 0 {
		t.Fatal("UpdateChecksum left a bad checksum")
	}
}

func TestICMPv4_Rejects(t *testing.T) {
	if _, err := NewICMPv4(make([]byte, 7)); err != ErrTruncated {
		t.Errorf("7 bytes: %v, want ErrTruncated", err)
	}
	msg := func(typ, code uint8, data []byte) ICMPv4 {
		b := make([]byte, 8+len(data))
		b[0], b[1] = typ, code
		copy(b[8:], data)
		return ICMPv4(b)
	}
	bad := func(f func(q []byte)) []byte { q := quote(100, 8); f(q); return q }
	for _, tc := range []struct {
		name string
		v    ICMPv4
		err  error
	}{
		{"timestamp request", msg(13, 0, nil), ErrUnsupportedType},
		{"source quench", msg(4, 0, quote(8, 8)), ErrUnsupportedType},
		{"type 255", msg(255, 0, nil), ErrUnsupportedType},
		{"no quote", msg(ICMPv4DestUnreachable, 3, nil), ErrBadQuote},
		{"quote of 19 bytes", msg(ICMPv4TimeExceeded, 0, quote(100, 8)[:19]), ErrBadQuote},
		{"quote without 8 data bytes", msg(ICMPv4DestUnreachable, 3, quote(100, 7)), ErrBadQuote},
		{"quote of IPv6", msg(ICMPv4ParamProblem, 0, bad(func(q []byte) { q[0] = 0x65 })), ErrBadQuote},
		{"quote IHL 4", msg(ICMPv4Redirect, 0, bad(func(q []byte) { q[0] = 0x44 })), ErrBadQuote},
		{"quote IHL past quote", msg(ICMPv4Redirect, 0, bad(func(q []byte) { q[0] = 0x4f })), ErrBadQuote},
		{"quote total < IHL", msg(ICMPv4Redirect, 0, bad(func(q []byte) { q[2], q[3] = 0, 19 })), ErrBadQuote},
	} {
		if _, err := ParseICMPv4(tc.v); err != tc.err {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	// A datagram with less than 8 bytes of data is quoted whole.
	if _, err := ParseICMPv4(msg(ICMPv4DestUnreachable, 3, quote(3, 3))); err != nil {
		t.Errorf("quote of a 3-byte datagram: %v", err)
	}
}

func TestICMPv4_Names(t *testing.T) {
	for c := range uint8(16) {
		if s := ICMPv4CodeString(ICMPv4DestUnreachable, c); s == "" || s[:4] == "code" {
			t.Errorf("destination unreachable code %d has no name: %q", c, s)
		}
	}
	for _, tc := range []struct{ got, want string }{
		{ICMPv4CodeString(ICMPv4DestUnreachable, ICMPv4PortUnreachable), "port unreachable"},
		{ICMPv4CodeString(ICMPv4DestUnreachable, ICMPv4AdminProhibited), "communication administratively prohibited"},
		{ICMPv4CodeString(ICMPv4DestUnreachable, 16), "code 16"},
		{ICMPv4CodeString(ICMPv4Echo, 0), "code 0"},
		{ICMPv4TypeString(ICMPv4Echo), "echo request"},
		{ICMPv4TypeString(ICMPv4TimeExceeded), "time exceeded"},
		{ICMPv4TypeString(200), "type 200"},
		{ICMPv4Repr{Type: 13, Code: 1}.String(), "timestamp request code 1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for _, typ := range []uint8{ICMPv4DestUnreachable, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem} {
		if !IsICMPv4Error(typ) {
			t.Errorf("IsICMPv4Error(%d) = false", typ)
		}
	}
	if IsICMPv4Error(ICMPv4Echo) || IsICMPv4Error(ICMPv4EchoReply) {
		t.Error("echo messages reported as errors")
	}
}

func TestICMPv4_DifferentialRandomEcho(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for range 500 {
		data := make([]byte, rng.IntN(100))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		g := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(ICMPv4Echo, 0), Id: uint16(rng.Uint32()), Seq: uint16(rng.Uint32())}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, g, gopacket.Payload(data)); err != nil {
			t.Fatal(err)
		}
		v := mustICMPv4(t, buf.Bytes())
		if !v.ChecksumValid() {
			t.Fatal("gopacket's checksum does not verify")
		}
		r, err := ParseICMPv4(v)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, r.Len())
		r.Emit(out)
		if !bytes.Equal(out, buf.Bytes()) {
			t.Fatalf("emit %x, gopacket %x", out, buf.Bytes())
		}
	}
}

func TestICMPv4_ZeroAllocs(t *testing.T) {
	_, p := linuxTransport(t, "icmp_port_unreachable")
	out := make([]byte, len(p))
	if n := testing.AllocsPerRun(100, func() {
		v, err := NewICMPv4(p)
		if err != nil {
			panic(err)
		}
		r, err := ParseICMPv4(v)
		if err != nil {
			panic(err)
		}
		r.Emit(out)
	}); n != 0 {
		t.Fatalf("%v allocations per parse+emit, want 0", n)
	}
}

func icmpv4Seeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	for _, name := range []string{"ping_echo_request", "kernel_echo_reply", "icmp_port_unreachable"} {
		_, p := linuxTransport(t, name)
		seeds[name] = p
	}
	for name, r := range map[string]ICMPv4Repr{
		"frag-needed":   {Type: ICMPv4DestUnreachable, Code: ICMPv4FragNeeded, NextHopMTU: 1280, Data: quote(1480, 8)},
		"time-exceeded": {Type: ICMPv4TimeExceeded, Data: quote(3, 3)},
		"param-problem": {Type: ICMPv4ParamProblem, Pointer: 1, Data: quote(40, 20)},
		"redirect":      {Type: ICMPv4Redirect, Code: 1, Gateway: addrB, Data: quote(8, 8)},
	} {
		b := make([]byte, r.Len())
		r.Emit(b)
		seeds[name] = b
	}
	seeds["timestamp"] = []byte{13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	return seeds
}

func TestICMPv4_SeedCorpus(t *testing.T) {
	seeds := map[string][]any{}
	for name, b := range icmpv4Seeds(t) {
		seeds[name] = []any{b}
	}
	writeSeeds(t, "FuzzICMPv4", seeds)
}

func FuzzICMPv4(f *testing.F) {
	for _, b := range icmpv4Seeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := NewICMPv4(b)
		if err != nil {
			if err != ErrTruncated {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_ = int(v.Type()) + int(v.Code()) + int(v.Checksum()) + int(v.ID()) + int(v.Seq()) +
			int(v.Pointer()) + int(v.NextHopMTU()) + len(v.Payload())
		_, _ = v.Gateway(), v.ChecksumValid()
		compareICMPv4(t, v, gopacketICMPv4(t, b))
		r, err := ParseICMPv4(v)
		if err != nil {
			if !errors.Is(err, ErrUnsupportedType) && !errors.Is(err, ErrBadQuote) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_ = r.String()
		if IsICMPv4Error(r.Type) {
			q, err := NewQuotedIPv4(r.Data)
			if err != nil {
				t.Fatalf("accepted quote fails NewQuotedIPv4: %v", err)
			}
			touchIPv4(q)
		}
		out := make([]byte, r.Len())
		r.Emit(out)
		v2 := mustICMPv4(t, out)
		if !v2.ChecksumValid() {
			t.Fatal("emitted checksum does not verify")
		}
		r2, err := ParseICMPv4(v2)
		if err != nil {
			t.Fatalf("emitted message rejected: %v", err)
		}
		if !icmpv4Equal(r, r2) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", r2, r)
		}
		// Echo messages have no unused bytes: emit reproduces them exactly,
		// but for the checksum when the rest sums to 0xffff: then 0x0000
		// and 0xffff both verify, and Emit writes the computed 0x0000.
		if (r.Type == ICMPv4Echo || r.Type == ICMPv4EchoReply) && v.ChecksumValid() &&
			(!bytes.Equal(out[:2], b[:2]) || !bytes.Equal(out[4:], b[4:])) {
			t.Fatalf("emitted %x, parsed %x", out, b)
		}
	})
}

func BenchmarkICMPv4Parse(b *testing.B) {
	_, p := linuxTransport(b, "icmp_port_unreachable")
	b.ReportAllocs()
	for b.Loop() {
		v, err := NewICMPv4(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ParseICMPv4(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkICMPv4Emit(b *testing.B) {
	_, p := linuxTransport(b, "ping_echo_request")
	r, _ := ParseICMPv4(ICMPv4(p))
	out := make([]byte, r.Len())
	b.ReportAllocs()
	for b.Loop() {
		r.Emit(out)
	}
}
