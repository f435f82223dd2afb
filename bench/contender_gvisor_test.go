package bench

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// gvLink is one end of an in-memory link pair for gVisor, built like
// link/mem so that both stacks pay the same for the wire: WritePackets
// copies each packet once into a (pooled) view and queues it on a bounded
// channel, dropping when full; one goroutine per direction delivers the
// peer's queue to this end's dispatcher.
type gvLink struct {
	mtu  uint32
	out  chan *buffer.View
	peer *gvLink
	p    *gvPair
	disp atomic.Pointer[dispatcherBox]

	dropped atomic.Uint64
}

type dispatcherBox struct{ d gvstack.NetworkDispatcher }

type gvPair struct {
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

var _ gvstack.LinkEndpoint = (*gvLink)(nil)

func newGVPair(mtu, queueLen int) (a, b *gvLink) {
	p := &gvPair{done: make(chan struct{})}
	a = &gvLink{mtu: uint32(mtu), out: make(chan *buffer.View, queueLen), p: p}
	b = &gvLink{mtu: uint32(mtu), out: make(chan *buffer.View, queueLen), p: p}
	a.peer, b.peer = b, a
	p.wg.Add(2)
	go a.run()
	go b.run()
	return a, b
}

// run delivers what l's stack wrote to the peer's stack.
func (l *gvLink) run() {
	defer l.p.wg.Done()
	for {
		select {
		case <-l.p.done:
			return
		case v := <-l.out:
			box := l.peer.disp.Load()
			if box == nil {
				v.Release()
				continue
			}
			pkt := gvstack.NewPacketBuffer(gvstack.PacketBufferOptions{Payload: buffer.MakeWithView(v)})
			box.d.DeliverNetworkPacket(header.IPv4ProtocolNumber, pkt)
			pkt.DecRef()
		}
	}
}

func (l *gvLink) WritePackets(pkts gvstack.PacketBufferList) (int, tcpip.Error) {
	select {
	case <-l.p.done:
		return 0, &tcpip.ErrClosedForSend{}
	default:
	}
	for _, pkt := range pkts.AsSlice() {
		v := pkt.ToView()
		select {
		case l.out <- v:
		default:
			v.Release()
			l.dropped.Add(1)
		}
	}
	return pkts.Len(), nil
}

func (l *gvLink) MTU() uint32                                    { return l.mtu }
func (l *gvLink) SetMTU(mtu uint32)                              { l.mtu = mtu }
func (l *gvLink) MaxHeaderLength() uint16                        { return 0 }
func (l *gvLink) LinkAddress() tcpip.LinkAddress                 { return "" }
func (l *gvLink) SetLinkAddress(tcpip.LinkAddress)               {}
func (l *gvLink) Capabilities() gvstack.LinkEndpointCapabilities { return 0 }
func (l *gvLink) IsAttached() bool                               { return l.disp.Load() != nil }
func (l *gvLink) Wait()                                          {}
func (l *gvLink) ARPHardwareType() header.ARPHardwareType        { return header.ARPHardwareNone }
func (l *gvLink) AddHeader(*gvstack.PacketBuffer)                {}
func (l *gvLink) ParseHeader(*gvstack.PacketBuffer) bool         { return true }
func (l *gvLink) SetOnCloseAction(func())                        {}

func (l *gvLink) Attach(d gvstack.NetworkDispatcher) {
	if d == nil {
		l.disp.Store(nil)
		return
	}
	l.disp.Store(&dispatcherBox{d})
}

// Close stops both ends and waits for their goroutines; idempotent.
func (l *gvLink) Close() {
	l.p.once.Do(func() { close(l.p.done) })
	l.p.wg.Wait()
}

// gvisorHosts returns two gVisor stacks, A (198.18.0.1) and B
// (198.18.0.2), with IPv4, UDP and TCP, joined by a gvLink pair. Options
// are gVisor's defaults.
func gvisorHosts(tb testing.TB, mtu int) (a, b *gvstack.Stack) {
	tb.Helper()
	la, lb := newGVPair(mtu, linkQueueLen)
	newStack := func(l *gvLink, addr [4]byte) *gvstack.Stack {
		s := gvstack.New(gvstack.Options{
			NetworkProtocols:   []gvstack.NetworkProtocolFactory{ipv4.NewProtocol},
			TransportProtocols: []gvstack.TransportProtocolFactory{udp.NewProtocol, tcp.NewProtocol},
		})
		if err := s.CreateNIC(1, l); err != nil {
			tb.Fatalf("CreateNIC: %v", err)
		}
		pa := tcpip.ProtocolAddress{
			Protocol:          ipv4.ProtocolNumber,
			AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(addr), PrefixLen: 24},
		}
		if err := s.AddProtocolAddress(1, pa, gvstack.AddressProperties{}); err != nil {
			tb.Fatalf("AddProtocolAddress: %v", err)
		}
		s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: 1}})
		return s
	}
	a, b = newStack(la, addrA), newStack(lb, addrB)
	tb.Cleanup(func() {
		la.Close()
		a.Destroy()
		b.Destroy()
	})
	return a, b
}

// gvisorUDP: two gVisor stacks over gvLink, sockets through gonet (as
// gonet.DialUDP builds them, with the receive buffer set first).
func gvisorUDP(tb testing.TB) *udpPair {
	tb.Helper()
	a, b := gvisorHosts(tb, 1500)
	open := func(s *gvstack.Stack, addr [4]byte) *gonet.UDPConn {
		var wq waiter.Queue
		ep, err := s.NewEndpoint(udp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
		if err != nil {
			tb.Fatalf("NewEndpoint: %v", err)
		}
		ep.SocketOptions().SetReceiveBufferSize(udpRcvBuf, true)
		if err := ep.Bind(tcpip.FullAddress{Addr: tcpip.AddrFrom4(addr)}); err != nil {
			tb.Fatalf("Bind: %v", err)
		}
		c := gonet.NewUDPConn(&wq, ep)
		tb.Cleanup(func() { c.Close() })
		return c
	}
	tx, rx := open(a, addrA), open(b, addrB)
	to := rx.LocalAddr().(*net.UDPAddr)
	to.IP = to.IP.To4() // gonet takes the slice as the address's length
	return &udpPair{tx: tx, rx: rx, to: to}
}

// gvisorTCP: two gVisor stacks over gvLink with the given MTU; A dials, B
// listens, through gonet.
func gvisorTCP(tb testing.TB, mtu int) *tcpNet {
	tb.Helper()
	a, b := gvisorHosts(tb, mtu)
	return &tcpNet{
		listen: func() (net.Listener, error) {
			return gonet.ListenTCP(b, tcpip.FullAddress{Addr: tcpip.AddrFrom4(addrB)}, ipv4.ProtocolNumber)
		},
		dial: func(ctx context.Context, to net.Addr) (net.Conn, error) {
			ta, ok := to.(*net.TCPAddr)
			if !ok || ta.IP.To4() == nil {
				return nil, errors.New("gvisor dial: not an IPv4 TCP address")
			}
			fa := tcpip.FullAddress{Addr: tcpip.AddrFromSlice(ta.IP.To4()), Port: uint16(ta.Port)}
			return gonet.DialContextTCP(ctx, a, fa, ipv4.ProtocolNumber)
		},
	}
}
