package tcp

import (
	"net/netip"
	"testing"
)

// A connection numbers the datagrams carrying its segments itself, one
// after another from a start taken from its ISS, whatever other
// connections send in between (RFC 6864 §4.1, Linux's inet_id).
func TestIPIDPerConnection(t *testing.T) {
	h := newHarness(t, nil)
	a := h.establish()          // SYN and ACK: ids start, start+1
	start := h.cfg.seg.IPID - 1 // emit leaves the last segment in cfg.seg
	if want := uint16(100); start != want {
		t.Fatalf("first id %d, want %d (from the ISS, 100)", start, want)
	}
	other := netip.MustParseAddrPort("198.18.0.3:80")
	a.SetNoDelay(h.now, true)
	for i := range 3 {
		Connect(h.now, h.cfg, addrA, other, 1460, h.rec) // another connection sends in between
		h.rec.take()
		a.Write(h.now, []byte("x"))
		if got, want := h.rec.take()[0].seg.IPID, start+2+uint16(i); got != want {
			t.Fatalf("segment %d: IPID %d, want %d", i, got, want)
		}
	}
}
