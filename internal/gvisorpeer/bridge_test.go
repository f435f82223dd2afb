package gvisorpeer

import (
	"sync/atomic"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	gvstack "gvisor.dev/gvisor/pkg/tcpip/stack"

	"berth/link"
)

// bridge is a gVisor LinkEndpoint over a berth link.Link: what gVisor's
// NIC writes goes out through the link's Write, and what the link delivers
// is handed to gVisor's dispatcher. Both carry bare IPv4 packets, so the
// bridge adds no link-layer header and resolves no addresses.
//
// Ownership follows each side's contract: link.Link.Write copies, so a
// packet's view is released as soon as Write returns; a slice delivered by
// the link is lent for the call only, so it is copied into a gVisor buffer
// before gVisor sees it (gVisor may queue it for its TCP processors).
type bridge struct {
	l    link.Link
	mtu  atomic.Uint32
	disp atomic.Pointer[dispatcherBox]

	rxDropped atomic.Uint64 // packets that arrived with no dispatcher attached
	txErrors  atomic.Uint64 // packets the link refused (closed, too big)
}

type dispatcherBox struct{ d gvstack.NetworkDispatcher }

var _ gvstack.LinkEndpoint = (*bridge)(nil)

// newBridge attaches a bridge as l's receiver. Packets that arrive before
// gVisor attaches its NIC are dropped and counted.
func newBridge(l link.Link) *bridge {
	b := &bridge{l: l}
	b.mtu.Store(uint32(l.MTU()))
	l.Attach(link.ReceiverFunc(b.deliver))
	return b
}

// deliver runs on the link's delivering goroutine, one packet at a time.
func (b *bridge) deliver(pkt []byte) {
	box := b.disp.Load()
	if box == nil || len(pkt) == 0 || header.IPVersion(pkt) != header.IPv4Version {
		b.rxDropped.Add(1)
		return
	}
	pb := gvstack.NewPacketBuffer(gvstack.PacketBufferOptions{Payload: buffer.MakeWithData(pkt)})
	box.d.DeliverNetworkPacket(header.IPv4ProtocolNumber, pb)
	pb.DecRef()
}

// WritePackets hands gVisor's packets to the link in one batch. gVisor may
// call it from several goroutines at once; link.Link.Write is safe for that.
func (b *bridge) WritePackets(pkts gvstack.PacketBufferList) (int, tcpip.Error) {
	list := pkts.AsSlice()
	views := make([]*buffer.View, len(list))
	raw := make([][]byte, len(list))
	for i, pkt := range list {
		views[i] = pkt.ToView()
		raw[i] = views[i].AsSlice()
	}
	n, err := b.l.Write(raw)
	for _, v := range views {
		v.Release()
	}
	switch err {
	case nil:
		return n, nil
	case link.ErrTooBig:
		b.txErrors.Add(uint64(len(list) - n))
		if n > 0 {
			return n, nil
		}
		return 0, &tcpip.ErrMessageTooLong{}
	default:
		b.txErrors.Add(uint64(len(list) - n))
		return n, &tcpip.ErrClosedForSend{}
	}
}

func (b *bridge) MTU() uint32                                    { return b.mtu.Load() }
func (b *bridge) SetMTU(mtu uint32)                              { b.mtu.Store(mtu) }
func (b *bridge) MaxHeaderLength() uint16                        { return 0 }
func (b *bridge) LinkAddress() tcpip.LinkAddress                 { return "" }
func (b *bridge) SetLinkAddress(tcpip.LinkAddress)               {}
func (b *bridge) Capabilities() gvstack.LinkEndpointCapabilities { return 0 }
func (b *bridge) IsAttached() bool                               { return b.disp.Load() != nil }
func (b *bridge) Wait()                                          {}
func (b *bridge) ARPHardwareType() header.ARPHardwareType        { return header.ARPHardwareNone }
func (b *bridge) AddHeader(*gvstack.PacketBuffer)                {}
func (b *bridge) ParseHeader(*gvstack.PacketBuffer) bool         { return true }
func (b *bridge) SetOnCloseAction(func())                        {}

// Attach is gVisor's NIC attaching (or, with nil, detaching) its dispatcher.
func (b *bridge) Attach(d gvstack.NetworkDispatcher) {
	if d == nil {
		b.disp.Store(nil)
		return
	}
	b.disp.Store(&dispatcherBox{d})
}

// Close detaches gVisor. The link itself belongs to the test, which closes
// it with the berth host.
func (b *bridge) Close() { b.disp.Store(nil) }
