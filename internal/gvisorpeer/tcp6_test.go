package gvisorpeer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"berth"
	"berth/link/mem"
)

// newTCPPeers6 is newPeers6 with TCP on the gVisor side: a dual-stack
// berth host and gVisor stack on the two ends of a 1500-byte mem pair.
func newTCPPeers6(t *testing.T) (*berth.Host, *gvstack.Stack) {
	t.Helper()
	memB, memG := mem.Pair()
	gv := gvstack.New(gvstack.Options{
		NetworkProtocols: []gvstack.NetworkProtocolFactory{
			ipv4.NewProtocol,
			ipv6.NewProtocolWithOptions(ipv6.Options{DADConfigs: gvstack.DADConfigurations{DupAddrDetectTransmits: 0}}),
		},
		TransportProtocols: []gvstack.TransportProtocolFactory{tcp.NewProtocol},
	})
	if err := gv.CreateNIC(nicID, newDualBridge(memG)); err != nil {
		t.Fatalf("gVisor CreateNIC: %v", err)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(gv6Prefix.Addr().As16()), PrefixLen: gv6Prefix.Bits()}}
	if err := gv.AddProtocolAddress(nicID, pa, gvstack.AddressProperties{}); err != nil {
		t.Fatalf("gVisor AddProtocolAddress: %v", err)
	}
	gv.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}})

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

func gvFull6(a netip.Addr, port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom16(a.As16()), Port: port}
}

// The echo exchange of the IPv4 handshake tests, over IPv6, both ways:
// greeting, messages up to 5000 bytes, half-close, goodbye.
func TestTCP6EchoBerthAndGVisor(t *testing.T) {
	h, gv := newTCPPeers6(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// gVisor dials berth.
	bl, err := h.Listen("tcp6", ":7")
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	done := make(chan error, 1)
	go func() {
		c, err := bl.Accept()
		if err != nil {
			done <- err
			return
		}
		done <- serveEcho(c, "berth6")
	}()
	gc, err := gonet.DialContextTCP(ctx, gv, gvFull6(berth6Prefix.Addr(), 7), ipv6.ProtocolNumber)
	if err != nil {
		t.Fatalf("gVisor dial berth over IPv6: %v", err)
	}
	if err := runEchoClient(gc, "berth6"); err != nil {
		t.Fatalf("gVisor client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("berth server: %v", err)
	}

	// berth dials gVisor.
	gl, err := gonet.ListenTCP(gv, gvFull6(gv6Prefix.Addr(), 8), ipv6.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer gl.Close()
	go func() {
		c, err := gl.Accept()
		if err != nil {
			done <- err
			return
		}
		done <- serveEcho(c, "gvisor6")
	}()
	bc, err := h.DialContext(ctx, "tcp", "[2001:2::1]:8")
	if err != nil {
		t.Fatalf("berth dial gVisor over IPv6: %v", err)
	}
	if err := runEchoClient(bc, "gvisor6"); err != nil {
		t.Fatalf("berth client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("gVisor server: %v", err)
	}
	st := h.Stack().Stats()
	if st.Tcp.InErrs != 0 || st.Ip6.InHdrErrors != 0 {
		t.Fatalf("berth rejected some of gVisor's segments: tcp %+v ip6 %+v", st.Tcp, st.Ip6)
	}
	if n := gv.Stats().TCP.ChecksumErrors.Value(); n != 0 {
		t.Fatalf("gVisor found %d bad checksums in berth's segments", n)
	}
}

// A mebibyte from berth to gVisor over IPv6 arrives whole (SHA-256), in
// segments of the MSS gVisor offers for an IPv6 route.
func TestTCP6TransferBerthToGVisor(t *testing.T) {
	h, gv := newTCPPeers6(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	gl, err := gonet.ListenTCP(gv, gvFull6(gv6Prefix.Addr(), 9), ipv6.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer gl.Close()
	sums := make(chan [32]byte, 1)
	go func() {
		c, err := gl.Accept()
		if err != nil {
			close(sums)
			return
		}
		defer c.Close()
		hs := sha256.New()
		io.Copy(hs, c)
		var s [32]byte
		copy(s[:], hs.Sum(nil))
		sums <- s
	}()
	c, err := h.DialContext(ctx, "tcp6", "[2001:2::1]:9")
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i ^ i>>9)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	// gVisor offers 1500 - 60 for its IPv6 route; timestamps, if it
	// takes them, cost 12 bytes of each segment.
	var row berth.Socket
	for _, s := range h.Sockets() {
		if s.Proto == "tcp" && s.Remote.Port() == 9 {
			row = s
		}
	}
	if row.MSS != 1500-60 && row.MSS != 1500-60-12 {
		t.Fatalf("berth's MSS toward gVisor over IPv6: %d (row %+v)", row.MSS, row)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	select {
	case got, ok := <-sums:
		if want := sha256.Sum256(msg); !ok || !bytes.Equal(got[:], want[:]) {
			t.Fatal("gVisor received other bytes than berth sent")
		}
	case <-ctx.Done():
		t.Fatal("transfer did not finish")
	}
	c.Close()
}
