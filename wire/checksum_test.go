package wire

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	gvchecksum "gvisor.dev/gvisor/pkg/tcpip/checksum"
	gvheader "gvisor.dev/gvisor/pkg/tcpip/header"
)

// naiveSum is RFC 1071 read literally: one big-endian 16-bit word at a time,
// odd byte padded on the right, end-around carry after every addition.
func naiveSum(b []byte, initial uint16) uint16 {
	s := uint32(initial)
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		s += w
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func TestSum_RFC1071_Example(t *testing.T) {
	// RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Sum(b, 0); got != 0xddf2 {
		t.Fatalf("Sum = %#04x, want 0xddf2", got)
	}
	if got := Checksum(b); got != 0x220d {
		t.Fatalf("Checksum = %#04x, want 0x220d", got)
	}
}

func TestSum_Table(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b       []byte
		initial uint16
		want    uint16
	}{
		{"empty", nil, 0, 0},
		{"empty keeps initial", nil, 0x1234, 0x1234},
		{"zeros", make([]byte, 100), 0, 0},
		{"odd byte is high byte", []byte{0xab}, 0, 0xab00},
		{"three bytes", []byte{0x01, 0x02, 0x03}, 0, 0x0102 + 0x0300},
		{"end-around carry", []byte{0xff, 0xff, 0x00, 0x01}, 0, 0x0001},
		{"all ones stays ffff", []byte{0xff, 0xff, 0xff, 0xff}, 0, 0xffff},
		{"initial carries", []byte{0x80, 0x00}, 0x8000, 0x0001},
		{"ffff plus zero data", make([]byte, 7), 0xffff, 0xffff},
	} {
		if got := Sum(tc.b, tc.initial); got != tc.want {
			t.Errorf("%s: Sum = %#04x, want %#04x", tc.name, got, tc.want)
		}
	}
}

// TestSum_AgainstReferences compares Sum with the naive reference and with
// gVisor's checksum for every length up to 600 at every alignment, and for
// random lengths up to 70000.
func TestSum_AgainstReferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 70000+8)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	check := func(b []byte, initial uint16) {
		t.Helper()
		want := naiveSum(b, initial)
		if got := Sum(b, initial); got != want {
			t.Fatalf("len %d initial %#04x: Sum = %#04x, naive = %#04x", len(b), initial, got, want)
		}
		if gv := gvchecksum.Checksum(b, initial); gv != want {
			t.Fatalf("len %d initial %#04x: gVisor = %#04x, naive = %#04x", len(b), initial, gv, want)
		}
	}
	for n := 0; n <= 600; n++ {
		for off := 0; off < 8; off++ {
			check(buf[off:off+n], uint16(r.Uint32()))
		}
	}
	for range 300 {
		n := r.IntN(70000)
		off := r.IntN(8)
		check(buf[off:off+n], uint16(r.Uint32()))
	}
	// Runs of 0xff make the accumulators carry as much as they can.
	ones := make([]byte, 9000)
	for i := range ones {
		ones[i] = 0xff
	}
	for _, n := range []int{1, 2, 127, 128, 129, 1500, 9000} {
		check(ones[:n], 0xffff)
	}
}

func TestSum_Chunks(t *testing.T) {
	// Shrink the chunk so that the chunking path runs on a small buffer.
	defer func(old int) { maxChunk = old }(maxChunk)
	maxChunk = 130
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{129, 130, 131, 260, 261, 1000, 1001} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := Sum(b, 0x4321), naiveSum(b, 0x4321); got != want {
			t.Errorf("len %d: Sum = %#04x, want %#04x", n, got, want)
		}
	}
}

func TestSum_Continuation(t *testing.T) {
	b := []byte("berth: the port-and-socket system, a userspace stack!")
	whole := Sum(b, 0)
	for k := 0; k <= len(b); k += 2 {
		if got := Sum(b[k:], Sum(b[:k], 0)); got != whole {
			t.Errorf("even split at %d: %#04x, want %#04x", k, got, whole)
		}
	}
	// The documented caveat: after an odd-length first part the bytes of the
	// second part land in the wrong halves of the words.
	if got := Sum(b[3:], Sum(b[:3], 0)); got == whole {
		t.Errorf("odd split at 3 gave the whole sum %#04x; the caveat in Sum's doc is wrong", got)
	}
}

func TestChecksum_Verifies(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		b := make([]byte, 2*r.IntN(800)+2)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		at := 2 * r.IntN(len(b)/2)
		b[at], b[at+1] = 0, 0
		binary.BigEndian.PutUint16(b[at:], Checksum(b))
		if s := Sum(b, 0); s != 0xffff {
			t.Fatalf("message with its checksum sums to %#04x, want 0xffff", s)
		}
	}
}

func TestPseudoHeaderSum(t *testing.T) {
	src4, dst4 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.7.250")
	ph4 := []byte{198, 18, 0, 1, 198, 18, 7, 250, 0, ProtoTCP, 0x05, 0xdc}
	if got, want := PseudoHeaderSum(ProtoTCP, src4, dst4, 1500), Sum(ph4, 0); got != want {
		t.Errorf("IPv4: %#04x, want %#04x", got, want)
	}
	src6, dst6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:ffff::fe")
	var ph6 []byte
	a, b := src6.As16(), dst6.As16()
	ph6 = append(ph6, a[:]...)
	ph6 = append(ph6, b[:]...)
	ph6 = append(ph6, 0x00, 0x01, 0x00, 0x04, 0, 0, 0, ProtoUDP) // length 65540 > 16 bits
	if got, want := PseudoHeaderSum(ProtoUDP, src6, dst6, 65540), Sum(ph6, 0); got != want {
		t.Errorf("IPv6: %#04x, want %#04x", got, want)
	}
}

// TestPseudoHeaderSum_AgainstGVisor compares both families' pseudo-header
// sums with gVisor's, which sums the address bytes as they come and so
// knows nothing of berth's 64-bit words.
func TestPseudoHeaderSum_AgainstGVisor(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	gv := func(proto uint8, src, dst []byte, length int) uint16 {
		return gvheader.PseudoHeaderChecksum(tcpip.TransportProtocolNumber(proto),
			tcpip.AddrFromSlice(src), tcpip.AddrFromSlice(dst), uint16(length))
	}
	for range 5000 {
		proto := []uint8{ProtoTCP, ProtoUDP, ProtoICMPv6}[rng.IntN(3)]
		length := rng.IntN(65536)
		a4, b4 := netip.AddrFrom4([4]byte{198, 18, byte(rng.Uint32()), byte(rng.Uint32())}), netip.AddrFrom4([4]byte(binary.BigEndian.AppendUint32(nil, rng.Uint32())))
		if got, want := PseudoHeaderSum(proto, a4, b4, length), gv(proto, a4.AsSlice(), b4.AsSlice(), length); got != want {
			t.Fatalf("IPv4 %v > %v len %d: %#04x, gVisor %#04x", a4, b4, length, got, want)
		}
		a6, b6 := randAddr6(rng), netip.AddrFrom16([16]byte(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, rng.Uint64()), rng.Uint64())))
		want := gv(proto, a6.AsSlice(), b6.AsSlice(), length)
		if got := PseudoHeaderSumIPv6(proto, a6, b6, length); got != want {
			t.Fatalf("IPv6 %v > %v len %d: %#04x, gVisor %#04x", a6, b6, length, got, want)
		}
		if got := PseudoHeaderSum(proto, a6, b6, length); got != want {
			t.Fatalf("PseudoHeaderSum chose the wrong family for %v > %v", a6, b6)
		}
		// Mixed or IPv4-mapped pairs are summed as IPv6: what an IPv6
		// packet between such addresses would carry.
		m4 := netip.AddrFrom16(a4.As16())
		if got, want := PseudoHeaderSum(proto, m4, b6, length), gv(proto, m4.AsSlice(), b6.AsSlice(), length); got != want {
			t.Fatalf("IPv4-mapped %v > %v: %#04x, gVisor %#04x", m4, b6, got, want)
		}
		if got, want := PseudoHeaderSum(proto, a4, b6, length), PseudoHeaderSumIPv6(proto, m4, b6, length); got != want {
			t.Fatalf("mixed %v > %v: %#04x, want the IPv6 sum %#04x", a4, b6, got, want)
		}
	}
}

func TestUpdateChecksum_RFC1624_Example(t *testing.T) {
	// RFC 1624 §4: m = 0x5555 changes to 0x3285 while the other header
	// words sum to 0xcd7a. Eqn. 2 would give 0xffff (-0); eqn. 3 gives the
	// same 0x0000 as recomputing.
	if got := UpdateChecksum16(0xdd2f, 0x5555, 0x3285); got != 0x0000 {
		t.Fatalf("UpdateChecksum16 = %#04x, want 0x0000", got)
	}
}

// TestUpdateChecksum_AgainstRecompute changes random 16- and 32-bit fields
// of random messages and compares the incremental checksum with a full one.
func TestUpdateChecksum_AgainstRecompute(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 20000 {
		b := make([]byte, 2*(4+r.IntN(40)))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%4 == 0 { // sparse messages reach the edge cases more often
			clear(b[:len(b)-4])
		}
		binary.BigEndian.PutUint16(b, 0)
		check := Checksum(b)
		binary.BigEndian.PutUint16(b, check)
		at := 2 + 2*r.IntN(len(b)/2-2)
		old := binary.BigEndian.Uint32(b[at:])
		nw := r.Uint32()
		if i%3 == 0 {
			nw = 0
		}
		var got uint16
		if i%2 == 0 {
			got = UpdateChecksum16(check, uint16(old>>16), uint16(nw>>16))
			binary.BigEndian.PutUint16(b[at:], uint16(nw>>16))
		} else {
			got = UpdateChecksum32(check, old, nw)
			binary.BigEndian.PutUint32(b[at:], nw)
		}
		binary.BigEndian.PutUint16(b, 0)
		if want := Checksum(b); got != want {
			t.Fatalf("case %d: incremental %#04x, recomputed %#04x (msg %x)", i, got, want, b)
		}
	}
}

func FuzzChecksum(f *testing.F) {
	f.Add([]byte{}, uint16(0), 0)
	f.Add([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, uint16(0), 4)
	f.Add([]byte{0xff}, uint16(0xffff), 1)
	f.Add(make([]byte, 1501), uint16(0x8000), 700)
	f.Fuzz(func(t *testing.T, b []byte, initial uint16, split int) {
		want := naiveSum(b, initial)
		if got := Sum(b, initial); got != want {
			t.Fatalf("Sum = %#04x, naive = %#04x", got, want)
		}
		if gv := gvchecksum.Checksum(b, initial); gv != want {
			t.Fatalf("gVisor = %#04x, naive = %#04x", gv, want)
		}
		if len(b) > 0 {
			k := split % (len(b) + 1)
			if k < 0 {
				k = -k
			}
			k &^= 1
			if got := Sum(b[k:], Sum(b[:k], initial)); got != want {
				t.Fatalf("split at %d: %#04x, want %#04x", k, got, want)
			}
		}
		if len(b)%2 == 0 {
			m := append(append([]byte(nil), b...), 0, 0)
			binary.BigEndian.PutUint16(m[len(b):], Checksum(m))
			if s := Sum(m, 0); s != 0xffff {
				t.Fatalf("with checksum appended the sum is %#04x", s)
			}
		}
	})
}

func BenchmarkChecksum(b *testing.B) {
	impls := []struct {
		name string
		sum  func([]byte, uint16) uint16
	}{
		{"berth", Sum},
		{"gvisor", gvchecksum.Checksum},
	}
	for _, impl := range impls {
		for _, n := range []int{64, 1500, 65536} {
			buf := make([]byte, n)
			for i := range buf {
				buf[i] = byte(i*7 + 3)
			}
			b.Run(fmt.Sprintf("%s/%d", impl.name, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				var s uint16
				for b.Loop() {
					s = impl.sum(buf, s)
				}
			})
		}
	}
}

func TestChecksum_SeedCorpus(t *testing.T) {
	ones := make([]byte, 301)
	for i := range ones {
		ones[i] = 0xff
	}
	writeSeeds(t, "FuzzChecksum", map[string][]any{
		"rfc1071-example": {[]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, uint16(0), 4},
		"odd-byte":        {[]byte{0xab}, uint16(0xffff), 1},
		"ones-odd":        {ones, uint16(0xffff), 129},
		"empty":           {[]byte{}, uint16(0x1234), 0},
	})
}

// The pseudo-header benchmarks guard the IPv4 path of PseudoHeaderSum and
// of the TCP and UDP checksums that start from it: serving IPv6 as well
// must not slow IPv4 down.
func BenchmarkChecksumPseudoHeader(b *testing.B) {
	for _, tc := range []struct {
		name     string
		src, dst netip.Addr
	}{
		{"v4", addrA, addrB},
		{"v6", addr6, addr6.Next()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var s uint16
			for b.Loop() {
				s += PseudoHeaderSum(ProtoTCP, tc.src, tc.dst, 1480)
			}
			_ = s
		})
	}
}

func BenchmarkChecksumTCPVerify(b *testing.B) {
	for _, tc := range []struct {
		name     string
		src, dst netip.Addr
		n        int
	}{
		{"v4/ack", addrA, addrB, 0},
		{"v4/1460", addrA, addrB, 1460},
		{"v6/ack", addr6, addr6.Next(), 0},
	} {
		r := TCPRepr{SrcPort: 80, DstPort: 40000, Seq: 1, Ack: 2, Flags: FlagACK, Window: 1000}
		seg := make([]byte, r.HeaderLen()+tc.n)
		r.Emit(seg, tc.n, tc.src, tc.dst)
		v := TCP(seg)
		b.Run(tc.name, func(b *testing.B) {
			ok := true
			for b.Loop() {
				ok = ok && v.ChecksumValid(tc.src, tc.dst)
			}
			if !ok {
				b.Fatal("checksum does not verify")
			}
		})
	}
}

func BenchmarkChecksumUDPEmit(b *testing.B) {
	for _, tc := range []struct {
		name     string
		src, dst netip.Addr
	}{
		{"v4", addrA, addrB},
		{"v6", addr6, addr6.Next()},
	} {
		buf := make([]byte, UDPHeaderLen+64)
		r := UDPRepr{SrcPort: 5353, DstPort: 5353}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r.Emit(buf, 64, tc.src, tc.dst)
			}
		})
	}
}
