package sim

import (
	"bytes"
	"net/netip"
	"testing"

	"berth/wire"
)

// ip6Packet builds an IPv6 packet from src to dst carrying next/upper, with
// the given flow label.
func ip6Packet(src, dst netip.Addr, next uint8, flow uint32, upper []byte) []byte {
	ip := wire.IPv6Repr{NextHeader: next, HopLimit: 64, FlowLabel: flow, Src: src, Dst: dst, PayloadLen: len(upper)}
	b := make([]byte, 40+len(upper))
	ip.Emit(b)
	copy(b[40:], upper)
	return b
}

// summaryPackets are IPv6 packets between 2001:2::1 and 2001:2::2 of every
// kind the summary names, with the line each should get when those
// addresses are hosts a and b.
func summaryPackets() (pkts [][]byte, want []string) {
	a, b := netip.MustParseAddr("2001:2::1"), netip.MustParseAddr("2001:2::2")
	add := func(p []byte, line string) { pkts, want = append(pkts, p), append(want, line) }

	seg := make([]byte, 20+5)
	r := wire.TCPRepr{SrcPort: 40000, DstPort: 80, Seq: 7, Ack: 9, Flags: wire.FlagACK | wire.FlagPSH, Window: 512}
	r.Emit(seg, 5, a, b)
	add(ip6Packet(a, b, wire.ProtoTCP, 0, seg), "TCP6 a:40000 > b:80 [P.] seq=7 ack=9 win=512 len=5 hlim=64")
	bad := bytes.Clone(seg)
	bad[len(bad)-1] ^= 1
	add(ip6Packet(a, b, wire.ProtoTCP, 0x12345, bad), "TCP6 a:40000 > b:80 [P.] seq=7 ack=9 win=512 len=5 [bad csum] flow=74565 hlim=64")

	dg := make([]byte, 8+3)
	wire.UDPRepr{SrcPort: 5353, DstPort: 53}.Emit(dg, 3, a, b)
	add(ip6Packet(a, b, wire.ProtoUDP, 0, dg), "UDP6 a:5353 > b:53 len=3 hlim=64")

	echo := wire.ICMPv6Repr{Type: wire.ICMPv6EchoRequest, ID: 3, Seq: 4, Data: []byte("ping")}
	m := make([]byte, echo.Len())
	echo.Emit(m, a, b)
	add(ip6Packet(a, b, wire.ProtoICMPv6, 0, m), "ICMP6 a > b echo request id=3 seq=4 len=4 hlim=64")

	quote := ip6Packet(b, a, wire.ProtoUDP, 0, dg)
	ptb := wire.ICMPv6Repr{Type: wire.ICMPv6PacketTooBig, MTU: 1400, Data: quote}
	m = make([]byte, ptb.Len())
	ptb.Emit(m, RouterAddr6, b)
	add(ip6Packet(RouterAddr6, b, wire.ProtoICMPv6, 0, m), "ICMP6 2001:2:0:ffff::fffe > b packet too big mtu=1400 len=51 hlim=64")

	frag := make([]byte, wire.IPv6FragmentHeaderLen+16)
	fr := wire.IPv6FragmentRepr{NextHeader: wire.ProtoUDP, FragmentOffset: 1448, MoreFragments: true, ID: 77}
	fr.Emit(frag)
	add(ip6Packet(a, b, wire.ProtoFragment, 0, frag), "IP6 a > b frag proto=17 off=1448+ fid=77 hlim=64")

	add(ip6Packet(a, b, 253, 0, []byte{1, 2, 3}), "IP6 a > b proto=253 len=3 hlim=64")
	add(ip6Packet(a, b, wire.ProtoHopByHop, 0, []byte{1, 2}), "IP6 a > b bad-ext next=0 len=2 hlim=64")
	add(ip6Packet(a, b, wire.ProtoTCP, 0, seg)[:50], "malformed6 len=50")
	return pkts, want
}

// The trace names IPv6 packets by kind, with host names for the hosts'
// addresses and IPv6's hop limit and flow label in place of IPv4's ID and
// TTL.
func TestSummary6(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		n.Host("a")
		n.Host("b")
		pkts, want := summaryPackets()
		for i, p := range pkts {
			n.mu.Lock()
			got := string(n.appendSummary(nil, p))
			n.mu.Unlock()
			if got != want[i] {
				t.Errorf("packet %d:\n got %s\nwant %s", i, got, want[i])
			}
		}
	})
}

// The summary reads packets that faults may have corrupted: whatever the
// bytes, it describes them on one line and never panics.
func FuzzSummary(f *testing.F) {
	pkts, _ := summaryPackets()
	for _, p := range pkts {
		f.Add(p)
	}
	n := New(Seed(1))
	defer n.Close()
	n.Host("a")
	n.Host("b")
	f.Fuzz(func(t *testing.T, p []byte) {
		n.mu.Lock()
		line := n.appendSummary(nil, p)
		n.mu.Unlock()
		if len(line) == 0 || bytes.ContainsAny(line, "\n\r") {
			t.Fatalf("summary %q", line)
		}
	})
}
