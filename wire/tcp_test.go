package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// optionsFromGopacket interprets gopacket's option list, the independent
// decoding, the way TCPOptions should: ok is false when a known option has
// a length its RFC does not allow.
func optionsFromGopacket(opts []layers.TCPOption) (o TCPOptions, ok bool) {
	for _, opt := range opts {
		d := opt.OptionData
		switch opt.OptionType {
		case layers.TCPOptionKindEndList:
			return o, true
		case layers.TCPOptionKindMSS:
			if len(d) != 2 {
				return o, false
			}
			o.MSS = binary.BigEndian.Uint16(d)
		case layers.TCPOptionKindWindowScale:
			if len(d) != 1 {
				return o, false
			}
			o.WindowScale, o.HasWindowScale = d[0], true
		case layers.TCPOptionKindSACKPermitted:
			if len(d) != 0 {
				return o, false
			}
			o.SACKPermitted = true
		case layers.TCPOptionKindTimestamps:
			if len(d) != 8 {
				return o, false
			}
			o.HasTimestamp = true
			o.TSVal, o.TSEcr = binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		case layers.TCPOptionKindSACK:
			if len(d) == 0 || len(d)%8 != 0 {
				return o, false
			}
			o.SACK, o.NumSACK = [4]SACKBlock{}, uint8(len(d)/8)
			for k := range len(d) / 8 {
				o.SACK[k] = SACKBlock{binary.BigEndian.Uint32(d[8*k:]), binary.BigEndian.Uint32(d[8*k+4:])}
			}
		}
	}
	return o, true
}

// compareTCP checks the view against gopacket's decoding of the same bytes.
func compareTCP(t testing.TB, v TCP, g *layers.TCP) {
	t.Helper()
	var f TCPFlags
	for i, set := range []bool{g.FIN, g.SYN, g.RST, g.PSH, g.ACK, g.URG, g.ECE, g.CWR} {
		if set {
			f |= 1 << i
		}
	}
	if v.SrcPort() != uint16(g.SrcPort) || v.DstPort() != uint16(g.DstPort) || v.Seq() != g.Seq || v.Ack() != g.Ack ||
		v.DataOffset() != int(g.DataOffset)*4 || v.Flags() != f || v.Window() != g.Window ||
		v.Checksum() != g.Checksum || v.Urgent() != g.Urgent || !bytes.Equal(v.Payload(), g.Payload) {
		t.Fatalf("view %v disagrees with gopacket %+v", mustParseTCP(t, v), g)
	}
	want, ok := optionsFromGopacket(g.Options)
	got, err := ParseTCPOptions(v.Options())
	if (err == nil) != ok {
		t.Fatalf("options %x: our error %v, gopacket-derived ok %v", v.Options(), err, ok)
	}
	if ok && got != want {
		t.Fatalf("options %x:\n got %+v\nwant %+v", v.Options(), got, want)
	}
}

func mustParseTCP(t testing.TB, v TCP) TCPRepr {
	t.Helper()
	r, err := ParseTCP(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func gopacketTCP(t testing.TB, b []byte) *layers.TCP {
	t.Helper()
	var g layers.TCP
	if err := g.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("gopacket: %v", err)
	}
	return &g
}

// TestTCP_LinuxPackets parses every TCP segment Linux built, checks it
// against gopacket, and emits it again: byte for byte the same, which pins
// Emit's option layout to Linux's tcp_options_write.
func TestTCP_LinuxPackets(t *testing.T) {
	for _, name := range linuxPacketNames(t, "tcp_") {
		t.Run(name, func(t *testing.T) {
			ip, p := linuxTransport(t, name)
			v, err := NewTCP(p)
			if err != nil {
				t.Fatal(err)
			}
			if !v.ChecksumValid(ip.Src(), ip.Dst()) {
				t.Fatal("Linux's checksum does not verify")
			}
			compareTCP(t, v, gopacketTCP(t, p))
			r := mustParseTCP(t, v)
			out := make([]byte, len(p))
			copy(out[r.HeaderLen():], v.Payload())
			r.Emit(out, len(v.Payload()), ip.Src(), ip.Dst())
			if !bytes.Equal(out, p) {
				t.Fatalf("emit differs from Linux:\n got %x\nwant %x", out, p)
			}
		})
	}
}

func TestTCP_LinuxStrings(t *testing.T) {
	for _, tc := range []struct {
		name string
		want func(r TCPRepr) string // Linux chose the ISNs and timestamps
	}{
		{"tcp_syn_ts_sack_ws", func(r TCPRepr) string {
			return "S seq " + u32(r.Seq) + " win 64240 <mss 1460,sackOK,TS val " + u32(r.Options.TSVal) + " ecr 0,nop,wscale 10>"
		}},
		{"tcp_syn_sack_ws", func(r TCPRepr) string {
			return "S seq " + u32(r.Seq) + " win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 10>"
		}},
		{"tcp_syn_ts_ws", func(r TCPRepr) string {
			return "S seq " + u32(r.Seq) + " win 64240 <mss 1460,nop,nop,TS val " + u32(r.Options.TSVal) + " ecr 0,nop,wscale 10>"
		}},
		{"tcp_syn_sack_only", func(r TCPRepr) string {
			return "S seq " + u32(r.Seq) + " win 64240 <mss 1460,nop,nop,sackOK>"
		}},
		{"tcp_rst_ack_closed_port", func(TCPRepr) string { return "R. seq 0 ack 1001 win 0" }},
		{"tcp_synack_passive", func(r TCPRepr) string {
			return "S. seq " + u32(r.Seq) + " ack 1001 win 65160 <mss 1460,sackOK,TS val " + u32(r.Options.TSVal) + " ecr 5000,nop,wscale 10>"
		}},
		{"tcp_ack_sack1", func(r TCPRepr) string {
			return ". seq " + u32(r.Seq) + " ack 1001 win 64 <nop,nop,TS val " + u32(r.Options.TSVal) + " ecr 5001,nop,nop,sack 1 {1101:1201}>"
		}},
		{"tcp_ack_sack2", func(r TCPRepr) string {
			return ". seq " + u32(r.Seq) + " ack 1001 win 64 <nop,nop,TS val " + u32(r.Options.TSVal) + " ecr 5001,nop,nop,sack 2 {1301:1401}{1101:1201}>"
		}},
		{"tcp_data_psh", func(r TCPRepr) string {
			return "P. seq " + u32(r.Seq) + " ack 1401 win 64 <nop,nop,TS val " + u32(r.Options.TSVal) + " ecr 5005>"
		}},
		{"tcp_fin", func(r TCPRepr) string {
			return "F. seq " + u32(r.Seq) + " ack 1401 win 64 <nop,nop,TS val " + u32(r.Options.TSVal) + " ecr 5005>"
		}},
	} {
		_, p := linuxTransport(t, tc.name)
		v, err := NewTCP(p)
		if err != nil {
			t.Fatal(err)
		}
		r := mustParseTCP(t, v)
		if got, want := r.String(), tc.want(r); got != want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, want)
		}
	}
}

func u32(x uint32) string { return itoa(uint64(x)) }

func itoa(x uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			return string(b[i:])
		}
	}
}

func TestTCPRepr_String(t *testing.T) {
	r := TCPRepr{Flags: FlagSYN | FlagACK, Seq: 100, Ack: 201, Window: 65535, Options: TCPOptions{
		MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 1, TSEcr: 2, HasWindowScale: true, WindowScale: 7,
	}}
	if got, want := r.String(), "S. seq 100 ack 201 win 65535 <mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7>"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	r = TCPRepr{Flags: FlagURG | FlagPSH, Seq: 1, Ack: 99, Window: 3, Urgent: 5}
	if got, want := r.String(), "PU seq 1 win 3 urg 5"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestTCPFlags_String(t *testing.T) {
	for _, tc := range []struct {
		f    TCPFlags
		want string
	}{
		{0, "none"},
		{FlagSYN, "S"},
		{FlagSYN | FlagACK, "S."},
		{FlagACK, "."},
		{FlagPSH | FlagACK, "P."},
		{FlagFIN | FlagACK, "F."},
		{FlagFIN | FlagPSH | FlagACK, "FP."},
		{FlagRST, "R"},
		{FlagRST | FlagACK, "R."},
		{FlagSYN | FlagECE | FlagCWR, "SEW"}, // an ECN-setup SYN (RFC 3168 §6.1.1)
		{FlagSYN | FlagACK | FlagECE, "S.E"},
		{FlagURG | FlagACK, ".U"},
		{0xff, "FSRP.UEW"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("%#02x: %q, want %q", uint8(tc.f), got, tc.want)
		}
	}
}

func TestParseTCPOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want TCPOptions
		err  error
	}{
		{"empty", nil, TCPOptions{}, nil},
		{"NOPs", []byte{1, 1, 1, 1}, TCPOptions{}, nil},
		{"EOL ends the list", []byte{0, 2, 4, 5, 0xb4}, TCPOptions{}, nil},
		{"junk after EOL", []byte{2, 4, 5, 0xb4, 0, 0xff, 0, 1}, TCPOptions{MSS: 1460}, nil},
		{"all of a SYN", []byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7},
			TCPOptions{MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 1, TSEcr: 2, HasWindowScale: true, WindowScale: 7}, nil},
		{"window scale above 14 kept as sent", []byte{3, 3, 15, 0}, TCPOptions{HasWindowScale: true, WindowScale: 15}, nil},
		{"unknown options skipped", []byte{30, 6, 1, 2, 3, 4, 254, 4, 0xf9, 0x89, 2, 4, 0x05, 0x78},
			TCPOptions{MSS: 1400}, nil},
		{"4 SACK blocks", []byte{5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8},
			TCPOptions{NumSACK: 4, SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}}, nil},
		{"second SACK replaces the first", []byte{5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 5, 10, 0, 0, 0, 9, 0, 0, 0, 10},
			TCPOptions{NumSACK: 1, SACK: [4]SACKBlock{{9, 10}}}, nil},
		{"kind without length", []byte{1, 1, 1, 2}, TCPOptions{}, ErrBadOption},
		{"length 0", []byte{30, 0, 1, 1}, TCPOptions{}, ErrBadOption},
		{"length 1", []byte{30, 1, 1, 1}, TCPOptions{}, ErrBadOption},
		{"length past the end", []byte{30, 5, 1, 1}, TCPOptions{}, ErrBadOption},
		{"MSS length 3", []byte{2, 3, 5, 0}, TCPOptions{}, ErrBadOption},
		{"MSS length 6", []byte{2, 6, 5, 0, 0, 0, 1, 1}, TCPOptions{}, ErrBadOption},
		{"window scale length 4", []byte{3, 4, 7, 0}, TCPOptions{}, ErrBadOption},
		{"SACK-permitted length 3", []byte{4, 3, 0, 0}, TCPOptions{}, ErrBadOption},
		{"timestamps length 8", []byte{8, 8, 0, 0, 0, 1, 0, 0, 0, 0}, TCPOptions{}, ErrBadOption},
		{"SACK without blocks", []byte{5, 2, 1, 1}, TCPOptions{}, ErrBadOption},
		{"SACK of 9 bytes", []byte{5, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, TCPOptions{}, ErrBadOption},
		{"SACK of 11 bytes", []byte{5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0}, TCPOptions{}, ErrBadOption},
	} {
		got, err := ParseTCPOptions(tc.b)
		if err != tc.err || got != tc.want {
			t.Errorf("%s: got %+v, %v\nwant %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestTCPOptions_EmitLayouts(t *testing.T) {
	blocks := [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}
	for _, tc := range []struct {
		name string
		o    TCPOptions
		want []byte
	}{
		{"none", TCPOptions{}, []byte{}},
		{"MSS only", TCPOptions{MSS: 536}, []byte{2, 4, 2, 0x18}},
		{"SYN: MSS, SACK-perm, TS, WS", TCPOptions{MSS: 1460, SACKPermitted: true, HasTimestamp: true, TSVal: 1, TSEcr: 2, HasWindowScale: true, WindowScale: 7},
			[]byte{2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7}},
		{"SYN without TS", TCPOptions{MSS: 1460, SACKPermitted: true, HasWindowScale: true, WindowScale: 7},
			[]byte{2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7}},
		{"SYN without SACK-perm", TCPOptions{MSS: 1460, HasTimestamp: true, TSVal: 1, HasWindowScale: true},
			[]byte{2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 0}},
		{"data: TS", TCPOptions{HasTimestamp: true, TSVal: 0x01020304, TSEcr: 0x05060708},
			[]byte{1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8}},
		{"data: TS and 3 SACK blocks, the most that fit", TCPOptions{HasTimestamp: true, SACK: blocks, NumSACK: 4},
			[]byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 5, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6}},
		{"data: 4 SACK blocks without TS", TCPOptions{SACK: blocks, NumSACK: 4},
			[]byte{1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}},
		{"NumSACK above 4 is clamped", TCPOptions{SACK: blocks, NumSACK: 200},
			[]byte{1, 1, 5, 34, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 8}},
		{"SYN options leave room for 2 blocks", TCPOptions{MSS: 1, SACKPermitted: true, HasTimestamp: true, HasWindowScale: true, SACK: blocks, NumSACK: 3},
			[]byte{2, 4, 0, 1, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 0, 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4}},
	} {
		if n := tc.o.Len(); n != len(tc.want) {
			t.Errorf("%s: Len() = %d, want %d", tc.name, n, len(tc.want))
			continue
		}
		b := bytes.Repeat([]byte{0xee}, 40)
		if n := tc.o.Emit(b); n != len(tc.want) || !bytes.Equal(b[:n], tc.want) {
			t.Errorf("%s: Emit wrote %x\n want %x", tc.name, b[:n], tc.want)
		}
		if len(tc.want) < 40 && b[len(tc.want)] != 0xee {
			t.Errorf("%s: Emit wrote past Len()", tc.name)
		}
	}
}

// TestTCPOptions_LenBounds tries every combination of options: Len is a
// multiple of 4, at most 40, what Emit writes, and parses back.
func TestTCPOptions_LenBounds(t *testing.T) {
	for bits := range 16 {
		for nsack := range 7 {
			o := TCPOptions{SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}}, NumSACK: uint8(nsack)}
			if bits&1 != 0 {
				o.MSS = 1460
			}
			o.SACKPermitted = bits&2 != 0
			o.HasTimestamp = bits&4 != 0
			o.HasWindowScale = bits&8 != 0
			n := o.Len()
			if n%4 != 0 || n > TCPMaxOptionsLen {
				t.Fatalf("%+v: Len() = %d", o, n)
			}
			b := make([]byte, n)
			if w := o.Emit(b); w != n {
				t.Fatalf("%+v: Emit wrote %d, Len() %d", o, w, n)
			}
			got, err := ParseTCPOptions(b)
			if err != nil {
				t.Fatalf("%+v: %v", o, err)
			}
			if got != truncatedSACK(o) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, truncatedSACK(o))
			}
		}
	}
}

// truncatedSACK returns o as it parses back after Emit: only the SACK
// blocks that fit.
func truncatedSACK(o TCPOptions) TCPOptions {
	k := o.sackFit(o.fixedLen())
	o.NumSACK = uint8(k)
	for i := k; i < len(o.SACK); i++ {
		o.SACK[i] = SACKBlock{}
	}
	if !o.HasTimestamp {
		o.TSVal, o.TSEcr = 0, 0
	}
	if !o.HasWindowScale {
		o.WindowScale = 0
	}
	return o
}

func TestNewTCP_Rejects(t *testing.T) {
	r := TCPRepr{SrcPort: 1, DstPort: 2, Flags: FlagSYN, Options: TCPOptions{MSS: 1460}}
	good := make([]byte, r.HeaderLen())
	r.Emit(good, 0, addrA, addrB)
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrTruncated},
		{"19 bytes", good[:19], ErrTruncated},
		{"data offset 4", mod(func(b []byte) []byte { b[12] = 4 << 4; return b }), ErrBadHeaderLen},
		{"data offset 0", mod(func(b []byte) []byte { b[12] = 0; return b }), ErrBadHeaderLen},
		{"data offset past the segment", mod(func(b []byte) []byte { b[12] = 7 << 4; return b }), ErrTruncated},
		{"options cut by the segment", good[:22], ErrTruncated},
		{"malformed option", mod(func(b []byte) []byte { b[21] = 0; return b }), ErrBadOption},
		{"MSS of wrong length", mod(func(b []byte) []byte { b[21] = 3; return b }), ErrBadOption},
	} {
		if _, err := NewTCP(tc.b); err != tc.err {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	if _, err := NewTCP(good); err != nil {
		t.Errorf("good header rejected: %v", err)
	}
	// ParseTCP reports malformed options of a view that skipped NewTCP.
	if _, err := ParseTCP(TCP(mod(func(b []byte) []byte { b[21] = 0; return b }))); err != ErrBadOption {
		t.Errorf("ParseTCP of a bad option: %v", err)
	}
}

func TestTCP_Setters(t *testing.T) {
	ip, p := linuxTransport(t, "tcp_data_psh")
	v, err := NewTCP(p)
	if err != nil {
		t.Fatal(err)
	}
	r := mustParseTCP(t, v)
	// RFC 1624 incremental update of a 32-bit field, as a NAT would do.
	v.SetChecksum(UpdateChecksum32(v.Checksum(), v.Seq(), v.Seq()+1000))
	v.SetSeq(v.Seq() + 1000)
	if !v.ChecksumValid(ip.Src(), ip.Dst()) {
		t.Fatal("incremental update left a bad checksum")
	}
	v.SetSrcPort(7)
	v.SetDstPort(9)
	v.SetAck(42)
	v.SetFlags(FlagFIN | FlagACK)
	v.SetWindow(1234)
	v.SetUrgent(3)
	v.UpdateChecksum(ip.Src(), ip.Dst())
	if !v.ChecksumValid(ip.Src(), ip.Dst()) {
		t.Fatal("UpdateChecksum left a bad checksum")
	}
	if v.ChecksumValid(addrA, ip.Dst()) {
		t.Fatal("checksum verifies under a different pseudo-header")
	}
	want := r
	want.Seq += 1000
	want.SrcPort, want.DstPort, want.Ack, want.Flags, want.Window, want.Urgent = 7, 9, 42, FlagFIN|FlagACK, 1234, 3
	if got := mustParseTCP(t, v); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if string(v.Payload()) != "response from linux" {
		t.Fatalf("payload %q", v.Payload())
	}
	compareTCP(t, v, gopacketTCP(t, v))
}

func TestTCP_ChecksumIPv6(t *testing.T) {
	dst := addr6.Next()
	r := TCPRepr{SrcPort: 443, DstPort: 50000, Seq: 1, Ack: 2, Flags: FlagACK, Window: 100}
	b := make([]byte, r.HeaderLen()+5)
	copy(b[r.HeaderLen():], "hello")
	r.Emit(b, 5, addr6, dst)
	v, err := NewTCP(b)
	if err != nil {
		t.Fatal(err)
	}
	if !v.ChecksumValid(addr6, dst) {
		t.Fatal("checksum over an IPv6 pseudo-header does not verify")
	}
	// gopacket computes the same checksum over the same pseudo-header.
	ip6 := &layers.IPv6{SrcIP: net.IP(addr6.AsSlice()), DstIP: net.IP(dst.AsSlice()), NextHeader: layers.IPProtocolTCP}
	g := gopacketTCP(t, b)
	if err := g.SetNetworkLayerForChecksum(ip6); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, g, gopacket.Payload("hello")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), b) {
		t.Fatalf("gopacket %x\n   berth %x", buf.Bytes(), b)
	}
}

// TestTCP_DifferentialRandom emits random headers with random options and
// has gopacket decode them, and has gopacket serialize random headers
// (checksum included) for us to parse.
func TestTCP_DifferentialRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for range 2000 {
		r := TCPRepr{
			SrcPort: uint16(rng.Uint32()), DstPort: uint16(rng.Uint32()), Seq: rng.Uint32(), Ack: rng.Uint32(),
			Flags: TCPFlags(rng.Uint32()), Window: uint16(rng.Uint32()), Urgent: uint16(rng.Uint32()),
		}
		o := &r.Options
		if rng.IntN(2) == 0 {
			o.MSS = uint16(rng.Uint32()) | 1
		}
		o.SACKPermitted = rng.IntN(2) == 0
		if rng.IntN(2) == 0 {
			o.HasTimestamp, o.TSVal, o.TSEcr = true, rng.Uint32(), rng.Uint32()
		}
		if rng.IntN(2) == 0 {
			o.HasWindowScale, o.WindowScale = true, uint8(rng.IntN(15))
		}
		o.NumSACK = uint8(rng.IntN(5))
		for k := range int(o.NumSACK) {
			o.SACK[k] = SACKBlock{rng.Uint32(), rng.Uint32()}
		}
		*o = truncatedSACK(*o)
		payload := make([]byte, rng.IntN(100))
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		b := make([]byte, r.HeaderLen()+len(payload))
		copy(b[r.HeaderLen():], payload)
		r.Emit(b, len(payload), addrA, addrB)
		v, err := NewTCP(b)
		if err != nil {
			t.Fatalf("%v: %v", r, err)
		}
		if !v.ChecksumValid(addrA, addrB) {
			t.Fatalf("%v: bad checksum", r)
		}
		g := gopacketTCP(t, b)
		compareTCP(t, v, g)
		if got := mustParseTCP(t, v); got != r {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}

		// gopacket serializes the same header (its options re-encoded from
		// its own decoding) and computes the checksum independently.
		ip := &layers.IPv4{SrcIP: net.IP(addrA.AsSlice()), DstIP: net.IP(addrB.AsSlice()), Protocol: layers.IPProtocolTCP}
		if err := g.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, g, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), b) {
			t.Fatalf("gopacket serialized\n %x\nberth emitted\n %x", buf.Bytes(), b)
		}
	}
}

func TestTCP_ZeroAllocs(t *testing.T) {
	ip, p := linuxTransport(t, "tcp_ack_sack2")
	out := make([]byte, len(p))
	src, dst := ip.Src(), ip.Dst()
	if n := testing.AllocsPerRun(100, func() {
		v, err := NewTCP(p)
		if err != nil {
			panic(err)
		}
		r, err := ParseTCP(v)
		if err != nil {
			panic(err)
		}
		r.Emit(out, 0, src, dst)
		_ = v.ChecksumValid(src, dst)
	}); n != 0 {
		t.Fatalf("%v allocations per parse+emit, want 0", n)
	}
}

func tcpSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	for _, name := range linuxPacketNames(t, "tcp_") {
		_, p := linuxTransport(t, name)
		seeds[name] = p
	}
	r := TCPRepr{SrcPort: 1, DstPort: 2, Flags: FlagACK, Options: TCPOptions{HasTimestamp: true, NumSACK: 3,
		SACK: [4]SACKBlock{{1, 2}, {3, 4}, {5, 6}}}}
	b := make([]byte, r.HeaderLen()+3)
	r.Emit(b, 3, addrA, addrB)
	seeds["ts-3-sack"] = b
	// Tightly packed options that take more room after Emit's alignment.
	seeds["packed"] = append([]byte{0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0xf0, 0x10, 0, 0, 0, 0, 0, 0},
		2, 4, 5, 0xb4, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 5, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6)
	seeds["unknown-options"] = append([]byte{0, 1, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0x02, 0, 0, 0, 0, 0, 0},
		30, 6, 1, 2, 3, 4, 254, 4, 0xf9, 0x89, 0, 0)
	return seeds
}

func tcpOptionSeeds(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{}
	for name, seg := range tcpSeeds(t) {
		seeds[name] = TCP(seg).Options()
	}
	seeds["bad-length"] = []byte{2, 3, 5, 0}
	seeds["eol-junk"] = []byte{1, 0, 0xff}
	return seeds
}

func TestTCP_SeedCorpus(t *testing.T) {
	segs, opts := map[string][]any{}, map[string][]any{}
	for name, b := range tcpSeeds(t) {
		segs[name] = []any{b}
	}
	for name, b := range tcpOptionSeeds(t) {
		opts[name] = []any{b}
	}
	writeSeeds(t, "FuzzTCP", segs)
	writeSeeds(t, "FuzzTCPOptions", opts)
}

func FuzzTCP(f *testing.F) {
	for _, b := range tcpSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := NewTCP(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrBadHeaderLen) && !errors.Is(err, ErrBadOption) {
				t.Fatalf("unexpected error %v", err)
			}
			var g layers.TCP
			if err != ErrBadOption && g.DecodeFromBytes(b, gopacket.NilDecodeFeedback) == nil {
				t.Fatalf("we reject (%v) a header gopacket accepts", err)
			}
			return
		}
		_ = int(v.SrcPort()) + int(v.DstPort()) + int(v.Seq()) + int(v.Ack()) + v.DataOffset() + int(v.Window()) +
			int(v.Checksum()) + int(v.Urgent()) + len(v.Options()) + len(v.Payload())
		_ = v.Flags().String()
		_ = v.ChecksumValid(addrA, addrB)
		compareTCP(t, v, gopacketTCP(t, b))
		r, err := ParseTCP(v)
		if err != nil {
			t.Fatalf("ParseTCP after NewTCP: %v", err)
		}
		_ = r.String()
		payload := v.Payload()
		out := make([]byte, r.HeaderLen()+len(payload))
		copy(out[r.HeaderLen():], payload)
		r.Emit(out, len(payload), addrA, addrB)
		v2, err := NewTCP(out)
		if err != nil {
			t.Fatalf("emitted header rejected: %v", err)
		}
		if !v2.ChecksumValid(addrA, addrB) {
			t.Fatal("emitted checksum does not verify")
		}
		r2 := mustParseTCP(t, v2)
		want := r
		want.Options = truncatedSACK(r.Options)
		if r2 != want {
			t.Fatalf("round trip:\n got %+v\nwant %+v", r2, want)
		}
		if !bytes.Equal(v2.Payload(), payload) {
			t.Fatal("payload changed")
		}
	})
}

func FuzzTCPOptions(f *testing.F) {
	for _, b := range tcpOptionSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseTCPOptions(b)
		// Differential: gopacket's reading of the option list, interpreted,
		// on the bytes zero-padded to a whole header.
		seg := append(make([]byte, 20, 20+len(b)+3), b...)
		for len(seg)%4 != 0 {
			seg = append(seg, 0)
		}
		if len(seg) <= 60 {
			seg[12] = uint8(len(seg)/4) << 4
			po, perr := ParseTCPOptions(seg[20:])
			var g layers.TCP
			if g.DecodeFromBytes(seg, gopacket.NilDecodeFeedback) == nil {
				want, ok := optionsFromGopacket(g.Options)
				if (perr == nil) != ok || (ok && po != want) {
					t.Fatalf("options %x: got %+v, %v; gopacket-derived %+v, %v", seg[20:], po, perr, want, ok)
				}
			} else if perr == nil {
				t.Fatalf("options %x: accepted, gopacket rejects", seg[20:])
			}
		}
		if err != nil {
			if err != ErrBadOption {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		_ = o.String()
		n := o.Len()
		if n%4 != 0 || n > TCPMaxOptionsLen {
			t.Fatalf("Len() = %d", n)
		}
		out := make([]byte, n)
		if w := o.Emit(out); w != n {
			t.Fatalf("Emit wrote %d, Len() %d", w, n)
		}
		o2, err := ParseTCPOptions(out)
		if err != nil {
			t.Fatalf("emitted options %x rejected: %v", out, err)
		}
		if want := truncatedSACK(o); o2 != want {
			t.Fatalf("round trip:\n got %+v\nwant %+v", o2, want)
		}
		// A second round trip changes nothing.
		out2 := make([]byte, o2.Len())
		o2.Emit(out2)
		if !bytes.Equal(out, out2) {
			t.Fatalf("not idempotent: %x then %x", out, out2)
		}
	})
}

func BenchmarkTCPParse(b *testing.B) {
	_, p := linuxTransport(b, "tcp_ack_sack2")
	b.ReportAllocs()
	var r TCPRepr
	for b.Loop() {
		v, err := NewTCP(p)
		if err != nil {
			b.Fatal(err)
		}
		if r, err = ParseTCP(v); err != nil {
			b.Fatal(err)
		}
	}
	_ = r
}

func BenchmarkTCPEmit(b *testing.B) {
	ip, p := linuxTransport(b, "tcp_synack_passive")
	r, _ := ParseTCP(TCP(p))
	out := make([]byte, r.HeaderLen())
	src, dst := ip.Src(), ip.Dst()
	b.ReportAllocs()
	for b.Loop() {
		r.Emit(out, 0, src, dst)
	}
}

// TestTCP_LinuxIPv6 checks Linux's SYN over IPv6: the checksum over the
// RFC 8200 §8.1 pseudo-header verifies, and Emit rebuilds it exactly.
func TestTCP_LinuxIPv6(t *testing.T) {
	ip, err := NewIPv6(linux6Packet(t, "tcp6_syn"))
	if err != nil {
		t.Fatal(err)
	}
	p := ip.Payload()
	v, err := NewTCP(p)
	if err != nil {
		t.Fatal(err)
	}
	if !v.ChecksumValid(ip.Src(), ip.Dst()) {
		t.Fatal("Linux's checksum does not verify")
	}
	if v.ChecksumValid(ip.Dst(), ip.Src().Next()) {
		t.Fatal("checksum verifies over the wrong pseudo-header")
	}
	compareTCP(t, v, gopacketTCP(t, p))
	r := mustParseTCP(t, v)
	if r.Flags != FlagSYN || r.DstPort != 80 || r.Options.MSS != 1440 {
		t.Fatalf("got %v", r)
	}
	out := make([]byte, len(p))
	r.Emit(out, 0, ip.Src(), ip.Dst())
	if !bytes.Equal(out, p) {
		t.Fatalf("emit differs from Linux:\n got %x\nwant %x", out, p)
	}
}
