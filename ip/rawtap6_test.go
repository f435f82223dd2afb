package ip

import (
	"bytes"
	"slices"
	"testing"

	"berth/wire"
)

// tapRec is a raw tap that records what it sees and takes the protocols
// in take.
type tapRec struct {
	take     map[uint8]bool
	protos   []uint8
	payloads [][]byte
}

func (r *tapRec) tap(p *Packet) bool {
	if p.Header6 == nil || p.Header != nil {
		panic("an IPv6 packet without Header6, or with Header")
	}
	r.protos = append(r.protos, p.Protocol)
	r.payloads = append(r.payloads, slices.Clone(p.Payload))
	return r.take[p.Protocol]
}

// The raw tap sees IPv6 packets whole, reassembled, matched on the Next
// Header that ends the extension-header chain, with the upper-layer
// payload. A protocol the tap took draws no Parameter Problem (RFC 8200 §4
// asks for one only when the Next Header is not recognised); one it did
// not take does, and an echo request is answered whatever the tap says.
func TestRawTap6SeesUpperLayerAndSilencesParamProblem(t *testing.T) {
	l, ifc, wl := newLayer6(t, 1500)
	rec := &tapRec{take: map[uint8]bool{253: true, wire.ProtoICMPv6: true}}
	l.SetRawTap(rec.tap)

	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoDstOpts, cat(ext(253, nil), []byte("behind options"))))
	whole := pattern(3000)
	for _, f := range fragments6(253, 7, whole, 1232, 1232, 1232) {
		l.Input(epoch, ifc, slices.Clone(f))
	}
	if out := wl.take(); len(out) != 0 {
		t.Fatalf("sent %d packets for protocol 253, which the tap took", len(out))
	}
	if s := l.Stats6; s.InUnknownProtos != 0 || s.InDelivers != 2 {
		t.Fatalf("%+v", s)
	}

	l.Input(epoch, ifc, pkt6(host6A, host6B, 254, []byte("nobody")))
	out := wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d packets for protocol 254, want a Parameter Problem", len(out))
	}
	if _, m := mustICMP6(t, out[0]); m.Type() != wire.ICMPv6ParamProblem || m.Code() != wire.ICMPv6ParamNextHeader || m.Pointer() != 6 {
		t.Fatalf("sent % x", m)
	}

	req := echo6(host6A, host6B, 9, 1, []byte("ping"))
	l.Input(epoch, ifc, pkt6(host6A, host6B, wire.ProtoICMPv6, req))
	out = wl.take()
	if len(out) != 1 {
		t.Fatalf("sent %d packets for an echo request", len(out))
	}
	if _, m := mustICMP6(t, out[0]); m.Type() != wire.ICMPv6EchoReply {
		t.Fatalf("sent % x, want the echo reply", m)
	}

	if !slices.Equal(rec.protos, []uint8{253, 253, 254, wire.ProtoICMPv6}) {
		t.Fatalf("tap saw protocols %v", rec.protos)
	}
	if string(rec.payloads[0]) != "behind options" || !bytes.Equal(rec.payloads[1], whole) ||
		string(rec.payloads[2]) != "nobody" || !bytes.Equal(rec.payloads[3], req) {
		t.Fatalf("tap saw payloads %q", rec.payloads)
	}
}
