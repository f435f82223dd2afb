package gvisorpeer

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/waiter"

	"berth"
	"berth/link"
	"berth/link/mem"
)

// IPv6 addresses of the two ends, from 2001:2::/48 (RFC 5180's
// benchmarking range), in this process only.
var (
	gv6Prefix    = netip.MustParsePrefix("2001:2::1/64")
	berth6Prefix = netip.MustParsePrefix("2001:2::2/64")
)

// newDualBridge is a bridge that hands gVisor IPv6 packets as well as
// IPv4 ones, by the version nibble. Like the IPv4 bridge it resolves no
// addresses: gVisor sends to the link without Neighbor Discovery, since
// the bridge does not claim CapabilityResolutionRequired.
func newDualBridge(l link.Link) *bridge {
	b := &bridge{l: l}
	b.mtu.Store(uint32(l.MTU()))
	l.Attach(link.ReceiverFunc(func(pkt []byte) {
		box := b.disp.Load()
		var proto tcpip.NetworkProtocolNumber
		if len(pkt) > 0 {
			switch header.IPVersion(pkt) {
			case header.IPv4Version:
				proto = header.IPv4ProtocolNumber
			case header.IPv6Version:
				proto = header.IPv6ProtocolNumber
			}
		}
		if box == nil || proto == 0 {
			b.rxDropped.Add(1)
			return
		}
		pb := gvstack.NewPacketBuffer(gvstack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
		box.d.DeliverNetworkPacket(proto, pb)
		pb.DecRef()
	}))
	return b
}

// newPeers6 is a dual-stack berth host and a dual-stack gVisor stack with
// ICMP, on the two ends of a 1500-byte mem pair.
func newPeers6(t *testing.T) (*berth.Host, *gvstack.Stack) {
	t.Helper()
	memB, memG := mem.Pair()
	gv := gvstack.New(gvstack.Options{
		NetworkProtocols: []gvstack.NetworkProtocolFactory{
			ipv4.NewProtocol,
			// No duplicate address detection: it would hold the address
			// tentative for a second, and it needs NDP, which an L3 link
			// does not carry.
			ipv6.NewProtocolWithOptions(ipv6.Options{DADConfigs: gvstack.DADConfigurations{DupAddrDetectTransmits: 0}}),
		},
		TransportProtocols: []gvstack.TransportProtocolFactory{icmp.NewProtocol4, icmp.NewProtocol6},
	})
	if err := gv.CreateNIC(nicID, newDualBridge(memG)); err != nil {
		t.Fatalf("gVisor CreateNIC: %v", err)
	}
	var routes []tcpip.Route
	for _, pa := range []tcpip.ProtocolAddress{
		{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(gvAddr.As4()), PrefixLen: gvPrefix.Bits()}},
		{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(gv6Prefix.Addr().As16()), PrefixLen: gv6Prefix.Bits()}},
	} {
		if err := gv.AddProtocolAddress(nicID, pa, gvstack.AddressProperties{}); err != nil {
			t.Fatalf("gVisor AddProtocolAddress: %v", err)
		}
		routes = append(routes, tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID})
	}
	gv.SetRouteTable(routes)

	h := berth.NewHost(berth.Options{Name: "berth", Seed: 1, Owner: "gvisorpeer"})
	if err := h.AddLink(memB, berthPrefix); err != nil {
		t.Fatalf("berth AddLink: %v", err)
	}
	if err := h.Stack().AddAddress("link0", berth6Prefix); err != nil {
		t.Fatalf("berth AddAddress: %v", err)
	}
	t.Cleanup(func() {
		h.Close()
		gv.Destroy()
	})
	return h, gv
}

// gvPing6 sends one echo request from gVisor's ping endpoint to dst and
// returns the reply's ICMPv6 message.
func gvPing6(t *testing.T, gv *gvstack.Stack, dst netip.Addr, seq uint16, data []byte) header.ICMPv6 {
	t.Helper()
	var wq waiter.Queue
	ep, err := gv.NewEndpoint(icmp.ProtocolNumber6, ipv6.ProtocolNumber, &wq)
	if err != nil {
		t.Fatalf("gVisor ping endpoint: %v", err)
	}
	defer ep.Close()
	we, ready := waiter.NewChannelEntry(waiter.ReadableEvents)
	wq.EventRegister(&we)
	defer wq.EventUnregister(&we)
	if err := ep.Connect(tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom16(dst.As16())}); err != nil {
		t.Fatalf("gVisor connect: %v", err)
	}
	req := header.ICMPv6(make([]byte, header.ICMPv6EchoMinimumSize+len(data)))
	req.SetType(header.ICMPv6EchoRequest)
	req.SetSequence(seq)
	copy(req.Payload(), data)
	var r bytes.Reader
	r.Reset(req)
	if _, err := ep.Write(&r, tcpip.WriteOptions{}); err != nil {
		t.Fatalf("gVisor write: %v", err)
	}
	deadline := time.After(10 * time.Second)
	for {
		var out bytes.Buffer
		_, err := ep.Read(&out, tcpip.ReadOptions{})
		if _, wait := err.(*tcpip.ErrWouldBlock); wait {
			select {
			case <-ready:
				continue
			case <-deadline:
				t.Fatalf("gVisor ping %v seq %d: no reply", dst, seq)
			}
		}
		if err != nil {
			t.Fatalf("gVisor read: %v", err)
		}
		return header.ICMPv6(out.Bytes())
	}
}

// berth and gVisor ping each other's IPv6 addresses over an L3 link, a
// small echo and one fragmented both ways (3000 bytes over 1500), and IPv4
// works beside.
func TestPing6BerthAndGVisor(t *testing.T) {
	h, gv := newPeers6(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, size := range []int{56, 3000} {
		r, err := h.Ping(ctx, gv6Prefix.Addr(), uint16(i), size)
		if err != nil {
			t.Fatalf("berth ping gVisor size %d: %v", size, err)
		}
		if r.From != gv6Prefix.Addr() || r.Size != size || r.TTL != 64 {
			t.Fatalf("berth ping gVisor: reply %+v", r)
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(j * 13)
		}
		m := gvPing6(t, gv, berth6Prefix.Addr(), uint16(100+i), data)
		if m.Type() != header.ICMPv6EchoReply || m.Code() != 0 || m.Sequence() != uint16(100+i) || !bytes.Equal(m.Payload(), data) {
			t.Fatalf("gVisor ping berth size %d: reply type %d seq %d, %d data bytes", size, m.Type(), m.Sequence(), len(m.Payload()))
		}
	}
	if _, err := h.Ping(ctx, gvAddr, 9, 56); err != nil {
		t.Fatalf("berth ping gVisor over IPv4: %v", err)
	}
	st := h.Stack().Stats()
	if st.Ip6.InHdrErrors != 0 || st.Icmp6.InErrors != 0 {
		t.Fatalf("berth rejected some of gVisor's packets: %+v %+v", st.Ip6, st.Icmp6)
	}
	if st.Icmp6.InEchos != 2 || st.Icmp6.OutEchoReplies != 2 || st.Icmp6.InEchoReplies != 2 ||
		st.Ip6.ReasmOKs != 2 || st.Ip6.FragOKs != 2 {
		t.Fatalf("berth counters %+v %+v", st.Ip6, st.Icmp6)
	}
	gs := gv.Stats()
	if n := gs.ICMP.V6.PacketsReceived.EchoRequest.Value(); n != 2 {
		t.Fatalf("gVisor answered %d echo requests, want 2", n)
	}
	if n := gs.IP.MalformedPacketsReceived.Value(); n != 0 {
		t.Fatalf("gVisor found %d of berth's packets malformed", n)
	}
}
