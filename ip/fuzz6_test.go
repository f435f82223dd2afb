package ip

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"berth/wire"
)

// fuzzSeeds6 are packets to host6B that reach each IPv6 path: an echo,
// extension headers good and bad, fragments first, last and atomic, NDP,
// an error quoting UDP, an unknown protocol.
func fuzzSeeds6() [][]byte {
	echo := echo6(host6A, host6B, 1, 2, []byte("seed data"))
	udp := pkt6(host6B, host6A, wire.ProtoUDP, []byte{0x30, 0x39, 0, 53, 0, 12, 0, 0, 'h', 'i', '!', '!'})
	return [][]byte{
		pkt6(host6A, host6B, wire.ProtoICMPv6, echo),
		pkt6(host6A, host6B, wire.ProtoHopByHop, cat(ext(wire.ProtoDstOpts, []byte{0x9e, 2, 0, 0}), ext(wire.ProtoICMPv6, nil), echo)),
		pkt6(host6A, host6B, wire.ProtoRouting, cat(ext(wire.ProtoICMPv6, []byte{0, 1, 0, 0, 0, 0}), echo)),
		pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(wire.ProtoICMPv6, 0, true, 1), echo[:16])),
		pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(wire.ProtoICMPv6, 16, false, 1), echo[16:])),
		pkt6(host6A, host6B, wire.ProtoFragment, cat(fragHdr(wire.ProtoICMPv6, 0, false, 1), echo)),
		pkt6(netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1:ff00:2"), wire.ProtoICMPv6,
			icmp6(netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1:ff00:2"), wire.ICMPv6Repr{Type: wire.ICMPv6NeighborSolicitation, Data: host6B.AsSlice()})),
		pkt6(host6A, host6B, wire.ProtoICMPv6, icmp6(host6A, host6B, wire.ICMPv6Repr{Type: wire.ICMPv6PacketTooBig, MTU: 1280, Data: udp})),
		pkt6(host6A, host6B, 200, []byte("unknown")),
	}
}

// FuzzInput6 feeds a packet (twice, as a duplicating link would) into a
// layer and then lets reassembly time out. Nothing may panic; every packet
// received must end in a counter; whatever the layer sends must be a valid
// packet, an error within 1280 bytes, never to or from a multicast address;
// and reassembly must hold nothing once its timeout has passed.
func FuzzInput6(f *testing.F) {
	for _, s := range fuzzSeeds6() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		l, ifc, wl := newLayer6(t, 1500)
		l.SetHandler6(wire.ProtoUDP, &rec6{})
		l.SetHandler6(wire.ProtoICMPv6, &rec6{})
		for i := range 2 {
			before4, before6 := l.Stats, l.Stats6
			l.Input(epoch.Add(time.Duration(i)*time.Second), ifc, slices.Clone(pkt))
			got := terminal6(&l.Stats6) - terminal6(&before6) + terminal4(&l.Stats) - terminal4(&before4)
			rcvd := l.Stats6.InReceives - before6.InReceives + l.Stats.InReceives - before4.InReceives
			if rcvd == 0 || got < rcvd {
				t.Fatalf("received %d, accounted %d:\n%+v\n%+v", rcvd, got, l.Stats6, l.Stats)
			}
			checkOutput6(t, wl.take())
		}
		if b, _ := l.ReasmHeld(); b > 4<<20 {
			t.Fatalf("reassembly holds %d bytes", b)
		}
		l.Tick(epoch.Add(2 * time.Minute))
		checkOutput6(t, wl.take())
		if b, n := l.ReasmHeld(); b != 0 || n != 0 || !l.NextDeadline().IsZero() {
			t.Fatalf("after the timeout reassembly holds %d bytes in %d packets", b, n)
		}
	})
}

func terminal4(s *Stats) uint64 {
	return s.InHdrErrors + s.InAddrErrors + s.InUnknownProtos + s.InDiscards + s.InDelivers + s.ReasmReqds
}
