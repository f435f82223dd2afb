package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"gvisor.dev/gvisor/pkg/buffer"
	gvheader "gvisor.dev/gvisor/pkg/tcpip/header"
)

// Extension headers for the walk's tests, as a sender lays them out.

// optsHdr is a Hop-by-Hop or Destination Options header whose options are
// opts, padded with Pad1 bytes to a multiple of 8.
func optsHdr(next uint8, opts ...byte) []byte {
	h := append([]byte{next, 0}, opts...)
	for len(h)%8 != 0 {
		h = append(h, 0)
	}
	h[1] = uint8(len(h)/8 - 1)
	return h
}

// padHdr is an options header of 8 bytes holding a PadN option.
func padHdr(next uint8) []byte { return optsHdr(next, ipv6OptPadN, 4, 0, 0, 0, 0) }

// routingHdr is a type 2 Routing header (RFC 6275 §6.4) with one address.
func routingHdr(next, segmentsLeft uint8) []byte {
	h := []byte{next, 2, 2, segmentsLeft, 0, 0, 0, 0}
	a := addr6.As16()
	return append(h, a[:]...)
}

func fragHdr(next uint8, off int, more bool, id uint32) []byte {
	b := make([]byte, 8)
	r := IPv6FragmentRepr{NextHeader: next, FragmentOffset: off, MoreFragments: more, ID: id}
	r.Emit(b)
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var udpBytes = []byte{0x9c, 0x40, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00}

type walkCase struct {
	name string
	pkt  []byte
	want IPv6Transport
	err  error
}

// walkCases are the walk's table tests, also seeds of FuzzIPv6.
func walkCases() []walkCase {
	eight := func(next uint8) []byte { // 8 Destination Options headers, then next
		var b []byte
		for i := range 8 {
			n := ProtoDstOpts
			if i == 7 {
				n = next
			}
			b = append(b, padHdr(n)...)
		}
		return b
	}
	jumbo := ipv6Packet(ProtoHopByHop, nil) // Payload Length 0, a Jumbo Payload option outside it
	jumbo = append(jumbo, optsHdr(ProtoUDP, 0xc2, 4, 0, 1, 0, 0)...)
	return []walkCase{
		{"upper layer at once", ipv6Packet(ProtoUDP, udpBytes),
			IPv6Transport{Proto: ProtoUDP, Offset: 40, Pointer: 6}, nil},
		{"empty payload", ipv6Packet(ProtoTCP, nil),
			IPv6Transport{Proto: ProtoTCP, Offset: 40, Pointer: 6}, nil},
		{"hop-by-hop", ipv6Packet(ProtoHopByHop, cat(padHdr(ProtoICMPv6), udpBytes)),
			IPv6Transport{Proto: ProtoICMPv6, Offset: 48, Pointer: 40, ExtHeaders: 1}, nil},
		// RFC 8200 §4.1's recommended order, with both Destination Options.
		{"RFC 8200 order", ipv6Packet(ProtoHopByHop, cat(padHdr(ProtoDstOpts), padHdr(ProtoRouting),
			routingHdr(ProtoFragment, 0), fragHdr(ProtoDstOpts, 0, true, 7), padHdr(ProtoUDP), udpBytes)),
			IPv6Transport{Proto: ProtoUDP, Offset: 96, Pointer: 88, ExtHeaders: 5, FragmentAt: 80, FragmentNextHeaderAt: 56,
				Fragment: IPv6FragmentRepr{NextHeader: ProtoDstOpts, MoreFragments: true, ID: 7}}, nil},
		// RFC 8200 §4.7: bytes after No Next Header are ignored.
		{"no next header", ipv6Packet(ProtoDstOpts, cat(padHdr(ProtoNoNextHeader), []byte("ignored"))),
			IPv6Transport{Proto: ProtoNoNextHeader, Offset: 48, Pointer: 40, ExtHeaders: 1}, nil},
		{"ESP ends the walk", ipv6Packet(ProtoHopByHop, cat(padHdr(ProtoESP), make([]byte, 16))),
			IPv6Transport{Proto: ProtoESP, Offset: 48, Pointer: 40, ExtHeaders: 1}, nil},
		{"AH ends the walk", ipv6Packet(ProtoDstOpts, cat(padHdr(ProtoAH), make([]byte, 3))),
			IPv6Transport{Proto: ProtoAH, Offset: 48, Pointer: 40, ExtHeaders: 1}, nil},
		{"unknown next header", ipv6Packet(253, make([]byte, 8)),
			IPv6Transport{Proto: 253, Offset: 40, Pointer: 6}, nil},
		{"first fragment: the walk goes on", ipv6Packet(ProtoFragment, cat(fragHdr(ProtoDstOpts, 0, true, 0xabcdef01), padHdr(ProtoUDP), udpBytes)),
			IPv6Transport{Proto: ProtoUDP, Offset: 56, Pointer: 48, ExtHeaders: 2, FragmentAt: 40, FragmentNextHeaderAt: 6,
				Fragment: IPv6FragmentRepr{NextHeader: ProtoDstOpts, MoreFragments: true, ID: 0xabcdef01}}, nil},
		// What follows a later fragment's header is data, even if it reads
		// as a broken header.
		{"later fragment: the walk stops", ipv6Packet(ProtoHopByHop, cat(padHdr(ProtoFragment), fragHdr(ProtoDstOpts, 1448, false, 9), []byte{0, 0xff})),
			IPv6Transport{Proto: ProtoDstOpts, Offset: 56, Pointer: 48, ExtHeaders: 2, FragmentAt: 48, FragmentNextHeaderAt: 40,
				Fragment: IPv6FragmentRepr{NextHeader: ProtoDstOpts, FragmentOffset: 1448, ID: 9}}, nil},
		{"atomic fragment", ipv6Packet(ProtoFragment, cat(fragHdr(ProtoUDP, 0, false, 1), udpBytes)),
			IPv6Transport{Proto: ProtoUDP, Offset: 48, Pointer: 40, ExtHeaders: 1, FragmentAt: 40, FragmentNextHeaderAt: 6,
				Fragment: IPv6FragmentRepr{NextHeader: ProtoUDP, ID: 1}}, nil},
		{"routing header, segments left 0", ipv6Packet(ProtoRouting, cat(routingHdr(ProtoUDP, 0), udpBytes)),
			IPv6Transport{Proto: ProtoUDP, Offset: 64, Pointer: 40, ExtHeaders: 1}, nil},
		// Router Alert (RFC 2711), Pad1, and unknown types whose action
		// bits are 00: all skipped.
		{"options to skip", ipv6Packet(ProtoHopByHop, cat(
			optsHdr(ProtoDstOpts, 5, 2, 0, 0, ipv6OptPad1, 0x3e, 0),
			optsHdr(ProtoUDP, 0x1e, 6, 1, 2, 3, 4, 5, 6, ipv6OptPadN, 0), udpBytes)),
			IPv6Transport{Proto: ProtoUDP, Offset: 72, Pointer: 56, ExtHeaders: 2}, nil},
		{"all Pad1", ipv6Packet(ProtoDstOpts, cat(optsHdr(ProtoUDP, make([]byte, 14)...), udpBytes)),
			IPv6Transport{Proto: ProtoUDP, Offset: 56, Pointer: 40, ExtHeaders: 1}, nil},
		{"largest options header", ipv6Packet(ProtoDstOpts, cat([]byte{ProtoUDP, 255, ipv6OptPadN, 255}, make([]byte, 2044), udpBytes)),
			IPv6Transport{Proto: ProtoUDP, Offset: 40 + 2048, Pointer: 40, ExtHeaders: 1}, nil},
		{"eight extension headers", ipv6Packet(ProtoDstOpts, cat(eight(ProtoUDP), udpBytes)),
			IPv6Transport{Proto: ProtoUDP, Offset: 104, Pointer: 96, ExtHeaders: 8}, nil},

		{"nine extension headers", ipv6Packet(ProtoDstOpts, cat(eight(ProtoDstOpts), padHdr(ProtoUDP), udpBytes)),
			IPv6Transport{Proto: ProtoDstOpts, Offset: 104, Pointer: 96, ExtHeaders: 8}, ErrTooManyExtHeaders},
		{"hop-by-hop not first", ipv6Packet(ProtoDstOpts, cat(padHdr(ProtoHopByHop), padHdr(ProtoUDP), udpBytes)),
			IPv6Transport{Proto: ProtoHopByHop, Offset: 48, Pointer: 40, ExtHeaders: 1}, ErrHopByHopNotFirst},
		{"hop-by-hop after a first fragment", ipv6Packet(ProtoFragment, cat(fragHdr(ProtoHopByHop, 0, true, 3), padHdr(ProtoUDP), udpBytes)),
			IPv6Transport{Proto: ProtoHopByHop, Offset: 48, Pointer: 40, ExtHeaders: 1, FragmentAt: 40, FragmentNextHeaderAt: 6,
				Fragment: IPv6FragmentRepr{NextHeader: ProtoHopByHop, MoreFragments: true, ID: 3}}, ErrHopByHopNotFirst},
		{"header shorter than 8 bytes", ipv6Packet(ProtoDstOpts, []byte{ProtoUDP, 0, 1, 2}),
			IPv6Transport{Proto: ProtoDstOpts, Offset: 40, Pointer: 6}, ErrTruncated},
		{"header longer than the payload", ipv6Packet(ProtoHopByHop, cat([]byte{ProtoUDP, 1, ipv6OptPadN, 12}, make([]byte, 10))),
			IPv6Transport{Proto: ProtoHopByHop, Offset: 40, Pointer: 6}, ErrTruncated},
		{"fragment header cut", ipv6Packet(ProtoFragment, fragHdr(ProtoUDP, 8, false, 1)[:7]),
			IPv6Transport{Proto: ProtoFragment, Offset: 40, Pointer: 6}, ErrTruncated},
		// RFC 7112 §5: the first fragment must hold the whole chain.
		{"first fragment with an incomplete chain", ipv6Packet(ProtoFragment, cat(fragHdr(ProtoDstOpts, 0, true, 5), padHdr(ProtoUDP)[:6])),
			IPv6Transport{Proto: ProtoDstOpts, Offset: 48, Pointer: 40, ExtHeaders: 1, FragmentAt: 40, FragmentNextHeaderAt: 6,
				Fragment: IPv6FragmentRepr{NextHeader: ProtoDstOpts, MoreFragments: true, ID: 5}}, ErrTruncated},
		{"jumbogram", jumbo, IPv6Transport{Proto: ProtoHopByHop, Offset: 40, Pointer: 6}, ErrTruncated},
		{"routing header, segments left 1", ipv6Packet(ProtoDstOpts, cat(padHdr(ProtoRouting), routingHdr(ProtoUDP, 1), udpBytes)),
			IPv6Transport{Proto: ProtoRouting, Offset: 48, Pointer: 50, ExtHeaders: 1}, ErrRoutingHeader},
		{"option longer than its header", ipv6Packet(ProtoDstOpts, cat(optsHdr(ProtoUDP, ipv6OptPad1, 0x1e, 5), udpBytes)),
			IPv6Transport{Proto: ProtoDstOpts, Offset: 40, Pointer: 43}, ErrBadOption},
		{"option length byte past the header", ipv6Packet(ProtoDstOpts, cat([]byte{ProtoUDP, 0, 0, 0, 0, 0, 0, ipv6OptPadN}, udpBytes)),
			IPv6Transport{Proto: ProtoDstOpts, Offset: 40, Pointer: 47}, ErrBadOption},
		{"unknown option, action 01", ipv6Packet(ProtoDstOpts, cat(optsHdr(ProtoUDP, ipv6OptPadN, 0, 0x5e, 0), udpBytes)),
			IPv6Transport{Proto: ProtoDstOpts, Offset: 40, Pointer: 44}, ErrUnknownOption},
		{"unknown option, action 10", ipv6Packet(ProtoHopByHop, cat(optsHdr(ProtoUDP, 0x88, 2, 0, 0), udpBytes)),
			IPv6Transport{Proto: ProtoHopByHop, Offset: 40, Pointer: 42}, ErrUnknownOption},
		// RFC 2675's Jumbo Payload, which berth does not support (action 11).
		{"jumbo payload option", ipv6Packet(ProtoHopByHop, cat(optsHdr(ProtoUDP, 0xc2, 4, 0, 1, 0, 0), udpBytes)),
			IPv6Transport{Proto: ProtoHopByHop, Offset: 40, Pointer: 42}, ErrUnknownOption},
	}
}

func TestIPv6_Transport(t *testing.T) {
	for _, tc := range walkCases() {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewIPv6(tc.pkt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Transport()
			if err != tc.err || got != tc.want {
				t.Fatalf("got %+v, %v\nwant %+v, %v", got, err, tc.want, tc.err)
			}
			checkTransport(t, v)
			compareTransportGVisor(t, v)
		})
	}
}

// TestIPv6_TransportLinux walks the chains Linux built, and the packets
// Linux quoted in the Parameter Problems it sent about chains we built: the
// walk must fail where Linux's did, and point where Linux pointed.
func TestIPv6_TransportLinux(t *testing.T) {
	for _, tc := range []struct {
		name string
		want IPv6Transport
	}{
		{"tcp6_syn", IPv6Transport{Proto: ProtoTCP, Offset: 40, Pointer: 6}},
		{"exthdr_echo_request", IPv6Transport{Proto: ProtoICMPv6, Offset: 64, Pointer: 48, ExtHeaders: 2}},
		{"udp6_fragment_first", IPv6Transport{Proto: ProtoUDP, Offset: 48, Pointer: 40, ExtHeaders: 1, FragmentAt: 40, FragmentNextHeaderAt: 6,
			Fragment: IPv6FragmentRepr{NextHeader: ProtoUDP, MoreFragments: true, ID: 0xcfca5d82}}},
		{"udp6_fragment_last", IPv6Transport{Proto: ProtoUDP, Offset: 48, Pointer: 40, ExtHeaders: 1, FragmentAt: 40, FragmentNextHeaderAt: 6,
			Fragment: IPv6FragmentRepr{NextHeader: ProtoUDP, FragmentOffset: 2896, ID: 0xcfca5d82}}},
		{"ping6_fragment_first", IPv6Transport{Proto: ProtoICMPv6, Offset: 48, Pointer: 40, ExtHeaders: 1, FragmentAt: 40, FragmentNextHeaderAt: 6,
			Fragment: IPv6FragmentRepr{NextHeader: ProtoICMPv6, MoreFragments: true, ID: 0xd11dc3f3}}},
		{"ping6_fragment_last", IPv6Transport{Proto: ProtoICMPv6, Offset: 48, Pointer: 40, ExtHeaders: 1, FragmentAt: 40, FragmentNextHeaderAt: 6,
			Fragment: IPv6FragmentRepr{NextHeader: ProtoICMPv6, FragmentOffset: 1448, ID: 0xd11dc3f3}}},
	} {
		v, err := NewIPv6(linux6Packet(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Transport()
		if err != nil || got != tc.want {
			t.Errorf("%s: got %+v, %v\nwant %+v", tc.name, got, err, tc.want)
		}
		compareTransportGopacket(t, v, got)
		compareTransportGVisor(t, v)
	}

	for _, tc := range []struct {
		name string
		code uint8
		err  error
	}{
		{"icmp6_param_unknown_option", ICMPv6ParamOption, ErrUnknownOption},
		{"icmp6_param_hbh_not_first", ICMPv6ParamNextHeader, ErrHopByHopNotFirst},
		{"icmp6_param_unknown_next_header", ICMPv6ParamNextHeader, nil}, // the walk ends at Next Header 253
	} {
		ip, err := NewIPv6(linux6Packet(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewICMPv6(ip.Payload())
		if err != nil {
			t.Fatal(err)
		}
		if m.Type() != ICMPv6ParamProblem || m.Code() != tc.code {
			t.Fatalf("%s: Linux sent %d/%d", tc.name, m.Type(), m.Code())
		}
		q, err := NewQuotedIPv6(m.Payload())
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.Transport()
		if err != tc.err {
			t.Errorf("%s: walk of the quote: %v, want %v", tc.name, err, tc.err)
		}
		if got.Pointer != int(m.Pointer()) {
			t.Errorf("%s: Pointer %d, Linux pointed at %d", tc.name, got.Pointer, m.Pointer())
		}
	}
}

// checkTransport walks v and checks what must hold of any result.
func checkTransport(t testing.TB, v IPv6) {
	t.Helper()
	tr, err := v.Transport()
	fail := func(what string) {
		t.Helper()
		t.Fatalf("%s: %+v, %v (packet %x)", what, tr, err, []byte(v))
	}
	if tr.ExtHeaders > IPv6MaxExtHeaders || tr.Offset < IPv6HeaderLen || tr.Offset > len(v) || tr.Pointer < 0 {
		fail("out of range")
	}
	if tr.HasFragment() {
		if tr.FragmentAt < IPv6HeaderLen || tr.FragmentAt+IPv6FragmentHeaderLen > len(v) || v[tr.FragmentNextHeaderAt] != ProtoFragment {
			fail("fragment header")
		}
		f, ferr := NewIPv6Fragment(v[tr.FragmentAt:])
		if ferr != nil || ParseIPv6Fragment(f) != tr.Fragment {
			fail("fragment fields")
		}
	}
	switch err {
	case nil:
		// The Next Header field Pointer names holds Proto, and Proto is no
		// header the walk follows, unless the walk stopped after a later
		// fragment.
		if tr.Pointer >= tr.Offset || v[tr.Pointer] != tr.Proto {
			fail("pointer")
		}
		switch tr.Proto {
		case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDstOpts:
			if tr.Offset != tr.Pointer+IPv6FragmentHeaderLen || IPv6Fragment(v[tr.Pointer:]).FragmentOffset() == 0 {
				fail("stopped at an extension header, not after a later fragment's header")
			}
		}
	case ErrTruncated, ErrTooManyExtHeaders:
		if v[tr.Pointer] != tr.Proto {
			fail("pointer")
		}
	case ErrHopByHopNotFirst:
		if v[tr.Pointer] != ProtoHopByHop || tr.Offset == IPv6HeaderLen {
			fail("pointer")
		}
	case ErrRoutingHeader:
		if tr.Pointer != tr.Offset+2 || v[tr.Pointer+1] == 0 {
			fail("pointer")
		}
	case ErrBadOption:
		if tr.Pointer < tr.Offset+2 || tr.Pointer >= len(v) {
			fail("pointer")
		}
	case ErrUnknownOption:
		if tr.Pointer < tr.Offset+2 || tr.Pointer+2 > len(v) || v[tr.Pointer]>>6 == 0 {
			fail("pointer")
		}
	default:
		fail("unexpected error")
	}
}

// errGVisorStricter marks a chain gVisor rejects and berth need not: a
// Router Alert option (RFC 2711) whose length is not 2. Its action bits
// are 00, so a host that does not look at it skips it.
var errGVisorStricter = errors.New("gVisor is stricter")

// gvisorTransport is Transport computed with gVisor's extension header and
// option iterators; berth's rules (Hop-by-Hop first, no Segments Left, the
// header limit) are applied on top. Offsets come from the size of what
// gVisor has left to read, never from berth's arithmetic.
func gvisorTransport(v IPv6) (IPv6Transport, error) {
	it := gvheader.MakeIPv6PayloadIterator(gvheader.IPv6ExtensionHeaderIdentifier(v.NextHeader()),
		buffer.MakeWithData(append([]byte(nil), v.Payload()...)))
	defer it.Release()
	t := IPv6Transport{Pointer: 6}
	for {
		raw := it.AsRawHeader(false)
		t.Offset = len(v) - int(raw.Buf.Size())
		raw.Release()
		t.Proto = uint8(it.NextHeaderIdentifier())
		switch t.Proto {
		case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDstOpts:
		default:
			return t, nil
		}
		if t.Proto == ProtoHopByHop && t.Offset != IPv6HeaderLen {
			return t, ErrHopByHopNotFirst
		}
		if t.ExtHeaders == IPv6MaxExtHeaders {
			return t, ErrTooManyExtHeaders
		}
		h, done, err := it.Next()
		if err != nil {
			return t, ErrTruncated
		}
		if done {
			panic("gVisor's iterator ended at an extension header")
		}
		stop := false
		switch h := h.(type) {
		case gvheader.IPv6HopByHopOptionsExtHdr:
			if err := gvisorOptions(&t, h.Iter()); err != nil {
				return t, err
			}
		case gvheader.IPv6DestinationOptionsExtHdr:
			if err := gvisorOptions(&t, h.Iter()); err != nil {
				return t, err
			}
		case gvheader.IPv6RoutingExtHdr:
			if h.SegmentsLeft() != 0 {
				t.Pointer = t.Offset + 2
				return t, ErrRoutingHeader
			}
		case gvheader.IPv6FragmentExtHdr:
			f := IPv6FragmentRepr{NextHeader: uint8(it.NextHeaderIdentifier()),
				FragmentOffset: int(h.FragmentOffset()) * 8, MoreFragments: h.More(), ID: h.ID()}
			if !t.HasFragment() {
				t.FragmentAt, t.FragmentNextHeaderAt, t.Fragment = t.Offset, t.Pointer, f
			}
			stop = f.FragmentOffset != 0
		default:
			panic("unexpected gVisor header")
		}
		h.Release()
		t.ExtHeaders++
		t.Pointer = t.Offset
		if stop {
			// gVisor hands the rest over raw; its identifier is the
			// Fragment header's Next Header.
			raw := it.AsRawHeader(false)
			t.Offset = len(v) - int(raw.Buf.Size())
			t.Proto = uint8(raw.Identifier)
			raw.Release()
			return t, nil
		}
	}
}

func gvisorOptions(t *IPv6Transport, it gvheader.IPv6OptionsExtHdrOptionsIterator) error {
	for {
		opt, done, err := it.Next()
		if err != nil {
			if errors.Is(err, gvheader.ErrMalformedIPv6ExtHdrOption) {
				return errGVisorStricter
			}
			t.Pointer = t.Offset + 2 + int(it.OptionOffset())
			return ErrBadOption
		}
		if done {
			return nil
		}
		if opt.UnknownAction() != gvheader.IPv6OptionUnknownActionSkip {
			t.Pointer = t.Offset + 2 + int(it.OptionOffset())
			return ErrUnknownOption
		}
	}
}

// compareTransportGVisor checks Transport against gvisorTransport.
func compareTransportGVisor(t testing.TB, v IPv6) {
	t.Helper()
	want, wantErr := gvisorTransport(v)
	if wantErr == errGVisorStricter {
		return
	}
	got, err := v.Transport()
	if err != wantErr || got != want {
		t.Fatalf("walk disagrees with gVisor's:\n got %+v, %v\nwant %+v, %v\npacket %x", got, err, want, wantErr, []byte(v))
	}
}

// compareTransportGopacket checks where the upper layer starts against
// gopacket's decoding of the whole packet (which stops after a Fragment
// header, and knows no Routing Type but 0).
func compareTransportGopacket(t testing.TB, v IPv6, tr IPv6Transport) {
	t.Helper()
	p := gopacket.NewPacket(v, layers.LayerTypeIPv6, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("gopacket: %v", el.Error())
	}
	off := IPv6HeaderLen
	for _, l := range p.Layers()[1:] {
		switch l := l.(type) {
		case *layers.IPv6HopByHop:
			off += l.ActualLength
		case *layers.IPv6Destination:
			off += l.ActualLength
		case *layers.IPv6Fragment:
			f := IPv6FragmentRepr{NextHeader: uint8(l.NextHeader), FragmentOffset: int(l.FragmentOffset) * 8,
				MoreFragments: l.MoreFragments, ID: l.Identification}
			if f != tr.Fragment || off != tr.FragmentAt {
				t.Fatalf("gopacket's fragment header %+v at %d, berth's %+v at %d", f, off, tr.Fragment, tr.FragmentAt)
			}
			off += IPv6FragmentHeaderLen
		default:
			if off != tr.Offset {
				t.Fatalf("gopacket's %v starts at %d, berth's upper layer at %d", l.LayerType(), off, tr.Offset)
			}
			return
		}
	}
	if off != tr.Offset {
		t.Fatalf("gopacket's chain ends at %d, berth's at %d", off, tr.Offset)
	}
}

// TestIPv6_TransportRandomChains builds random chains, some valid and some
// broken, and compares the walk with gVisor's.
func TestIPv6_TransportRandomChains(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	kinds := []uint8{ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoDstOpts}
	seen := map[error]int{}
	for range 5000 {
		n := rng.IntN(11)
		long := rng.IntN(20) == 0 // a chain of harmless headers around the limit
		if long {
			n = 7 + rng.IntN(4)
		}
		var hdrs [][]byte
		next := make([]uint8, n+1)
		for j := range next {
			next[j] = kinds[rng.IntN(len(kinds))]
		}
		next[n] = []uint8{ProtoUDP, ProtoTCP, ProtoICMPv6, ProtoNoNextHeader, ProtoESP}[rng.IntN(5)]
		if long {
			for j := range n {
				next[j] = ProtoDstOpts
			}
		}
		if rng.IntN(2) == 0 && next[0] != ProtoHopByHop {
			// Mostly keep Hop-by-Hop where it belongs.
			for j := 1; j < n; j++ {
				if next[j] == ProtoHopByHop {
					next[j] = ProtoDstOpts
				}
			}
		}
		for j := range n {
			switch next[j] {
			case ProtoHopByHop, ProtoDstOpts:
				if long {
					hdrs = append(hdrs, padHdr(next[j+1]))
					continue
				}
				var opts []byte
				for range rng.IntN(4) {
					typ := []byte{ipv6OptPad1, ipv6OptPadN, 5, 0x1e, 0x5e, 0x9e, 0xde}[rng.IntN(7)]
					if typ == ipv6OptPad1 {
						opts = append(opts, typ)
						continue
					}
					l := rng.IntN(7)
					if typ == 5 && rng.IntN(4) != 0 {
						l = 2
					}
					opts = append(append(opts, typ, byte(l)), make([]byte, l)...)
				}
				h := optsHdr(next[j+1], opts...)
				if rng.IntN(20) == 0 { // an option overrunning the header
					h[len(h)-2], h[len(h)-1] = 0x1e, 9
				}
				hdrs = append(hdrs, h)
			case ProtoRouting:
				hdrs = append(hdrs, routingHdr(next[j+1], uint8(rng.IntN(3)/2)))
			case ProtoFragment:
				off := 0
				if rng.IntN(3) == 0 {
					off = 8 * (1 + rng.IntN(100))
				}
				hdrs = append(hdrs, fragHdr(next[j+1], off, rng.IntN(2) == 0, rng.Uint32()))
			}
		}
		payload := cat(append(hdrs, udpBytes)...)
		if rng.IntN(5) == 0 { // cut it anywhere
			payload = payload[:rng.IntN(len(payload)+1)]
		}
		v, err := NewIPv6(ipv6Packet(next[0], payload))
		if err != nil {
			t.Fatal(err)
		}
		checkTransport(t, v)
		compareTransportGVisor(t, v)
		_, err = v.Transport()
		seen[err]++
	}
	// The chains reach every outcome, or the comparison proves little.
	for _, err := range []error{nil, ErrTruncated, ErrHopByHopNotFirst, ErrRoutingHeader, ErrBadOption, ErrUnknownOption, ErrTooManyExtHeaders} {
		if seen[err] < 20 {
			t.Errorf("only %d chains ended with %v", seen[err], err)
		}
	}
}

func TestIPv6Fragment_Linux(t *testing.T) {
	for _, tc := range []struct {
		name string
		want IPv6FragmentRepr
	}{
		{"udp6_fragment_first", IPv6FragmentRepr{NextHeader: ProtoUDP, MoreFragments: true, ID: 0xcfca5d82}},
		{"udp6_fragment_last", IPv6FragmentRepr{NextHeader: ProtoUDP, FragmentOffset: 2896, ID: 0xcfca5d82}},
		{"ping6_fragment_last", IPv6FragmentRepr{NextHeader: ProtoICMPv6, FragmentOffset: 1448, ID: 0xd11dc3f3}},
	} {
		ip, err := NewIPv6(linux6Packet(t, tc.name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewIPv6Fragment(ip.Payload())
		if err != nil {
			t.Fatal(err)
		}
		if len(f) != IPv6FragmentHeaderLen {
			t.Fatalf("view %d bytes", len(f))
		}
		r := ParseIPv6Fragment(f)
		if r != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, r, tc.want)
		}
		compareFragment(t, f)
		out := make([]byte, IPv6FragmentHeaderLen)
		r.Emit(out)
		if !bytes.Equal(out, f) {
			t.Errorf("%s: emit %x, Linux %x", tc.name, out, []byte(f))
		}
	}
	// Linux's later fragments sit at multiples of 1448: the 1500-byte MTU
	// less 40 + 8 bytes of headers, cut down to a multiple of 8.
	if got := 1500 - IPv6HeaderLen - IPv6FragmentHeaderLen; got&^7 != 1448 {
		t.Fatalf("arithmetic: %d", got)
	}
}

// compareFragment checks the view against gopacket's and gVisor's decoding.
func compareFragment(t testing.TB, f IPv6Fragment) {
	t.Helper()
	r := ParseIPv6Fragment(f)
	p := gopacket.NewPacket(f, layers.LayerTypeIPv6Fragment, gopacket.Default)
	g, ok := p.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
	if !ok {
		t.Fatalf("gopacket: %v", p.ErrorLayer())
	}
	gp := IPv6FragmentRepr{NextHeader: uint8(g.NextHeader), FragmentOffset: int(g.FragmentOffset) * 8,
		MoreFragments: g.MoreFragments, ID: g.Identification}
	gvh := gvheader.IPv6FragmentExtHdr([6]byte(f[2:8]))
	gv := IPv6FragmentRepr{NextHeader: f[0], FragmentOffset: int(gvh.FragmentOffset()) * 8, MoreFragments: gvh.More(), ID: gvh.ID()}
	if r != gp || r != gv {
		t.Fatalf("fragment header %+v; gopacket %+v; gVisor %+v", r, gp, gv)
	}
}

func TestIPv6Fragment_Setters(t *testing.T) {
	if _, err := NewIPv6Fragment(make([]byte, 7)); err != ErrTruncated {
		t.Fatalf("7 bytes: %v, want ErrTruncated", err)
	}
	// The reserved fields are ignored on reception (RFC 8200 §4.5)...
	b := []byte{ProtoUDP, 0xff, 0x05, 0xaf, 1, 2, 3, 4, 0xee}
	f, err := NewIPv6Fragment(b)
	if err != nil || len(f) != 8 {
		t.Fatalf("len %d err %v", len(f), err)
	}
	want := IPv6FragmentRepr{NextHeader: ProtoUDP, FragmentOffset: 0x5a8, MoreFragments: true, ID: 0x01020304}
	if got := ParseIPv6Fragment(f); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	compareFragment(t, f)
	// ... and sent as zero.
	out := make([]byte, 8)
	for i := range out {
		out[i] = 0xff
	}
	want.Emit(out)
	if !bytes.Equal(out, []byte{ProtoUDP, 0, 0x05, 0xa9, 1, 2, 3, 4}) {
		t.Fatalf("emit %x", out)
	}
	f.SetNextHeader(ProtoTCP)
	f.SetFragment(65528, false)
	f.SetID(0xffffffff)
	want = IPv6FragmentRepr{NextHeader: ProtoTCP, FragmentOffset: 65528, ID: 0xffffffff}
	if got := ParseIPv6Fragment(f); got != want {
		t.Fatalf("after setters %+v\nwant %+v", got, want)
	}
	if got, want := want.String(), "frag id 0xffffffff off 65528 next 6"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	want.MoreFragments = true
	if got, want := want.String(), "frag id 0xffffffff off 65528 M next 6"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestIPv6Fragment_Panics(t *testing.T) {
	for _, off := range []int{-8, 3, 1, 65536} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("fragment offset %d did not panic", off)
				}
			}()
			r := IPv6FragmentRepr{FragmentOffset: off}
			r.Emit(make([]byte, 8))
		}()
	}
}

func TestIPv6Fragment_DifferentialRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	for range 2000 {
		r := IPv6FragmentRepr{NextHeader: uint8(rng.Uint32()), FragmentOffset: 8 * rng.IntN(8192),
			MoreFragments: rng.IntN(2) == 0, ID: rng.Uint32()}
		b := make([]byte, 8)
		r.Emit(b)
		f, err := NewIPv6Fragment(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := ParseIPv6Fragment(f); got != r {
			t.Fatalf("round trip %+v, want %+v", got, r)
		}
		compareFragment(t, f)
	}
}
