package tcp

import (
	"net/netip"
	"testing"

	"berth/wire"
)

// Over IPv6 a peer that sends no MSS option is assumed to take 1220 bytes
// (RFC 8200 §8.3: the minimum MTU of 1280 less 60 bytes of headers), not
// IPv4's 536.
func TestIPv6DefaultMSS(t *testing.T) {
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"[2001:2::2]:80", 1220},
		{"198.18.0.2:80", 536},
		{"[::ffff:198.18.0.2]:80", 536}, // IPv4-mapped: an IPv4 peer
	} {
		h := newHarness(t, nil)
		remote := netip.MustParseAddrPort(tc.remote)
		local := netip.MustParseAddrPort("[2001:2::1]:40000")
		if remote.Addr().Unmap().Is4() {
			local = addrA
		}
		c := Connect(h.now, h.cfg, local, remote, 1440, h.rec)
		syn := h.rec.take()[0].seg
		ack := Segment{Seq: 300, Ack: syn.Seq + 1, Flags: wire.FlagSYN | wire.FlagACK, Window: 65535}
		c.Input(h.now, &ack)
		if got := c.Info().SndMSS; got != tc.want {
			t.Errorf("%s without an MSS option: MSS %d, want %d", tc.remote, got, tc.want)
		}
	}
}

// A dual-stack IPv6 listener advertises the MSS of each connection's own
// family: its IPv4 connections carry 20 bytes of header less (RFC 6691).
func TestDualStackListenerMSS(t *testing.T) {
	h := newHarness(t, nil)
	any6 := netip.MustParseAddrPort("[::]:80")
	for _, tc := range []struct {
		remote, local string
		want          uint16
	}{
		{"198.18.0.1:40000", "198.18.0.2:80", 1460},
		{"[2001:2::1]:40000", "[2001:2::2]:80", 1440},
	} {
		l := NewListener(h.cfg, any6, 8, 1440, h.rec)
		s := parseSeg(t, "<SEQ=100><CTL=SYN>")
		s.Options.MSS = 1460
		if c := l.Input(h.now, netip.MustParseAddrPort(tc.remote), netip.MustParseAddrPort(tc.local), &s); c == nil {
			t.Fatal("no connection")
		}
		if got := h.rec.take()[0].seg.Options.MSS; got != tc.want {
			t.Errorf("SYN-ACK to %s: MSS %d, want %d", tc.remote, got, tc.want)
		}
	}
}
