package wire

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

func compareUDP(t testing.TB, v UDP, b []byte) {
	t.Helper()
	var g layers.UDP
	if err := g.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket: %v", err)
	}
	if v.SrcPort() != uint16(g.SrcPort) || v.DstPort() != uint16(g.DstPort) || v.Length() != int(g.Length) ||
		v.Checksum() != g.Checksum || !bytes.Equal(v.Payload(), g.Payload) {
		t.Fatalf("view %d > %d len %d sum %#04x disagrees with gopacket %+v", v.SrcPort(), v.DstPort(), v.Length(), v.Checksum(), g)
	}
}

func TestUDP_Linux(t *testing.T) {
	ip, p := linuxTransport(t, "udp_dns_query")
	v, err := NewUDP(p)
	if err != nil {
		t.Fatal(err)
	}
	if !v.ChecksumValid(ip.Src(), ip.Dst()) {
		t.Fatal("Linux's checksum does not verify")
	}
	compareUDP(t, v, p)
	r := ParseUDP(v)
	if r != (UDPRepr{SrcPort: 40000, DstPort: 53}) || string(v.Payload()) != "hello, berth" {
		t.Fatalf("got %+v %q", r, v.Payload())
	}
	out := make([]byte, len(p))
	copy(out[UDPHeaderLen:], v.Payload())
	r.Emit(out, len(v.Payload()), ip.Src(), ip.Dst())
	if !bytes.Equal(out, p) {
		t.Fatalf("emit differs from Linux:\n got %x\nwant %x", out, p)
	}
	// The first fragment of a 3008-byte datagram: its Length reaches past
	// the fragment, so only the reassembled datagram is a UDP view.
	_, frag := linuxTransport(t, "udp_fragment_first")
	if _, err := NewUDP(frag); err != ErrTruncated {
		t.Fatalf("fragment: %v, want ErrTruncated", err)
	}
}

func TestNewUDP_Rejects(t *testing.T) {
	good := make([]byte, 12)
	UDPRepr{SrcPort: 1, DstPort: 2}.Emit(good, 4, addrA, addrB)
	mod := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrTruncated},
		{"7 bytes", good[:7], ErrTruncated},
		{"length 7", mod(func(b []byte) { b[5] = 7 }), ErrBadLength},
		{"length 0 (IPv6 jumbogram, unsupported)", mod(func(b []byte) { b[5] = 0 }), ErrBadLength},
		{"length past the buffer", mod(func(b []byte) { b[5] = 13 }), ErrTruncated},
		{"data cut short", good[:11], ErrTruncated},
	} {
		if _, err := NewUDP(tc.b); err != tc.err {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	// Bytes past Length are not the datagram's.
	v, err := NewUDP(append(good, 0xaa, 0xbb))
	if err != nil || len(v) != 12 || len(v.Payload()) != 4 {
		t.Fatalf("len %d err %v", len(v), err)
	}
}

func TestUDP_Checksum(t *testing.T) {
	b := make([]byte, 8+5)
	copy(b[8:], "hello")
	UDPRepr{SrcPort: 5353, DstPort: 5353}.Emit(b, 5, addrA, addrB)
	v, err := NewUDP(b)
	if err != nil {
		t.Fatal(err)
	}
	if !v.ChecksumValid(addrA, addrB) || v.ChecksumValid(addrA, addrA) {
		t.Fatal("checksum does not depend on the pseudo-header")
	}
	// No checksum (RFC 768): fine over IPv4, not over IPv6 (RFC 8200 §8.1).
	v.SetChecksum(0)
	if !v.ChecksumValid(addrA, addrB) || v.ChecksumValid(addr6, addr6.Next()) {
		t.Fatal("zero checksum: want valid over IPv4 only")
	}
	// Over IPv6, agree with gopacket.
	dst := addr6.Next()
	UDPRepr{SrcPort: 5353, DstPort: 5353}.Emit(b, 5, addr6, dst)
	if !v.ChecksumValid(addr6, dst) {
		t.Fatal("IPv6 checksum does not verify")
	}
	g := &layers.UDP{SrcPort: 5353, DstPort: 5353}
	if err := g.SetNetworkLayerForChecksum(&layers.IPv6{SrcIP: net.IP(addr6.AsSlice()), DstIP: net.IP(dst.AsSlice()), NextHeader: layers.IPProtocolUDP}); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, g, gopacket.Payload("hello")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), b) {
		t.Fatalf("gopacket %x\n   berth %x", buf.Bytes(), b)
	}
}

func TestUDPRepr_ZeroChecksumSentAsOnes(t *testing.T) {
	// Choose the payload word so that the computed checksum is 0: with the
	// word at 0 the sum is s, so the word ^s makes the sum 0xffff.
	b := make([]byte, 10)
	r := UDPRepr{SrcPort: 1000, DstPort: 2000}
	r.Emit(b, 2, addrA, addrB)
	s := Sum(b[:6], PseudoHeaderSum(ProtoUDP, addrA, addrB, 10)) // header without checksum, payload 0
	binary.BigEndian.PutUint16(b[8:], ^s)
	r.Emit(b, 2, addrA, addrB)
	v, _ := NewUDP(b)
	if v.Checksum() != 0xffff {
		t.Fatalf("checksum %#04x, want 0xffff (RFC 768: a computed 0 is sent as all ones)", v.Checksum())
	}
	if !v.ChecksumValid(addrA, addrB) {
		t.Fatal("all-ones checksum does not verify")
	}
}

func TestUDP_Setters(t *testing.T) {
	b := make([]byte, 8)
	v := UDP(b)
	v.SetSrcPort(1)
	v.SetDstPort(2)
	v.SetLength(8)
	v.SetChecksum(3)
	if !bytes.Equal(b, []byte{0, 1, 0, 2, 0, 8, 0, 3}) {
		t.Fatalf("%x", b)
	}
}

func TestUDPRepr_EmitPanics(t *testing.T) {
	for _, n := range []int{-1, 65528} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("payload %d: no panic", n)
				}
			}()
			UDPRepr{}.Emit(make([]byte, 70000), n, addrA, addrB)
		}()
	}
}

func TestUDP_DifferentialRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for range 1000 {
		r := UDPRepr{SrcPort: uint16(rng.Uint32()), DstPort: uint16(rng.Uint32())}
		payload := make([]byte, rng.IntN(300))
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		src := netip.AddrFrom4([4]byte{198, 18, byte(rng.Uint32()), byte(rng.Uint32())})
		g := &layers.UDP{SrcPort: layers.UDPPort(r.SrcPort), DstPort: layers.UDPPort(r.DstPort)}
		if err := g.SetNetworkLayerForChecksum(&layers.IPv4{SrcIP: net.IP(src.AsSlice()), DstIP: net.IP(addrB.AsSlice()), Protocol: layers.IPProtocolUDP}); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, g, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 8+len(payload))
		copy(b[8:], payload)
		r.Emit(b, len(payload), src, addrB)
		if !bytes.Equal(b, buf.Bytes()) {
			t.Fatalf("berth %x\ngopacket %x", b, buf.Bytes())
		}
		v, err := NewUDP(b)
		if err != nil {
			t.Fatal(err)
		}
		compareUDP(t, v, b)
		if ParseUDP(v) != r || !v.ChecksumValid(src, addrB) {
			t.Fatalf("round trip %+v", ParseUDP(v))
		}
	}
}

func TestUDP_ZeroAllocs(t *testing.T) {
	ip, p := linuxTransport(t, "udp_dns_query")
	src, dst := ip.Src(), ip.Dst()
	out := make([]byte, len(p))
	if n := testing.AllocsPerRun(100, func() {
		v, err := NewUDP(p)
		if err != nil {
			panic(err)
		}
		ParseUDP(v).Emit(out, len(v.Payload()), src, dst)
		_ = v.ChecksumValid(src, dst)
	}); n != 0 {
		t.Fatalf("%v allocations per parse+emit, want 0", n)
	}
}

func udpSeeds(t testing.TB) map[string][]byte {
	_, p := linuxTransport(t, "udp_dns_query")
	_, frag := linuxTransport(t, "udp_fragment_first")
	noSum := make([]byte, 8+3)
	UDPRepr{SrcPort: 7, DstPort: 7}.Emit(noSum, 3, addrA, addrB)
	UDP(noSum).SetChecksum(0)
	return map[string][]byte{
		"udp_dns_query":    p,
		"fragment-header":  frag[:64],
		"no-checksum":      noSum,
		"trailing-padding": append(append([]byte(nil), p...), 0, 0, 0),
	}
}

func TestUDP_SeedCorpus(t *testing.T) {
	seeds := map[string][]any{}
	for name, b := range udpSeeds(t) {
		seeds[name] = []any{b}
	}
	writeSeeds(t, "FuzzUDP", seeds)
}

func FuzzUDP(f *testing.F) {
	for _, b := range udpSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := NewUDP(b)
		if err != nil {
			if err != ErrTruncated && err != ErrBadLength {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if len(v) != v.Length() {
			t.Fatalf("view %d bytes, Length %d", len(v), v.Length())
		}
		_ = int(v.SrcPort()) + int(v.DstPort()) + int(v.Checksum()) + len(v.Payload())
		valid := v.ChecksumValid(addrA, addrB)
		_ = v.ChecksumValid(addr6, addr6)
		compareUDP(t, v, v)
		r := ParseUDP(v)
		out := make([]byte, len(v))
		copy(out[UDPHeaderLen:], v.Payload())
		r.Emit(out, len(v.Payload()), addrA, addrB)
		v2, err := NewUDP(out)
		if err != nil {
			t.Fatalf("emitted datagram rejected: %v", err)
		}
		if ParseUDP(v2) != r || !v2.ChecksumValid(addrA, addrB) || v2.Checksum() == 0 {
			t.Fatalf("round trip %+v sum %#04x", ParseUDP(v2), v2.Checksum())
		}
		if valid && v.Checksum() != 0 && !bytes.Equal(out, v) {
			t.Fatalf("emitted %x, parsed %x", out, []byte(v))
		}
	})
}

func BenchmarkUDPParse(b *testing.B) {
	_, p := linuxTransport(b, "udp_dns_query")
	b.ReportAllocs()
	var r UDPRepr
	for b.Loop() {
		v, err := NewUDP(p)
		if err != nil {
			b.Fatal(err)
		}
		r = ParseUDP(v)
	}
	_ = r
}

func BenchmarkUDPEmit(b *testing.B) {
	ip, p := linuxTransport(b, "udp_dns_query")
	out := append([]byte(nil), p...)
	r := ParseUDP(UDP(p))
	src, dst := ip.Src(), ip.Dst()
	b.ReportAllocs()
	for b.Loop() {
		r.Emit(out, len(out)-UDPHeaderLen, src, dst)
	}
}

// TestUDP_LinuxIPv6 checks Linux's datagram over IPv6 (checksum over the
// RFC 8200 §8.1 pseudo-header), and that a zero checksum, which RFC 768
// allows over IPv4, is invalid over IPv6.
func TestUDP_LinuxIPv6(t *testing.T) {
	ip, err := NewIPv6(linux6Packet(t, "udp6_dns_query"))
	if err != nil {
		t.Fatal(err)
	}
	p := ip.Payload()
	v, err := NewUDP(p)
	if err != nil {
		t.Fatal(err)
	}
	if !v.ChecksumValid(ip.Src(), ip.Dst()) {
		t.Fatal("Linux's checksum does not verify")
	}
	compareUDP(t, v, p)
	r := ParseUDP(v)
	if r != (UDPRepr{SrcPort: 40000, DstPort: 53}) || string(v.Payload()) != "hello, berth" {
		t.Fatalf("got %+v %q", r, v.Payload())
	}
	out := make([]byte, len(p))
	copy(out[UDPHeaderLen:], v.Payload())
	r.Emit(out, len(v.Payload()), ip.Src(), ip.Dst())
	if !bytes.Equal(out, p) {
		t.Fatalf("emit differs from Linux:\n got %x\nwant %x", out, p)
	}
	v.SetChecksum(0)
	if v.ChecksumValid(ip.Src(), ip.Dst()) {
		t.Fatal("zero checksum valid over IPv6 (RFC 8200 §8.1 forbids it)")
	}
}

func TestUDPRepr_ZeroChecksumSentAsOnesIPv6(t *testing.T) {
	// As for IPv4: a payload word that makes the computed checksum 0.
	b := make([]byte, 10)
	r := UDPRepr{SrcPort: 1000, DstPort: 2000}
	r.Emit(b, 2, local6, peer6)
	s := Sum(b[:6], PseudoHeaderSumIPv6(ProtoUDP, local6, peer6, 10))
	binary.BigEndian.PutUint16(b[8:], ^s)
	r.Emit(b, 2, local6, peer6)
	v, _ := NewUDP(b)
	if v.Checksum() != 0xffff {
		t.Fatalf("checksum %#04x, want 0xffff (RFC 8200 §8.1: a computed 0 is sent as all ones)", v.Checksum())
	}
	if !v.ChecksumValid(local6, peer6) {
		t.Fatal("all-ones checksum does not verify")
	}
}
