package ip

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"gvisor.dev/gvisor/pkg/tcpip"
	gvheader "gvisor.dev/gvisor/pkg/tcpip/header"

	"berth/buf"
	"berth/wire"
)

// Addresses from 2001:2::/48, RFC 5180's benchmarking range, in-process only.
var (
	host6A  = netip.MustParseAddr("2001:2::1")
	host6B  = netip.MustParseAddr("2001:2::2")
	prefix6 = netip.MustParsePrefix("2001:2::2/64")
)

// newLayer6 is newLayer with host6B's IPv6 address on the interface too.
func newLayer6(t testing.TB, mtu int) (*Layer, *Interface, *wireLink) {
	t.Helper()
	l := New(Config{FirstID: 100})
	wl := &wireLink{mtu: mtu}
	ifc := l.AddInterface("t0", wl, prefix)
	if err := l.AddAddress(ifc, prefix6); err != nil {
		t.Fatal(err)
	}
	return l, ifc, wl
}

// pkt6 builds an IPv6 packet from src to dst whose payload (extension
// headers included) is body and whose first Next Header is next.
func pkt6(src, dst netip.Addr, next uint8, body []byte) []byte {
	r := wire.IPv6Repr{NextHeader: next, HopLimit: 64, Src: src, Dst: dst, PayloadLen: len(body)}
	b := make([]byte, wire.IPv6HeaderLen+len(body))
	r.Emit(b)
	copy(b[wire.IPv6HeaderLen:], body)
	return b
}

// icmp6 builds an ICMPv6 message between src and dst, checksummed.
func icmp6(src, dst netip.Addr, r wire.ICMPv6Repr) []byte {
	b := make([]byte, r.Len())
	r.Emit(b, src, dst)
	return b
}

func echo6(src, dst netip.Addr, id, seq uint16, data []byte) []byte {
	return icmp6(src, dst, wire.ICMPv6Repr{Type: wire.ICMPv6EchoRequest, ID: id, Seq: seq, Data: data})
}

// ext builds an extension header of type kind (Hop-by-Hop, Destination
// Options or Routing) naming next, with body after its first two bytes,
// padded with PadN to a multiple of 8.
func ext(next uint8, body []byte) []byte {
	n := (2 + len(body) + 7) &^ 7
	b := make([]byte, n)
	b[0], b[1] = next, byte(n/8-1)
	copy(b[2:], body)
	if pad := n - 2 - len(body); pad == 1 {
		b[n-1] = 0 // Pad1
	} else if pad > 1 {
		b[2+len(body)], b[3+len(body)] = 1, byte(pad-2) // PadN
	}
	return b
}

func fragHdr(next uint8, off int, more bool, id uint32) []byte {
	b := make([]byte, wire.IPv6FragmentHeaderLen)
	r := wire.IPv6FragmentRepr{NextHeader: next, FragmentOffset: off, MoreFragments: more, ID: id}
	r.Emit(b)
	return b
}

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

// mustICMP6 checks that pkt is a valid IPv6 packet carrying ICMPv6 with
// a checksum that berth and gVisor both compute, and that gopacket decodes
// it to the same fields.
func mustICMP6(t *testing.T, pkt []byte) (wire.IPv6, wire.ICMPv6) {
	t.Helper()
	h, err := wire.NewIPv6(pkt)
	if err != nil || len(h) != len(pkt) {
		t.Fatalf("sent packet does not parse: %v", err)
	}
	if h.NextHeader() != wire.ProtoICMPv6 {
		t.Fatalf("next header %d, want ICMPv6", h.NextHeader())
	}
	m, err := wire.NewICMPv6(h.Payload())
	if err != nil || !m.ChecksumValid(h.Src(), h.Dst()) {
		t.Fatalf("sent ICMPv6 invalid: %v", err)
	}
	gv := gvheader.ICMPv6Checksum(gvheader.ICMPv6ChecksumParams{
		Header: gvheader.ICMPv6(m), Src: tcpip.AddrFrom16(h.Src().As16()), Dst: tcpip.AddrFrom16(h.Dst().As16()),
	})
	if gv != m.Checksum() {
		t.Fatalf("checksum %#04x, gVisor computes %#04x", m.Checksum(), gv)
	}
	if !gvheader.IPv6(pkt).IsValid(len(pkt)) {
		t.Fatal("gVisor finds the IPv6 header invalid")
	}
	g := gopacket.NewPacket(pkt, layers.LayerTypeIPv6, gopacket.Default)
	gi, _ := g.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	gm, _ := g.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	if gi == nil || gm == nil || g.ErrorLayer() != nil {
		t.Fatalf("gopacket cannot decode it: %v", g.ErrorLayer())
	}
	if !gi.SrcIP.Equal(net.IP(h.Src().AsSlice())) || !gi.DstIP.Equal(net.IP(h.Dst().AsSlice())) ||
		gi.HopLimit != h.HopLimit() || int(gi.Length) != h.PayloadLen() ||
		gm.TypeCode.Type() != m.Type() || gm.TypeCode.Code() != m.Code() || gm.Checksum != m.Checksum() {
		t.Fatalf("gopacket reads %v %v, berth %v %v", gi, gm, wire.ParseIPv6(h), m[:4])
	}
	return h, m
}

// terminal6 sums the counters one of which every received packet ends in.
func terminal6(s *Stats6) uint64 {
	return s.InHdrErrors + s.InAddrErrors + s.InUnknownProtos + s.InDiscards + s.InDelivers + s.ReasmReqds
}

func TestEcho6RequestIsAnswered_RFC4443_4_2(t *testing.T) {
	l, ifc, wl := newLayer6(t, 1500)
	data := []byte("abcdefghijklmnopqrstuvwxyz0123456789!")
	req := pkt6(host6A, host6B, wire.ProtoICMPv6, echo6(host6A, host6B, 0x1234, 9, data))
	wire.IPv6(req).SetTrafficClass(0xb8)
	l.Input(epoch, ifc, req)
	out := wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d packets, want 1 echo reply", len(out))
	}
	h, m := mustICMP6(t, out[0])
	want := wire.IPv6Repr{TrafficClass: 0xb8, NextHeader: wire.ProtoICMPv6, HopLimit: DefaultTTL, Src: host6B, Dst: host6A, PayloadLen: 8 + len(data)}
	if got := wire.ParseIPv6(h); got != want {
		t.Fatalf("reply header %v, want %v", got, want)
	}
	if out[0][0]>>4 != 6 {
		t.Fatalf("version %d", out[0][0]>>4)
	}
	r, err := wire.ParseICMPv6(m)
	if err != nil || r.Type != wire.ICMPv6EchoReply || r.Code != 0 || r.ID != 0x1234 || r.Seq != 9 || !bytes.Equal(r.Data, data) {
		t.Fatalf("reply %v (%v)", r, err)
	}
	var e layers.ICMPv6Echo
	if err := e.DecodeFromBytes(m[4:], gopacket.NilDecodeFeedback); err != nil || e.Identifier != 0x1234 || e.SeqNumber != 9 {
		t.Fatalf("gopacket echo %+v %v", e, err)
	}
	if l.ICMP6.InEchos != 1 || l.ICMP6.OutEchoReplies != 1 || l.ICMP6.OutMsgs != 1 || l.Stats6.InDelivers != 1 ||
		l.Stats6.InReceives != 1 || l.Stats6.OutRequests != 1 {
		t.Fatalf("counters %+v %+v", l.Stats6, l.ICMP6)
	}
	if l.Stats.InReceives != 0 || l.ICMP.InMsgs != 0 {
		t.Fatalf("IPv4 counters moved: %+v", l.Stats)
	}
}

func TestEcho6ReplySteadyStateAllocatesNothing(t *testing.T) {
	l, ifc, _ := newLayer6(t, 1500)
	req := pkt6(host6A, host6B, wire.ProtoICMPv6, echo6(host6A, host6B, 1, 1, make([]byte, 56)))
	pkt := make([]byte, len(req))
	sink := &countLink{mtu: 1500}
	ifc.Link = sink
	allocs := testing.AllocsPerRun(1000, func() {
		copy(pkt, req)
		l.Input(epoch, ifc, pkt)
	})
	if allocs != 0 {
		t.Fatalf("allocs per IPv6 echo reply = %v, want 0", allocs)
	}
	if sink.n < 1000 {
		t.Fatalf("only %d replies sent", sink.n)
	}
}

// RFC 4443 §4.2: a request to a multicast address is answered from a
// unicast address of the interface it came in on.
func TestEcho6ToAllNodesAnsweredFromInterfaceAddress(t *testing.T) {
	l, ifc, wl := newLayer6(t, 1500)
	l.Input(epoch, ifc, pkt6(host6A, allNodesLinkLocal, wire.ProtoICMPv6, echo6(host6A, allNodesLinkLocal, 5, 6, []byte("all"))))
	out := wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d, want 1", len(out))
	}
	h, m := mustICMP6(t, out[0])
	if h.Src() != host6B || h.Dst() != host6A || m.Type() != wire.ICMPv6EchoReply || m.ID() != 5 || m.Seq() != 6 {
		t.Fatalf("reply %v type %d", wire.ParseIPv6(h), m.Type())
	}
}

// ppCheck describes the Parameter Problem a case expects; type 0 means no
// answer at all.
type ppCheck struct {
	typ, code uint8
	ptr       uint32
}

func TestMalformed6CountedAndAnswered(t *testing.T) {
	good := pkt6(host6A, host6B, wire.ProtoICMPv6, echo6(host6A, host6B, 1, 1, []byte("12345678")))
	icmpBody := echo6(host6A, host6B, 1, 1, []byte("12345678"))
	mc := netip.MustParseAddr("ff02::1")
	pp := func(code uint8, ptr uint32) ppCheck { return ppCheck{wire.ICMPv6ParamProblem, code, ptr} }
	opt := func(typ uint8) []byte { return []byte{typ, 2, 0, 0} } // an option with 2 bytes of data
	cases := []struct {
		name    string
		pkt     []byte
		counter func(*Stats6) uint64
		answer  ppCheck
	}{
		{"truncated", good[:39], func(s *Stats6) uint64 { return s.InTruncated }, ppCheck{}},
		{"payload-beyond", func() []byte { b := slices.Clone(good); b[5] += 1; return b }(), func(s *Stats6) uint64 { return s.InTruncated }, ppCheck{}},
		{"src-multicast", pkt6(mc, host6B, wire.ProtoICMPv6, icmpBody), func(s *Stats6) uint64 { return s.InBadSource }, ppCheck{}},
		{"src-v4mapped", pkt6(netip.MustParseAddr("::ffff:198.18.0.1"), host6B, wire.ProtoICMPv6, icmpBody), func(s *Stats6) uint64 { return s.InBadSource }, ppCheck{}},
		{"src-loopback", pkt6(netip.IPv6Loopback(), host6B, wire.ProtoICMPv6, icmpBody), func(s *Stats6) uint64 { return s.InBadSource }, ppCheck{}},
		{"dst-other", pkt6(host6A, netip.MustParseAddr("2001:2::77"), wire.ProtoICMPv6, icmpBody), func(s *Stats6) uint64 { return s.InAddrErrors }, ppCheck{}},
		{"dst-loopback-from-link", pkt6(host6A, netip.IPv6Loopback(), wire.ProtoICMPv6, icmpBody), func(s *Stats6) uint64 { return s.InAddrErrors }, ppCheck{}},
		{"dst-scope0", pkt6(host6A, netip.MustParseAddr("ff00::1"), wire.ProtoICMPv6, icmpBody), func(s *Stats6) uint64 { return s.InAddrErrors }, ppCheck{}},
		{"dst-iface-local-from-link", pkt6(host6A, allNodesIfaceLocal, wire.ProtoICMPv6, icmpBody), func(s *Stats6) uint64 { return s.InAddrErrors }, ppCheck{}},
		{"dst-group-not-joined", pkt6(host6A, netip.MustParseAddr("ff02::2"), wire.ProtoICMPv6, icmpBody), func(s *Stats6) uint64 { return s.InAddrErrors }, ppCheck{}},
		// RFC 8200 §4.1: Hop-by-Hop after a Destination Options header;
		// code 1 at the Next Header field naming it (offset 40).
		{"hbh-not-first", pkt6(host6A, host6B, wire.ProtoDstOpts, cat(ext(wire.ProtoHopByHop, nil), ext(wire.ProtoICMPv6, nil), icmpBody)),
			func(s *Stats6) uint64 { return s.InBadHeaderChain }, pp(wire.ICMPv6ParamNextHeader, 40)},
		// RFC 8200 §4.4: Segments Left 1; code 0 at the Routing Type (42).
		{"routing-segments-left", pkt6(host6A, host6B, wire.ProtoRouting, cat(ext(wire.ProtoICMPv6, []byte{0, 1, 0, 0, 0, 0}), icmpBody)),
			func(s *Stats6) uint64 { return s.InBadHeaderChain }, pp(wire.ICMPv6ParamHeaderField, 42)},
		{"routing-segments-left-0-skipped", pkt6(host6A, host6B, wire.ProtoRouting, cat(ext(wire.ProtoICMPv6, []byte{0, 0, 0, 0, 0, 0}), icmpBody)),
			func(s *Stats6) uint64 { return s.InDelivers }, ppCheck{wire.ICMPv6EchoReply, 0, 0}},
		// An option whose length runs past its header: code 0 at the option (42).
		{"option-overruns", pkt6(host6A, host6B, wire.ProtoDstOpts, cat([]byte{wire.ProtoICMPv6, 0, 1, 9, 0, 0, 0, 0}, icmpBody)),
			func(s *Stats6) uint64 { return s.InBadOption }, pp(wire.ICMPv6ParamHeaderField, 42)},
		// RFC 8200 §4.2 action bits of an unknown option at offset 42.
		{"option-00-skipped", pkt6(host6A, host6B, wire.ProtoDstOpts, cat(ext(wire.ProtoICMPv6, opt(0x1e)), icmpBody)),
			func(s *Stats6) uint64 { return s.InDelivers }, ppCheck{wire.ICMPv6EchoReply, 0, 0}},
		{"option-01-silent", pkt6(host6A, host6B, wire.ProtoDstOpts, cat(ext(wire.ProtoICMPv6, opt(0x5e)), icmpBody)),
			func(s *Stats6) uint64 { return s.InUnknownOption }, ppCheck{}},
		{"option-10", pkt6(host6A, host6B, wire.ProtoDstOpts, cat(ext(wire.ProtoICMPv6, opt(0x9e)), icmpBody)),
			func(s *Stats6) uint64 { return s.InUnknownOption }, pp(wire.ICMPv6ParamOption, 42)},
		{"option-11", pkt6(host6A, host6B, wire.ProtoHopByHop, cat(ext(wire.ProtoICMPv6, opt(0xde)), icmpBody)),
			func(s *Stats6) uint64 { return s.InUnknownOption }, pp(wire.ICMPv6ParamOption, 42)},
		// To a multicast destination 10 is still answered (RFC 4443
		// §2.4(e.3)), from the interface's address; 11 is not.
		{"option-10-multicast", pkt6(host6A, mc, wire.ProtoDstOpts, cat(ext(wire.ProtoICMPv6, opt(0x9e)), icmpBody)),
			func(s *Stats6) uint64 { return s.InUnknownOption }, pp(wire.ICMPv6ParamOption, 42)},
		{"option-11-multicast", pkt6(host6A, mc, wire.ProtoDstOpts, cat(ext(wire.ProtoICMPv6, opt(0xde)), icmpBody)),
			func(s *Stats6) uint64 { return s.InUnknownOption }, ppCheck{}},
		{"too-many-ext-headers", pkt6(host6A, host6B, wire.ProtoDstOpts, cat(
			ext(wire.ProtoDstOpts, nil), ext(wire.ProtoDstOpts, nil), ext(wire.ProtoDstOpts, nil), ext(wire.ProtoDstOpts, nil),
			ext(wire.ProtoDstOpts, nil), ext(wire.ProtoDstOpts, nil), ext(wire.ProtoDstOpts, nil), ext(wire.ProtoDstOpts, nil),
			ext(wire.ProtoICMPv6, nil), icmpBody)),
			func(s *Stats6) uint64 { return s.InBadHeaderChain }, ppCheck{}},
		// RFC 7112 §5: a first fragment whose chain is cut: code 3, pointer 0.
		{"first-fragment-chain-cut", pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(wire.ProtoDstOpts, 0, true, 1), []byte{wire.ProtoICMPv6, 1, 0, 0, 0, 0, 0, 0})),
			func(s *Stats6) uint64 { return s.InBadFragment }, pp(wire.ICMPv6ParamIncompleteChain, 0)},
		{"first-fragment-no-upper-header", pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(wire.ProtoUDP, 0, true, 1), make([]byte, 0))),
			func(s *Stats6) uint64 { return s.InBadFragment }, pp(wire.ICMPv6ParamIncompleteChain, 0)},
		// RFC 8200 §4.5: M set and not a multiple of 8: code 0 at Payload Length.
		{"fragment-not-multiple-of-8", pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 8, true, 1), make([]byte, 12))),
			func(s *Stats6) uint64 { return s.InBadFragment }, pp(wire.ICMPv6ParamHeaderField, 4)},
		// Reassembled beyond 65535: code 0 at the Fragment Offset field (42).
		{"fragment-beyond-65535", pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 65528, false, 1), make([]byte, 16))),
			func(s *Stats6) uint64 { return s.InBadFragment }, pp(wire.ICMPv6ParamHeaderField, 42)},
		// RFC 8200 §4: an unknown Next Header, code 1 at the field (6, or 40 after an extension header).
		{"unknown-next-header", pkt6(host6A, host6B, 200, []byte("data")),
			func(s *Stats6) uint64 { return s.InUnknownProtos }, pp(wire.ICMPv6ParamNextHeader, 6)},
		{"unknown-next-header-after-ext", pkt6(host6A, host6B, wire.ProtoDstOpts, cat(ext(200, nil), []byte("data"))),
			func(s *Stats6) uint64 { return s.InUnknownProtos }, pp(wire.ICMPv6ParamNextHeader, 40)},
		{"unknown-next-header-multicast", pkt6(host6A, mc, 200, []byte("data")),
			func(s *Stats6) uint64 { return s.InUnknownProtos }, ppCheck{}},
		{"no-next-header", pkt6(host6A, host6B, wire.ProtoNoNextHeader, []byte("ignored")),
			func(s *Stats6) uint64 { return s.InDelivers }, ppCheck{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, ifc, wl := newLayer6(t, 1500)
			l.Input(epoch, ifc, slices.Clone(c.pkt))
			if got := c.counter(&l.Stats6); got != 1 {
				t.Fatalf("reason counter = %d, want 1 (%+v)", got, l.Stats6)
			}
			if l.Stats6.InReceives != 1 || terminal6(&l.Stats6) != 1 {
				t.Fatalf("received %d, ended %d times: %+v", l.Stats6.InReceives, terminal6(&l.Stats6), l.Stats6)
			}
			out := wl.take()
			if c.answer.typ == 0 {
				if len(out) != 0 {
					t.Fatalf("sent %d packets, want none", len(out))
				}
				return
			}
			if len(out) != 1 {
				t.Fatalf("sent %d packets, want 1", len(out))
			}
			h, m := mustICMP6(t, out[0])
			if h.Src() != host6B || h.Dst() != host6A || m.Type() != c.answer.typ || m.Code() != c.answer.code {
				t.Fatalf("answer %v type %d code %d, want %+v", wire.ParseIPv6(h), m.Type(), m.Code(), c.answer)
			}
			if m.Type() != wire.ICMPv6ParamProblem {
				return
			}
			if m.Pointer() != c.answer.ptr {
				t.Fatalf("pointer %d, want %d", m.Pointer(), c.answer.ptr)
			}
			if !bytes.Equal(m.Payload(), c.pkt) {
				t.Fatalf("quote %x, want the whole packet %x", m.Payload(), c.pkt)
			}
			if l.ICMP6.OutParmProblems != 1 {
				t.Fatalf("OutParmProblems %d", l.ICMP6.OutParmProblems)
			}
		})
	}
}

func TestICMPv6MessageErrorsCounted(t *testing.T) {
	l, ifc, wl := newLayer6(t, 1500)
	bad := echo6(host6A, host6B, 1, 1, []byte("x"))
	bad[2] ^= 0xff
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoICMPv6, bad))
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoICMPv6, []byte{128, 0, 0}))
	if l.ICMP6.InMsgs != 2 || l.ICMP6.InErrors != 2 || l.ICMP6.InCsumErrors != 1 || len(wl.take()) != 0 {
		t.Fatalf("counters %+v", l.ICMP6)
	}
}

// The error quotes as much of the packet as fits a 1280-byte packet
// (RFC 4443 §2.4(c)).
func TestError6QuoteFillsMinimumMTU(t *testing.T) {
	l, ifc, wl := newLayer6(t, 9000)
	orig := pkt6(host6A, host6B, 200, make([]byte, 5000))
	l.Input(epoch, ifc, orig)
	out := wl.take()
	if len(out) != 1 || len(out[0]) != wire.IPv6MinMTU {
		t.Fatalf("sent %d packets, first %d bytes, want one of 1280", len(out), len(out[0]))
	}
	_, m := mustICMP6(t, out[0])
	if !bytes.Equal(m.Payload(), orig[:1280-48]) {
		t.Fatal("the quote is not the start of the packet")
	}
}

// RFC 4443 §2.4(e): no error about an ICMPv6 error, to an unspecified or
// multicast source; informational messages may be answered.
func TestNoError6AboutAnErrorOrToNoOne_RFC4443_2_4e(t *testing.T) {
	l, _, wl := newLayer6(t, 1500)
	inner := pkt6(host6B, host6A, wire.ProtoUDP, make([]byte, 8))
	errMsg := icmp6(host6A, host6B, wire.ICMPv6Repr{Type: wire.ICMPv6DestUnreachable, Code: wire.ICMPv6PortUnreachable, Data: inner})
	send := func(p []byte) int {
		l.SendError6(epoch, wire.IPv6(p), wire.ICMPv6ParamProblem, wire.ICMPv6ParamHeaderField, 0)
		return len(wl.take())
	}
	if n := send(pkt6(host6A, host6B, wire.ProtoICMPv6, errMsg)); n != 0 {
		t.Fatal("an error about an ICMPv6 error was sent")
	}
	if n := send(pkt6(host6A, host6B, wire.ProtoDstOpts, cat(ext(wire.ProtoICMPv6, nil), errMsg))); n != 0 {
		t.Fatal("an error about an ICMPv6 error behind an extension header was sent")
	}
	if n := send(pkt6(netip.IPv6Unspecified(), host6B, 200, nil)); n != 0 {
		t.Fatal("an error to the unspecified address was sent")
	}
	if n := send(pkt6(host6A, allNodesLinkLocal, 200, nil)); n != 0 {
		t.Fatal("an error about a multicast packet was sent")
	}
	if n := send(pkt6(host6A, host6B, wire.ProtoICMPv6, echo6(host6A, host6B, 1, 1, nil))); n != 1 {
		t.Fatal("no error about an echo request")
	}
}

// ICMPv4 and ICMPv6 errors share one budget (RFC 4443 §2.4(f)).
func TestICMPv6ErrorsAreRateLimited(t *testing.T) {
	l := New(Config{ICMPRatePerSec: 10, ICMPRateBurst: 3})
	wl := &wireLink{mtu: 1500}
	ifc := l.AddInterface("t0", wl, prefix)
	if err := l.AddAddress(ifc, prefix6); err != nil {
		t.Fatal(err)
	}
	l.Input(epoch, ifc, mkDatagram(200, nil, nil)) // an IPv4 error takes one token
	for range 10 {
		l.Input(epoch, ifc, pkt6(host6A, host6B, 200, nil))
	}
	if n := len(wl.take()); n != 3 {
		t.Fatalf("burst sent %d errors, want 3", n)
	}
	if l.ICMP6.OutRateLimited != 8 || l.ICMP6.OutParmProblems != 2 {
		t.Fatalf("counters %+v", l.ICMP6)
	}
	l.Input(epoch.Add(100*time.Millisecond), ifc, pkt6(host6A, host6B, 200, nil))
	if n := len(wl.take()); n != 1 {
		t.Fatalf("after 100ms at 10/s sent %d, want 1", n)
	}
}

// rec6 records what an IPv6 handler sees.
type rec6 struct {
	pkts [][]byte // payloads
	hdrs []wire.IPv6Repr
	errs []ICMPError
}

func (r *rec6) HandlePacket(p *Packet) {
	r.pkts = append(r.pkts, slices.Clone(p.Payload))
	r.hdrs = append(r.hdrs, wire.ParseIPv6(p.Header6))
}

func (r *rec6) HandleError(e *ICMPError) {
	c := *e
	c.Original6 = slices.Clone(e.Original6)
	c.OrigPayload = slices.Clone(e.OrigPayload)
	r.errs = append(r.errs, c)
}

// fragments6 cuts an upper-layer packet of protocol next into fragments
// of the given sizes (all but the last multiples of 8), from host6A to host6B.
func fragments6(next uint8, id uint32, payload []byte, sizes ...int) [][]byte {
	var out [][]byte
	off := 0
	for i, n := range sizes {
		end := min(off+n, len(payload))
		more := i < len(sizes)-1
		out = append(out, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(next, off, more, id), payload[off:end])))
		off = end
	}
	return out
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func TestReassembly6InOrderOutOfOrderDuplicate_RFC8200_4_5(t *testing.T) {
	payload := pattern(3000)
	for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}, {1, 1, 2, 2, 0}} {
		l, ifc, wl := newLayer6(t, 1500)
		h := &rec6{}
		l.SetHandler6(99, h)
		frags := fragments6(99, 0xdeadbeef, payload, 1232, 1232, 1232)
		for _, i := range order {
			l.Input(epoch, ifc, slices.Clone(frags[i]))
		}
		if len(h.pkts) != 1 || !bytes.Equal(h.pkts[0], payload) {
			t.Fatalf("order %v: delivered %d packets", order, len(h.pkts))
		}
		want := wire.IPv6Repr{NextHeader: 99, HopLimit: 64, Src: host6A, Dst: host6B, PayloadLen: 3000}
		if h.hdrs[0] != want {
			t.Fatalf("reassembled header %v, want %v", h.hdrs[0], want)
		}
		s := l.Stats6
		if s.ReasmReqds != uint64(len(order)) || s.ReasmOKs != 1 || s.ReasmFails != 0 || s.InDelivers != 1 {
			t.Fatalf("order %v: %+v", order, s)
		}
		if b, n := l.ReasmHeld(); b != 0 || n != 0 || len(wl.take()) != 0 {
			t.Fatalf("holding %d bytes in %d packets", b, n)
		}
	}
}

// The unfragmentable part of the first fragment is kept, the Next Header
// that named the Fragment header rewritten; headers after the Fragment
// header are walked once the packet is whole.
func TestReassembly6KeepsUnfragmentablePart(t *testing.T) {
	l, ifc, _ := newLayer6(t, 1500)
	h := &rec6{}
	l.SetHandler6(99, h)
	hbh := ext(wire.ProtoFragment, nil)
	dst := ext(99, nil)
	frag := cat(dst, pattern(32))
	first := pkt6(host6A, host6B, wire.ProtoHopByHop, cat(hbh, fragHdr(wire.ProtoDstOpts, 0, true, 7), frag[:16]))
	second := pkt6(host6A, host6B, wire.ProtoHopByHop, cat(hbh, fragHdr(wire.ProtoDstOpts, 16, false, 7), frag[16:]))
	l.Input(epoch, ifc, second)
	l.Input(epoch, ifc, first)
	if len(h.pkts) != 1 || !bytes.Equal(h.pkts[0], pattern(32)) {
		t.Fatalf("delivered %x", h.pkts)
	}
	if h.hdrs[0].NextHeader != wire.ProtoHopByHop || h.hdrs[0].PayloadLen != 8+8+32 {
		t.Fatalf("header %v", h.hdrs[0])
	}
}

func TestOverlapping6FragmentsDiscardPacket_RFC5722(t *testing.T) {
	l, ifc, _ := newLayer6(t, 1500)
	h := &rec6{}
	l.SetHandler6(99, h)
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 0, true, 5), make([]byte, 16))))
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 8, true, 5), make([]byte, 16))))
	if _, n := l.ReasmHeld(); n != 0 {
		t.Fatal("the overlapped packet is still held")
	}
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 16, false, 5), make([]byte, 8))))
	if len(h.pkts) != 0 || l.Stats6.ReasmOverlaps != 1 || l.Stats6.ReasmFails != 1 {
		t.Fatalf("delivered %d; %+v", len(h.pkts), l.Stats6)
	}
}

func TestReassembly6TimeoutSendsTimeExceeded_RFC8200_4_5(t *testing.T) {
	l, ifc, wl := newLayer6(t, 1500)
	first := pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(wire.ProtoICMPv6, 0, true, 6), echo6(host6A, host6B, 1, 1, make([]byte, 1024))[:1024]))
	l.Input(epoch, ifc, first)
	// A packet whose first fragment never came expires without a word.
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 8, false, 8), make([]byte, 8))))
	if d := l.NextDeadline(); !d.Equal(epoch.Add(60 * time.Second)) {
		t.Fatalf("deadline %v, want 60 s on", d)
	}
	l.Tick(epoch.Add(59 * time.Second))
	if len(wl.take()) != 0 {
		t.Fatal("expired early")
	}
	l.Tick(epoch.Add(60 * time.Second))
	out := wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d, want 1", len(out))
	}
	h, m := mustICMP6(t, out[0])
	if h.Dst() != host6A || h.Src() != host6B || m.Type() != wire.ICMPv6TimeExceeded || m.Code() != wire.ICMPv6ReassemblyTimeExceeded {
		t.Fatalf("type %d code %d to %v", m.Type(), m.Code(), h.Dst())
	}
	if !bytes.Equal(m.Payload(), first) {
		t.Fatal("does not quote the first fragment")
	}
	if l.Stats6.ReasmTimeout != 2 || l.Stats6.ReasmFails != 2 || !l.NextDeadline().IsZero() || l.ICMP6.OutTimeExcds != 1 {
		t.Fatalf("stats %+v %+v", l.Stats6, l.ICMP6)
	}
}

// IPv4 and IPv6 packets in reassembly expire each at their own time.
func TestReassemblyDeadlinesOfBothFamilies(t *testing.T) {
	l, ifc, _ := newLayer6(t, 1500)
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 0, true, 1), make([]byte, 8))))
	l.Input(epoch.Add(time.Second), ifc, fragment(6, 0, true, make([]byte, 16)))
	if d := l.NextDeadline(); !d.Equal(epoch.Add(31 * time.Second)) {
		t.Fatalf("first deadline %v, want the IPv4 one", d)
	}
	l.Tick(epoch.Add(31 * time.Second))
	if l.Stats.ReasmTimeout != 1 || l.Stats6.ReasmTimeout != 0 {
		t.Fatalf("v4 %d v6 %d timeouts", l.Stats.ReasmTimeout, l.Stats6.ReasmTimeout)
	}
	if d := l.NextDeadline(); !d.Equal(epoch.Add(60 * time.Second)) {
		t.Fatalf("next deadline %v", d)
	}
}

// RFC 6946 §4: an atomic fragment is processed at once, and leaves a
// reassembly of the same identification alone.
func TestAtomicFragmentProcessedAtOnce_RFC6946(t *testing.T) {
	l, ifc, wl := newLayer6(t, 1500)
	h := &rec6{}
	l.SetHandler6(99, h)
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 0, true, 9), pattern(16))))
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 0, false, 9), []byte("atomic"))))
	if len(h.pkts) != 1 || string(h.pkts[0]) != "atomic" {
		t.Fatalf("delivered %q", h.pkts)
	}
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(99, 16, false, 9), pattern(8))))
	if len(h.pkts) != 2 || len(h.pkts[1]) != 24 {
		t.Fatalf("the reassembly beside the atomic fragment failed: %d packets", len(h.pkts))
	}
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(wire.ProtoICMPv6, 0, false, 9), echo6(host6A, host6B, 3, 4, []byte("ping")))))
	out := wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d, want an echo reply", len(out))
	}
	if _, m := mustICMP6(t, out[0]); m.Type() != wire.ICMPv6EchoReply || m.ID() != 3 {
		t.Fatalf("reply type %d", m.Type())
	}
}

func TestFragmentation6OnOutputReassembledByReceiver(t *testing.T) {
	tx, _, wl := newLayer6(t, 1500)
	payload := pattern(4000)
	b := buf.From(buf.Headroom, payload)
	defer b.Release()
	if err := tx.Send(epoch, b, Header{Dst: host6A, Protocol: 99}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), payload) {
		t.Fatal("Send did not hand the buffer back as given")
	}
	frags := wl.take()
	if len(frags) != 3 {
		t.Fatalf("%d fragments, want 3", len(frags))
	}
	var id uint32
	for i, f := range frags {
		h, err := wire.NewIPv6(f)
		if err != nil || len(f) > 1500 || h.NextHeader() != wire.ProtoFragment || h.Src() != host6B || h.Dst() != host6A {
			t.Fatalf("fragment %d: %v %v", i, err, wire.ParseIPv6(h))
		}
		fr := wire.ParseIPv6Fragment(wire.IPv6Fragment(h.Payload()))
		want := wire.IPv6FragmentRepr{NextHeader: 99, FragmentOffset: 1448 * i, MoreFragments: i < 2, ID: fr.ID}
		if fr != want || (i > 0 && fr.ID != id) {
			t.Fatalf("fragment %d: %v, want %v (id %#x)", i, fr, want, id)
		}
		id = fr.ID
	}
	if tx.Stats6.FragOKs != 1 || tx.Stats6.FragCreates != 3 {
		t.Fatalf("stats %+v", tx.Stats6)
	}
	// gopacket reassembles nothing, but it reads the Fragment header alike.
	g := gopacket.NewPacket(frags[1], layers.LayerTypeIPv6, gopacket.Default)
	if gf, _ := g.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment); gf == nil || gf.Identification != id || gf.FragmentOffset != 1448/8 || !gf.MoreFragments {
		t.Fatalf("gopacket reads %v", gf)
	}
	rx := New(Config{})
	rh := &rec6{}
	rx.SetHandler6(99, rh)
	rifc := rx.AddInterface("r0", &wireLink{mtu: 1500}, netip.Prefix{})
	if err := rx.AddAddress(rifc, netip.MustParsePrefix("2001:2::1/64")); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2, 0} {
		rx.Input(epoch, rifc, frags[i])
	}
	if len(rh.pkts) != 1 || !bytes.Equal(rh.pkts[0], payload) {
		t.Fatalf("reassembled %d packets", len(rh.pkts))
	}
	// The next packet to the same destination takes the next ID.
	if err := tx.Send(epoch, b, Header{Dst: host6A, Protocol: 99}); err != nil {
		t.Fatal(err)
	}
	if next := wire.IPv6Fragment(wl.take()[0][40:]).ID(); next != id+1 {
		t.Fatalf("next id %#x, want %#x", next, id+1)
	}
}

func TestDontFragment6TooBigIsEMSGSIZE(t *testing.T) {
	l, _, wl := newLayer6(t, 1500)
	b := buf.From(buf.Headroom, make([]byte, 1461))
	defer b.Release()
	if err := l.Send(epoch, b, Header{Dst: host6A, Protocol: 99, DontFragment: true}); err != syscall.EMSGSIZE {
		t.Fatalf("err = %v, want EMSGSIZE", err)
	}
	if len(wl.take()) != 0 || l.Stats6.FragFails != 1 {
		t.Fatalf("sent something; %+v", l.Stats6)
	}
}

// A Packet Too Big below 1280 still leaves 1280 (RFC 8201 §4), and
// fragments follow the learned path MTU.
func TestPathMTU6NeverBelowMinimum(t *testing.T) {
	l, _, wl := newLayer6(t, 9000)
	l.LearnPathMTU(epoch, host6A, 500)
	if m := l.PathMTU(epoch, host6A); m != 1280 {
		t.Fatalf("PathMTU %d, want 1280", m)
	}
	b := buf.From(buf.Headroom, make([]byte, 3000))
	defer b.Release()
	if err := l.Send(epoch, b, Header{Dst: host6A, Protocol: 99}); err != nil {
		t.Fatal(err)
	}
	out := wl.take()
	if len(out) != 3 || len(out[0]) != 1280 {
		t.Fatalf("%d fragments, first %d bytes", len(out), len(out[0]))
	}
}

func TestPacketTooBigDispatchedWithMTU(t *testing.T) {
	l, ifc, _ := newLayer6(t, 1500)
	h := &rec6{}
	l.SetHandler6(wire.ProtoUDP, h)
	v4 := &recordingHandler{}
	l.SetHandler(wire.ProtoUDP, v4)
	// host6B sent a UDP datagram to host6A; a router says it was too big.
	sent := pkt6(host6B, host6A, wire.ProtoUDP, cat([]byte{0x30, 0x39, 0x00, 0x35, 0x05, 0xdc, 0, 0}, make([]byte, 1492)))
	router := netip.MustParseAddr("2001:2::fe")
	ptb := icmp6(router, host6B, wire.ICMPv6Repr{Type: wire.ICMPv6PacketTooBig, MTU: 1400, Data: sent[:maxQuote6]})
	l.Input(epoch, ifc, pkt6(router, host6B, wire.ProtoICMPv6, ptb))
	if len(h.errs) != 1 || len(v4.errs) != 0 {
		t.Fatalf("IPv6 handler saw %d errors, IPv4 one %d", len(h.errs), len(v4.errs))
	}
	e := h.errs[0]
	if !e.Is6() || e.MTU != 1400 || e.From != router || e.Type != wire.ICMPv6PacketTooBig || e.Errno() != syscall.EMSGSIZE {
		t.Fatalf("error %+v errno %v", e, e.Errno())
	}
	if e.Original6.Src() != host6B || e.Original6.Dst() != host6A || !bytes.Equal(e.OrigPayload[:8], sent[40:48]) {
		t.Fatalf("quoted %v, transport header %x", wire.ParseIPv6(e.Original6), e.OrigPayload[:8])
	}
	if l.ICMP6.InPktTooBigs != 1 {
		t.Fatalf("counters %+v", l.ICMP6)
	}
	// A port unreachable, an unknown error type (RFC 4443 §2.4(a)), and a
	// quote of a non-first fragment (nobody to tell).
	unreach := icmp6(host6A, host6B, wire.ICMPv6Repr{Type: wire.ICMPv6DestUnreachable, Code: wire.ICMPv6PortUnreachable, Data: sent[:48]})
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoICMPv6, unreach))
	unknown := icmp6(host6A, host6B, wire.ICMPv6Repr{Type: 100, Data: sent[:48]})
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoICMPv6, unknown))
	nonFirst := pkt6(host6B, host6A, wire.ProtoFragment, cat(fragHdr(wire.ProtoUDP, 8, false, 1), make([]byte, 8)))
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoICMPv6, icmp6(host6A, host6B, wire.ICMPv6Repr{Type: wire.ICMPv6DestUnreachable, Data: nonFirst})))
	if len(h.errs) != 3 || h.errs[1].Errno() != syscall.ECONNREFUSED || h.errs[2].Type != 100 {
		t.Fatalf("errors %+v", h.errs)
	}
	if l.ICMP6.InDestUnreachs != 2 || l.ICMP6.InOtherTypes != 1 {
		t.Fatalf("counters %+v", l.ICMP6)
	}
}

// Links carry IP without link-layer addresses: Neighbor Discovery and
// MLD are counted by type and dropped, and nothing answers them.
func TestNDPAndMLDCountedAndDropped(t *testing.T) {
	l, ifc, wl := newLayer6(t, 1500)
	solicited := netip.MustParseAddr("ff02::1:ff00:2") // host6B's solicited-node group
	llA := netip.MustParseAddr("fe80::1")
	ndp := func(typ uint8, src, dst netip.Addr) []byte {
		m := icmp6(src, dst, wire.ICMPv6Repr{Type: typ, Data: make([]byte, 16)})
		p := pkt6(src, dst, wire.ProtoICMPv6, m)
		wire.IPv6(p).SetHopLimit(255)
		return p
	}
	for _, p := range [][]byte{
		ndp(wire.ICMPv6NeighborSolicitation, llA, solicited),
		ndp(wire.ICMPv6NeighborSolicitation, netip.IPv6Unspecified(), solicited), // duplicate address detection
		ndp(wire.ICMPv6NeighborAdvertisement, llA, allNodesLinkLocal),
		ndp(wire.ICMPv6RouterAdvertisement, llA, allNodesLinkLocal),
		ndp(wire.ICMPv6Redirect, llA, host6B),
		ndp(wire.ICMPv6MLDQuery, llA, allNodesLinkLocal),
		ndp(wire.ICMPv6MLDv2Report, llA, allNodesLinkLocal),
		ndp(200, llA, host6B), // unknown informational: RFC 4443 §2.4(b)
	} {
		l.Input(epoch, ifc, p)
	}
	c := l.ICMP6
	if c.InNeighborSolicits != 2 || c.InNeighborAdvertisements != 1 || c.InRouterAdvertisements != 1 ||
		c.InRedirects != 1 || c.InGroupMembQueries != 1 || c.InMLDv2Reports != 1 || c.InOtherTypes != 1 || c.InMsgs != 8 {
		t.Fatalf("counters %+v", c)
	}
	if n := len(wl.take()); n != 0 {
		t.Fatalf("answered %d of them", n)
	}
	// A solicitation for an address this host does not have is not for it.
	l.Input(epoch, ifc, ndp(wire.ICMPv6NeighborSolicitation, llA, netip.MustParseAddr("ff02::1:ff00:99")))
	if l.Stats6.InAddrErrors != 1 {
		t.Fatalf("stats %+v", l.Stats6)
	}
}

func TestLoopback6WaitsForFlush(t *testing.T) {
	l, _, wl := newLayer6(t, 1500)
	h := &rec6{}
	l.SetHandler6(99, h)
	for _, dst := range []netip.Addr{host6B, netip.IPv6Loopback()} {
		b := buf.From(buf.Headroom, []byte("to myself"))
		if err := l.Send(epoch, b, Header{Dst: dst, Protocol: 99}); err != nil {
			t.Fatal(err)
		}
		b.Release()
		if len(h.pkts) != 0 || !l.Pending() {
			t.Fatal("looped-back packet delivered inside Send")
		}
		l.Flush(epoch)
		if len(wl.take()) != 0 || len(h.pkts) != 1 || string(h.pkts[0]) != "to myself" || h.hdrs[0].Src != dst {
			t.Fatalf("loopback to %v: %q %v", dst, h.pkts, h.hdrs)
		}
		h.pkts, h.hdrs = nil, nil
	}
	if l.Stats6.InLoopback != 2 || l.Stats6.InDelivers != 2 {
		t.Fatalf("stats %+v", l.Stats6)
	}
}

func TestAddAddress(t *testing.T) {
	l := New(Config{})
	small := l.AddInterface("s0", &wireLink{mtu: 1279}, netip.Prefix{})
	if err := l.AddAddress(small, prefix6); err != syscall.EINVAL {
		t.Fatalf("IPv6 on a 1279-byte link: %v, want EINVAL (RFC 8200 §5)", err)
	}
	ifc := l.AddInterface("t0", &wireLink{mtu: 1500}, netip.Prefix{})
	for _, p := range []string{"::ffff:198.18.0.1/120", "ff02::1/128", "::/0", "::1/128"} {
		if err := l.AddAddress(ifc, netip.MustParsePrefix(p)); err != syscall.EINVAL {
			t.Fatalf("AddAddress(%s) = %v, want EINVAL", p, err)
		}
	}
	if err := l.AddAddress(ifc, prefix6); err != nil {
		t.Fatal(err)
	}
	if err := l.AddAddress(ifc, prefix6); err != syscall.EEXIST {
		t.Fatalf("twice: %v, want EEXIST", err)
	}
	if err := l.AddAddress(ifc, prefix); err != nil {
		t.Fatalf("IPv4 on an interface without: %v", err)
	}
	if err := l.AddAddress(ifc, netip.MustParsePrefix("198.18.1.1/24")); err != syscall.EEXIST {
		t.Fatalf("a second IPv4 address: %v, want EEXIST", err)
	}
	if !l.IsLocal(host6B) || !l.IsLocal(hostB) || l.IsLocal(host6A) || l.LocalMTU(host6B) != 1500 {
		t.Fatal("IsLocal or LocalMTU wrong")
	}
}

// Longest-prefix match covers IPv6 routes; the source is the interface's
// IPv6 address sharing most of the destination's prefix (RFC 6724 rule 8).
func TestRoute6AndSourceSelection(t *testing.T) {
	l, ifc, _ := newLayer6(t, 1500)
	other := &wireLink{mtu: 1500}
	ifc2 := l.AddInterface("t1", other, netip.Prefix{})
	if err := l.AddAddress(ifc2, netip.MustParsePrefix("2001:2:0:1::2/64")); err != nil {
		t.Fatal(err)
	}
	if err := l.AddAddress(ifc2, netip.MustParsePrefix("2001:2:0:2::2/64")); err != nil {
		t.Fatal(err)
	}
	l.Routes().Add(Route{Dst: netip.MustParsePrefix("::/0"), Iface: ifc2})
	for _, c := range []struct {
		dst, src string
		ifc      *Interface
	}{
		{"2001:2::9", "2001:2::2", ifc},
		{"2001:2:0:2::9", "2001:2:0:2::2", ifc2},
		{"2001:2:0:1::9", "2001:2:0:1::2", ifc2},
		{"2001:2:ff::1", "2001:2:0:1::2", ifc2}, // default route, first of equals
	} {
		r, src, err := l.Route(netip.MustParseAddr(c.dst))
		if err != nil || r.Iface != c.ifc || src != netip.MustParseAddr(c.src) {
			t.Errorf("Route(%s) = %v via %v, %v; want %s via %s", c.dst, src, r.Iface, err, c.src, c.ifc.Name)
		}
	}
	if _, _, err := l.Route(netip.MustParseAddr("::ffff:198.18.0.1")); err != syscall.ENETUNREACH {
		t.Fatalf("IPv4-mapped destination: %v", err)
	}
	if r, src, err := l.Route(hostA); err != nil || r.Iface != ifc || src != hostB {
		t.Fatalf("IPv4 route beside IPv6 ones: %v %v %v", r, src, err)
	}
	// An interface without an IPv6 address routes no IPv6.
	l2, _, _ := newLayer(t, 1500)
	l2.Routes().Add(Route{Dst: netip.MustParsePrefix("::/0"), Iface: l2.Interfaces()[0]})
	if _, _, err := l2.Route(host6A); err != syscall.EADDRNOTAVAIL {
		t.Fatalf("no IPv6 address: %v, want EADDRNOTAVAIL", err)
	}
}

func TestErrno6_Linux(t *testing.T) {
	for _, c := range []struct {
		typ, code uint8
		want      syscall.Errno
	}{
		{wire.ICMPv6DestUnreachable, wire.ICMPv6NoRoute, syscall.ENETUNREACH},
		{wire.ICMPv6DestUnreachable, wire.ICMPv6AdminProhibited, syscall.EACCES},
		{wire.ICMPv6DestUnreachable, wire.ICMPv6AddrUnreachable, syscall.EHOSTUNREACH},
		{wire.ICMPv6DestUnreachable, wire.ICMPv6PortUnreachable, syscall.ECONNREFUSED},
		{wire.ICMPv6DestUnreachable, wire.ICMPv6RejectRoute, syscall.EACCES},
		{wire.ICMPv6DestUnreachable, 99, syscall.EPROTO},
		{wire.ICMPv6PacketTooBig, 0, syscall.EMSGSIZE},
		{wire.ICMPv6TimeExceeded, 0, syscall.EHOSTUNREACH},
		{wire.ICMPv6ParamProblem, 1, syscall.EPROTO},
	} {
		e := ICMPError{Type: c.typ, Code: c.code, Original6: make(wire.IPv6, 40)}
		if got := e.Errno(); got != c.want {
			t.Errorf("type %d code %d: %v, want %v", c.typ, c.code, got, c.want)
		}
	}
}

// Fuzz-found shapes and the counting rule, packet by packet: every packet
// ends somewhere, and every packet sent is valid and, if an error, no
// larger than 1280 bytes.
func checkOutput6(t testing.TB, out [][]byte) {
	t.Helper()
	for _, p := range out {
		if p[0]>>4 == 4 {
			continue
		}
		h, err := wire.NewIPv6(p)
		if err != nil || len(h) != len(p) {
			t.Fatalf("sent a bad packet %x: %v", p, err)
		}
		tr, err := h.Transport()
		if err != nil {
			t.Fatalf("sent a packet with a bad chain %x: %v", p, err)
		}
		if tr.Proto != wire.ProtoICMPv6 || tr.HasFragment() {
			continue
		}
		m, err := wire.NewICMPv6(h[tr.Offset:])
		if err != nil || !m.ChecksumValid(h.Src(), h.Dst()) {
			t.Fatalf("sent a bad ICMPv6 message %x", p)
		}
		if wire.IsICMPv6Error(m.Type()) && len(p) > wire.IPv6MinMTU {
			t.Fatalf("error of %d bytes", len(p))
		}
		if h.Dst().IsMulticast() || h.Src().IsMulticast() {
			t.Fatalf("sent to or from a multicast address: %v", wire.ParseIPv6(h))
		}
	}
}

// BenchmarkEchoReply answers 56-byte pings, IPv4 and IPv6, into a link
// that only counts.
func BenchmarkEchoReply(b *testing.B) {
	for _, c := range []struct {
		name string
		req  []byte
	}{
		{"IPv4", mkDatagram(wire.ProtoICMP, echoRequest(1, 1, make([]byte, 56)), nil)},
		{"IPv6", pkt6(host6A, host6B, wire.ProtoICMPv6, echo6(host6A, host6B, 1, 1, make([]byte, 56)))},
	} {
		b.Run(c.name, func(b *testing.B) {
			l, ifc, _ := newLayer6(b, 1500)
			sink := &countLink{mtu: 1500}
			ifc.Link = sink
			pkt := make([]byte, len(c.req))
			b.ReportAllocs()
			for b.Loop() {
				copy(pkt, c.req)
				l.Input(epoch, ifc, pkt)
			}
			if sink.n == 0 {
				b.Fatal("no reply")
			}
		})
	}
}
