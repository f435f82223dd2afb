package gvisorpeer

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"berth"
	"berth/link"
	"berth/link/fault"
	"berth/link/mem"
	"berth/link/pcap"
)

var pcapDir = flag.String("pcap", "", "capture berth's side of every test's link to `DIR`/TEST.pcap")

// The two ends of the link, in RFC 2544's benchmark range.
var (
	gvPrefix    = netip.MustParsePrefix("198.18.0.1/24")
	berthPrefix = netip.MustParsePrefix("198.18.0.2/24")
	gvAddr      = gvPrefix.Addr()
	berthAddr   = berthPrefix.Addr()
)

const nicID = 1

// peers is a berth host and a gVisor stack on the two ends of a mem pair.
// Berth's end is wrapped, from the stack outward, by an optional capture
// (what berth itself sent and received) and an optional fault injector
// impairing both directions.
type peers struct {
	h      *berth.Host
	gv     *gvstack.Stack
	br     *bridge
	faults *fault.Link // nil on a clean link
	memB   *mem.Link   // berth's end of the pair
	memG   *mem.Link   // gVisor's end of the pair
}

// setup says how to build the link between the stacks.
type setup struct {
	// faults, if any, wrap berth's end of the link in
	// fault.Wrap(On(Both), faults...), so every packet either way meets
	// the same seeded impairments.
	faults []fault.Option
	// tap, if set, receives a pcap capture of what berth sent and received.
	tap io.Writer
}

// newPeers builds the two stacks and the link between them.
func newPeers(t *testing.T, su setup) *peers {
	t.Helper()
	p := &peers{}
	p.memB, p.memG = mem.Pair()

	var bl link.Link = p.memB
	if len(su.faults) > 0 {
		p.faults = fault.Wrap(p.memB, append([]fault.Option{fault.On(fault.Both)}, su.faults...)...)
		bl = p.faults
	}
	if su.tap != nil {
		pl, err := pcap.Wrap(bl, su.tap)
		if err != nil {
			t.Fatal(err)
		}
		bl = pl
	}
	var gl link.Link = p.memG
	if *pcapDir != "" {
		bl = capture(t, bl, "berth")
		gl = capture(t, gl, "gvisor")
	}

	p.gv = gvstack.New(gvstack.Options{
		NetworkProtocols:   []gvstack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []gvstack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	p.br = newBridge(gl)
	if err := p.gv.CreateNIC(nicID, p.br); err != nil {
		t.Fatalf("gVisor CreateNIC: %v", err)
	}
	pa := tcpip.ProtocolAddress{
		Protocol:          ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(gvAddr.As4()), PrefixLen: gvPrefix.Bits()},
	}
	if err := p.gv.AddProtocolAddress(nicID, pa, gvstack.AddressProperties{}); err != nil {
		t.Fatalf("gVisor AddProtocolAddress: %v", err)
	}
	p.gv.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: nicID}})

	p.h = berth.NewHost(berth.Options{Name: "berth", Seed: 1, Owner: "gvisorpeer"})
	if err := p.h.AddLink(bl, berthPrefix); err != nil {
		t.Fatalf("berth AddLink: %v", err)
	}
	t.Cleanup(func() {
		p.h.Close() // closes berth's links, and with them the mem pair
		p.gv.Destroy()
	})
	return p
}

// capture wraps l in a pcap capture to -pcap DIR/TEST-side.pcap: on
// berth's side, what berth sent (before the faults) and received (after
// them); on gVisor's side, the same for gVisor.
func capture(t *testing.T, l link.Link, side string) link.Link {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + side + ".pcap"
	f, err := os.Create(filepath.Join(*pcapDir, name))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := pcap.Wrap(l, bufio.NewWriterSize(f, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pl.Close() // flushes; the link is already closed by then
		f.Close()
		t.Logf("capture: %s", f.Name())
	})
	return pl
}

// gvListen listens on gVisor's address.
func (p *peers) gvListen(t *testing.T, port uint16) *gonet.TCPListener {
	t.Helper()
	ln, err := gonet.ListenTCP(p.gv, tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(gvAddr.As4()), Port: port}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatalf("gVisor listen :%d: %v", port, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// gvDial connects from gVisor to berth.
func (p *peers) gvDial(ctx context.Context, port uint16) (*gonet.TCPConn, error) {
	return gonet.DialContextTCP(ctx, p.gv, tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(berthAddr.As4()), Port: port}, ipv4.ProtocolNumber)
}

// berthListen listens on berth's address.
func (p *peers) berthListen(t *testing.T, port uint16) net.Listener {
	t.Helper()
	ln, err := p.h.Listen("tcp", netip.AddrPortFrom(berthAddr, port).String())
	if err != nil {
		t.Fatalf("berth listen :%d: %v", port, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// berthDial connects from berth to gVisor.
func (p *peers) berthDial(ctx context.Context, port uint16) (net.Conn, error) {
	return p.h.DialContext(ctx, "tcp", netip.AddrPortFrom(gvAddr, port).String())
}

// diagnose describes both stacks and the link: what a reader needs to tell
// a stall from a loss from a bug.
func (p *peers) diagnose() string {
	var b strings.Builder
	fmt.Fprintf(&b, "berth sockets:\n")
	for _, s := range p.h.Sockets() {
		fmt.Fprintf(&b, "  %s %s -> %s %s recvq=%d sendq=%d rx=%d tx=%d drops=%d rtt=%v rto=%v cwnd=%d ssthresh=%d retrans=%d\n",
			s.Proto, s.Local, s.Remote, s.State, s.RecvQ, s.SendQ, s.RxPackets, s.TxPackets, s.Drops,
			s.RTT, s.RTO, s.Cwnd, s.Ssthresh, s.Retransmits)
	}
	fmt.Fprintf(&b, "berth tcp counters: %+v\n", p.h.Stack().Stats().Tcp)
	fmt.Fprintf(&b, "berth ip counters: %+v\n", p.h.Stack().Stats().Ip)
	fmt.Fprintf(&b, "gVisor tcp counters (non-zero): %s\n", nonZero(p.gv.Stats().TCP))
	fmt.Fprintf(&b, "gVisor ip counters (non-zero): %s\n", nonZero(p.gv.Stats().IP))
	fmt.Fprintf(&b, "mem berth end: %+v\nmem gVisor end: %+v\n", p.memB.Stats(), p.memG.Stats())
	fmt.Fprintf(&b, "bridge: rxDropped=%d txErrors=%d\n", p.br.rxDropped.Load(), p.br.txErrors.Load())
	if p.faults != nil {
		fmt.Fprintf(&b, "faults outbound (berth→gVisor): %+v\n", p.faults.StatsOf(fault.Outbound))
		fmt.Fprintf(&b, "faults inbound (gVisor→berth): %+v\n", p.faults.StatsOf(fault.Inbound))
	}
	return b.String()
}

// nonZero lists the non-zero *tcpip.StatCounter fields of a gVisor stats
// struct, descending into nested structs.
func nonZero(stats any) string {
	var parts []string
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		if v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return
			}
			if c, ok := v.Interface().(*tcpip.StatCounter); ok {
				if n := c.Value(); n != 0 {
					parts = append(parts, fmt.Sprintf("%s=%d", prefix, n))
				}
				return
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if prefix != "" {
				name = prefix + "." + name
			}
			walk(name, v.Field(i))
		}
	}
	walk("", reflect.ValueOf(stats))
	return strings.Join(parts, " ")
}
