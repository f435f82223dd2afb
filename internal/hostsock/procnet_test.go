package hostsock

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func littleEndian(t *testing.T) {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("fixtures were written on a little-endian machine")
	}
}

// Lines as Linux prints them (udp4_format_sock, tcp6_sock_show).
const udpTable = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            
  123: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 20843 2 ffff8a0b4b2e4000 0         
  456: 0100007F:A1B2 020012C6:0035 01 00000010:00000340 00:00000000 00000000  1000        0 99999 2 ffff8a0b4b2e4400 7         
`

const tcp6Table = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000080 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 000080FE00000000000000000100000001:1F90 0000000000000000FFFF0000020012C6:C350 01 00000005:00000000 01:00000014 00000000     0        0 4242 3 0000000000000000 20 4 30 10 -1
`

func TestParseProcNetUDP(t *testing.T) {
	littleEndian(t)
	got, err := parseProcNet([]byte(udpTable))
	if err != nil {
		t.Fatal(err)
	}
	want := []procEntry{
		{Local: netip.MustParseAddrPort("127.0.0.1:53"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), State: 7, UID: 101, Inode: 20843},
		{Local: netip.MustParseAddrPort("127.0.0.1:41394"), Remote: netip.MustParseAddrPort("198.18.0.2:53"), State: 1, TxQueue: 0x10, RxQueue: 0x340, UID: 1000, Inode: 99999, Drops: 7},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestParseProcNetTCP6(t *testing.T) {
	littleEndian(t)
	// The second line's local address has 34 digits: the kernel never
	// writes that, and the parser must say so rather than guess.
	_, err := parseProcNet([]byte(tcp6Table))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("bad address accepted or misreported: %v", err)
	}
	fixed := strings.Replace(tcp6Table, "000080FE00000000000000000100000001", "000080FE000000000000000001000000", 1)
	got, err := parseProcNet([]byte(fixed))
	if err != nil {
		t.Fatal(err)
	}
	want := []procEntry{
		{Local: netip.MustParseAddrPort("[::1]:22"), Remote: netip.MustParseAddrPort("[::]:0"), State: 10, RxQueue: 0x80, Inode: 12345},
		// A tcp line's thirteenth field is rto, not drops: the heading says so.
		{Local: netip.MustParseAddrPort("[fe80::1]:8080"), Remote: netip.MustParseAddrPort("[::ffff:198.18.0.2]:50000"), State: 1, TxQueue: 5, Inode: 4242},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestParseProcNetRejects(t *testing.T) {
	head := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	good := "   0: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0"
	if _, err := parseProcNet([]byte(head + good + "\n")); err != nil {
		t.Fatalf("good line rejected: %v", err)
	}
	for name, line := range map[string]string{
		"short":            "   0: 0100007F:0035 00000000:0000 07",
		"no drops":         strings.TrimSuffix(good, " 0"),
		"slot":             strings.Replace(good, "0:", "x:", 1),
		"slot colon":       strings.Replace(good, "0:", "0", 1),
		"no port":          strings.Replace(good, "0100007F:0035", "0100007F0035", 1),
		"short port":       strings.Replace(good, ":0035", ":035", 1),
		"odd address":      strings.Replace(good, "0100007F", "100007F", 1),
		"not hex":          strings.Replace(good, "0100007F", "0100007G", 1),
		"mixed families":   strings.Replace(good, "00000000:0000", "00000000000000000000000000000000:0000", 1),
		"state":            strings.Replace(good, " 07 ", " 7 ", 1),
		"queues":           strings.Replace(good, "00000000:00000000", "0000000000000000", 1),
		"rx queue":         strings.Replace(good, "00000000:00000000", "00000000:0000000Z", 1),
		"uid":              strings.Replace(good, "     0        0 1", "    -1        0 1", 1),
		"inode":            strings.Replace(good, "0 1 2", "0 x 2", 1),
		"drops not number": strings.TrimSuffix(good, " 0") + " x",
	} {
		if e, err := parseProcNet([]byte(head + line + "\n")); err == nil {
			t.Errorf("%s: accepted %+v", name, e)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	entries := []procEntry{
		{Local: netip.MustParseAddrPort("198.18.0.1:7"), Remote: netip.MustParseAddrPort("198.18.0.2:65535"), State: 1, TxQueue: 1, RxQueue: 0xffffffff, UID: 65534, Inode: 1 << 40, Drops: 9},
		{Local: netip.MustParseAddrPort("[fe80::1]:0"), Remote: netip.MustParseAddrPort("[::]:0"), State: 7},
	}
	got, err := parseProcNet(formatProcNet(entries, true))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, entries) {
		t.Fatalf("got %+v\nwant %+v", got, entries)
	}
}

// FuzzParseProcNet: the parser never panics, and what it accepts formats
// back into text it reads identically.
func FuzzParseProcNet(f *testing.F) {
	f.Add([]byte(udpTable))
	f.Add([]byte(tcp6Table))
	f.Add([]byte("  sl  local_address\n   0: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := parseProcNet(data)
		if err != nil {
			return
		}
		again, err := parseProcNet(formatProcNet(entries, true))
		if err != nil {
			t.Fatalf("formatted entries do not parse: %v", err)
		}
		if !slices.Equal(again, entries) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", again, entries)
		}
	})
}
