package wire

import (
	"bufio"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// linuxPackets holds testdata/linux_packets.txt: IPv4 packets built by the
// Linux kernel, captured from a TUN device by testdata/capture_linux.py.
var linuxPackets = sync.OnceValues(func() (map[string][]byte, error) {
	return readPackets("testdata/linux_packets.txt")
})

// linux6Packets holds testdata/linux6_packets.txt: IPv6 packets built by
// the Linux kernel, captured by testdata/capture_linux6.py.
var linux6Packets = sync.OnceValues(func() (map[string][]byte, error) {
	return readPackets("testdata/linux6_packets.txt")
})

// readPackets reads a file of "name hex" lines; # starts a comment line.
func readPackets(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("bad line %q", line)
		}
		b, err := hex.DecodeString(hx)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		m[name] = b
	}
	return m, sc.Err()
}

// linuxPacket returns a fresh copy of the captured IPv4 packet name.
func linuxPacket(t testing.TB, name string) []byte {
	t.Helper()
	return capturedPacket(t, linuxPackets, name)
}

// linux6Packet returns a fresh copy of the captured IPv6 packet name.
func linux6Packet(t testing.TB, name string) []byte {
	t.Helper()
	return capturedPacket(t, linux6Packets, name)
}

func capturedPacket(t testing.TB, set func() (map[string][]byte, error), name string) []byte {
	t.Helper()
	m, err := set()
	if err != nil {
		t.Fatal(err)
	}
	b, ok := m[name]
	if !ok {
		t.Fatalf("no captured packet %q", name)
	}
	return append([]byte(nil), b...)
}

// linuxTransport returns the IPv4 view and transport bytes of a captured
// packet.
func linuxTransport(t testing.TB, name string) (IPv4, []byte) {
	t.Helper()
	ip, err := NewIPv4(linuxPacket(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ip, ip.Payload()
}

func linuxPacketNames(t testing.TB, prefix string) []string {
	t.Helper()
	return capturedNames(t, linuxPackets, prefix)
}

func linux6PacketNames(t testing.TB, prefix string) []string {
	t.Helper()
	return capturedNames(t, linux6Packets, prefix)
}

func capturedNames(t testing.TB, set func() (map[string][]byte, error), prefix string) []string {
	t.Helper()
	m, err := set()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range m {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no captured packets named %s*", prefix)
	}
	return names
}

var (
	addrA = netip.MustParseAddr("198.18.0.1")
	addrB = netip.MustParseAddr("198.18.0.2")
	addr6 = netip.MustParseAddr("2001:db8::1")

	// The addresses of testdata/linux6_packets.txt (RFC 5180 benchmarking
	// space): berth's side and its peer.
	local6 = netip.MustParseAddr("2001:2::1")
	peer6  = netip.MustParseAddr("2001:2::2")
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpora under testdata/fuzz from the tests' packets")

// writeSeeds writes one seed file per input under testdata/fuzz/<target>/
// when -update-corpus is given. Each input is a list of values in the
// order of the fuzz function's arguments.
func writeSeeds(t *testing.T, target string, seeds map[string][]any) {
	t.Helper()
	if !*updateCorpus {
		return
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, vals := range seeds {
		var sb strings.Builder
		sb.WriteString("go test fuzz v1\n")
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				sb.WriteString("[]byte(" + strconv.Quote(string(v)) + ")\n")
			case uint16:
				fmt.Fprintf(&sb, "uint16(%d)\n", v)
			case int:
				fmt.Fprintf(&sb, "int(%d)\n", v)
			default:
				t.Fatalf("seed value of type %T", v)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
