package interop_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"berth"
	"berth/internal/netns"
	"berth/link"
	"berth/link/pcap"
)

var (
	kernelAddr = netns.KernelAddr.Addr() // 198.18.0.1
	berthAddr  = netns.BerthAddr.Addr()  // 198.18.0.2
)

// wait bounds every single exchange with the kernel: a TUN in a namespace
// loses nothing, so a reply that takes longer than this never comes.
const wait = 3 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// berthBinary builds cmd/berth once per test binary and returns its path.
func berthBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "berth-interop-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "berth")
		out, err := exec.Command("go", "build", "-o", binPath, "berth/cmd/berth").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build berth/cmd/berth: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func needPing(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping is missing; install iputils-ping")
	}
}

// attach puts a berth host on the namespace's TUN with address
// 198.18.0.2/24, capturing every packet into a pcap file under the test's
// temporary directory. It returns the host and the capture's path; the
// capture is complete once the host is closed (checkCapture closes it).
func attach(t *testing.T, ns *netns.NS) (*berth.Host, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "capture.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	p, err := pcap.Wrap(ns.Link(), f)
	if err != nil {
		t.Fatal(err)
	}
	var l link.Link = p
	h := berth.NewHost(berth.Options{Name: "interop"})
	if err := h.AddLink(l, netns.BerthAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, path
}

// inNS runs f on a thread inside the namespace, for sockets that must be
// the namespace's kernel's; the result may be used from any goroutine.
func inNS[T io.Closer](t *testing.T, ns *netns.NS, f func() (T, error)) T {
	t.Helper()
	var v T
	err := ns.Do(func() error {
		var err error
		v, err = f()
		return err
	})
	if err != nil {
		t.Fatalf("in namespace %s: %v", ns.Name(), err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// runNS runs a command in the namespace with a bounded time and returns its
// output, failing the test if it does not exit 0.
func runNS(t *testing.T, ns *netns.NS, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	out, err := ns.Run(ctx, name, args...)
	if err != nil {
		t.Fatalf("ip netns exec %s %s %s: %v\n%s", ns.Name(), name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// pattern returns n bytes that differ from one datagram to the next, so a
// reply cannot be mistaken for an earlier one.
func pattern(n int, tag byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ tag
	}
	return b
}

// datagram is one IP datagram of a capture, reassembled by gopacket's
// defragmenter if it came in fragments.
type datagram struct {
	src, dst netip.Addr
	proto    layers.IPProtocol
	payload  []byte // the transport message
	frags    int    // records it was carried in
}

func (d datagram) String() string {
	return fmt.Sprintf("%v→%v proto %d, %d bytes in %d fragment(s)", d.src, d.dst, d.proto, len(d.payload), d.frags)
}

// icmp returns the datagram's ICMP type and code, and false if it is not ICMP.
func (d datagram) icmp() (typ, code uint8, ok bool) {
	if d.proto != layers.IPProtocolICMPv4 || len(d.payload) < 8 {
		return 0, 0, false
	}
	return d.payload[0], d.payload[1], true
}

// checkCapture closes h (completing the capture) and reads the capture
// with gopacket, an independent decoder: every record must be an IPv4
// packet with a valid header checksum; fragments must reassemble; every
// ICMP and UDP message, reassembled or whole, must decode without error
// and carry a valid checksum. Then tshark, when installed, must read the
// file and find nothing malformed. It returns the datagrams in order.
func checkCapture(t *testing.T, h *berth.Host, path string) []datagram {
	t.Helper()
	if err := h.Close(); err != nil {
		t.Errorf("closing the host: %v", err)
	}
	return decodeCapture(t, path)
}

// record is one IPv4 record of a capture, decoded by gopacket.
type record struct {
	i        int // its number in the capture
	at       time.Time
	data     []byte
	pkt      gopacket.Packet
	ip       *layers.IPv4
	src, dst netip.Addr
}

// readRecords reads a capture of raw IP with gopacket, an independent
// decoder: every record must be IPv6 that decodes (a TUN with IPv6 left on
// carries the kernel's router solicitations and MLD reports; they are
// counted and left out) or an IPv4 packet whose Total Length is its size
// and whose header checksum is valid. gopacket's errors decoding ICMP and
// UDP are fatal; with allErrors any error is (gopacket knows no decoder for
// experimental protocols such as 253, and says so as an error layer).
func readRecords(t *testing.T, path string, allErrors bool) (recs []record, v6 int) {
	t.Helper()
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatalf("pcapgo: %v", err)
	}
	if lt := r.LinkType(); lt != layers.LinkTypeRaw && lt != layers.LinkTypeIPv4 && lt != 12 {
		t.Fatalf("capture link type %v, want raw IP", lt)
	}
	for i := 0; ; i++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if len(data) > 0 && data[0]>>4 == 6 {
			if el := gopacket.NewPacket(data, layers.LayerTypeIPv6, gopacket.Default).ErrorLayer(); el != nil {
				t.Fatalf("record %d (IPv6): %v", i, el.Error())
			}
			v6++
			continue
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
		ip, ok := pkt.NetworkLayer().(*layers.IPv4)
		if !ok {
			t.Fatalf("record %d is not IPv4: %x", i, data)
		}
		known := ip.Protocol == layers.IPProtocolICMPv4 || ip.Protocol == layers.IPProtocolUDP
		if el := pkt.ErrorLayer(); el != nil && (known || allErrors) {
			t.Fatalf("record %d (%v→%v): %v", i, ip.SrcIP, ip.DstIP, el.Error())
		}
		if int(ip.Length) != len(data) {
			t.Fatalf("record %d (%v→%v): %d bytes, IPv4 total length %d", i, ip.SrcIP, ip.DstIP, len(data), ip.Length)
		}
		if internetChecksum(data[:int(ip.IHL)*4], 0) != 0 {
			t.Fatalf("record %d (%v→%v): bad IPv4 header checksum", i, ip.SrcIP, ip.DstIP)
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
		recs = append(recs, record{i: i, at: ci.Timestamp, data: data, pkt: pkt, ip: ip, src: src, dst: dst})
	}
	if len(recs)+v6 == 0 {
		t.Fatal("capture is empty")
	}
	return recs, v6
}

// decodeCapture is checkCapture for a finished capture file: its IPv4
// datagrams, reassembled, each transport message checked.
func decodeCapture(t *testing.T, path string) []datagram {
	t.Helper()
	recs, v6 := readRecords(t, path, false)
	// gopacket's own defragmenter (ip4defrag) refuses final fragments
	// under 8 bytes, which RFC 791 allows and the kernel sends (1473
	// bytes of UDP data: 1480 + 1), so fragments are put together here,
	// strictly: no overlap, no hole, nothing left over.
	pending := map[fragKey]*fragments{}
	var out []datagram
	for _, rec := range recs {
		ip, src, dst := rec.ip, rec.src, rec.dst
		d := datagram{src: src, dst: dst, proto: ip.Protocol, payload: bytes.Clone(ip.Payload), frags: 1}
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			key := fragKey{src, dst, ip.Id, ip.Protocol}
			f := pending[key]
			if f == nil {
				f = &fragments{}
				pending[key] = f
			}
			whole, err := f.add(int(ip.FragOffset)*8, ip.Payload, ip.Flags&layers.IPv4MoreFragments != 0)
			if err != nil {
				t.Fatalf("record %d (%v→%v id %d): %v", rec.i, src, dst, ip.Id, err)
			}
			if whole == nil {
				continue // more fragments to come
			}
			delete(pending, key)
			d.payload, d.frags = whole, len(f.parts)
		}
		checkTransport(t, rec.i, d)
		out = append(out, d)
	}
	for k, f := range pending {
		t.Errorf("capture: %d fragment(s) of %v→%v id %d never completed a datagram", len(f.parts), k.src, k.dst, k.id)
	}
	records := len(recs) + v6
	t.Logf("capture: %d records, %d IPv4 datagrams, %d IPv6 packets, all decoded by gopacket", records, len(out), v6)
	tshark(t, path, records)
	return out
}

type fragKey struct {
	src, dst netip.Addr
	id       uint16
	proto    layers.IPProtocol
}

// fragments collects the fragments of one datagram (RFC 791 §3.2).
type fragments struct {
	parts []fragment
	end   int // the datagram's length, once the last fragment came; else -1
}

type fragment struct {
	off  int
	data []byte
}

// add adds a fragment and returns the whole payload once every byte from 0
// to the last fragment's end has come, exactly once.
func (f *fragments) add(off int, data []byte, more bool) ([]byte, error) {
	if len(f.parts) == 0 {
		f.end = -1
	}
	if more && len(data)%8 != 0 {
		return nil, fmt.Errorf("fragment at %d with more to come holds %d bytes, not a multiple of 8", off, len(data))
	}
	if !more {
		if f.end >= 0 {
			return nil, fmt.Errorf("two last fragments")
		}
		f.end = off + len(data)
	}
	if off+len(data) > 65535-20 {
		return nil, fmt.Errorf("fragment at %d of %d bytes overruns 65,535", off, len(data))
	}
	for _, p := range f.parts {
		if off < p.off+len(p.data) && p.off < off+len(data) {
			return nil, fmt.Errorf("fragment %d+%d overlaps %d+%d", off, len(data), p.off, len(p.data))
		}
	}
	f.parts = append(f.parts, fragment{off, bytes.Clone(data)})
	if f.end < 0 {
		return nil, nil
	}
	have := 0
	for _, p := range f.parts {
		if p.off+len(p.data) > f.end {
			return nil, fmt.Errorf("fragment %d+%d beyond the last one's end %d", p.off, len(p.data), f.end)
		}
		have += len(p.data)
	}
	if have < f.end {
		return nil, nil
	}
	whole := make([]byte, f.end)
	for _, p := range f.parts {
		copy(whole[p.off:], p.data)
	}
	return whole, nil
}

// checkTransport decodes a whole datagram's ICMP or UDP message.
func checkTransport(t *testing.T, rec int, d datagram) {
	t.Helper()
	switch d.proto {
	case layers.IPProtocolICMPv4:
		pkt := gopacket.NewPacket(d.payload, layers.LayerTypeICMPv4, gopacket.Default)
		if el := pkt.ErrorLayer(); el != nil {
			t.Fatalf("record %d (%v): ICMP: %v", rec, d, el.Error())
		}
		if internetChecksum(d.payload, 0) != 0 {
			t.Fatalf("record %d (%v): bad ICMP checksum", rec, d)
		}
	case layers.IPProtocolUDP:
		pkt := gopacket.NewPacket(d.payload, layers.LayerTypeUDP, gopacket.Default)
		u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if !ok {
			t.Fatalf("record %d (%v): not UDP: %v", rec, d, pkt.ErrorLayer())
		}
		if int(u.Length) != len(d.payload) {
			t.Fatalf("record %d (%v): UDP length %d", rec, d, u.Length)
		}
		if u.Checksum != 0 && internetChecksum(d.payload, pseudoHeader(d.src, d.dst, 17, len(d.payload))) != 0 {
			t.Fatalf("record %d (%v): bad UDP checksum", rec, d)
		}
	}
}

// tshark reads the capture when tshark is installed: it must list every
// record and, with checksum validation on, find nothing malformed and draw
// no expert warning, bar TCP sequence analysis (a retransmission or a
// segment out of order after a loss is what some tests bring about).
func tshark(t *testing.T, path string, records int) {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not installed; gopacket alone checked the capture")
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-r", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s%s", err, out, stderr.Bytes())
	}
	if n := bytes.Count(out, []byte("\n")); n != records {
		t.Fatalf("tshark listed %d packets, want %d:\n%s", n, records, out)
	}
	stderr.Reset()
	cmd = exec.CommandContext(ctx, bin, "-r", path,
		"-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-Y", "_ws.malformed or _ws.expert.severity >= error or (_ws.expert.severity >= warning and not tcp.analysis.flags)")
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil || len(out) != 0 {
		t.Fatalf("tshark found problems (%v):\n%s%s", err, out, stderr.Bytes())
	}
	t.Logf("tshark read all %d records: nothing malformed, no warnings", records)
}

// internetChecksum is RFC 1071's sum, written here so that the capture
// check does not trust berth's own wire package. A valid message sums to 0.
func internetChecksum(b []byte, initial uint32) uint16 {
	sum := initial
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func pseudoHeader(src, dst netip.Addr, proto uint8, n int) uint32 {
	s, d := src.As4(), dst.As4()
	return uint32(binary.BigEndian.Uint16(s[:2])) + uint32(binary.BigEndian.Uint16(s[2:])) +
		uint32(binary.BigEndian.Uint16(d[:2])) + uint32(binary.BigEndian.Uint16(d[2:])) +
		uint32(proto) + uint32(n)
}

// count returns how many datagrams match.
func count(ds []datagram, match func(datagram) bool) int {
	n := 0
	for _, d := range ds {
		if match(d) {
			n++
		}
	}
	return n
}

// errIs fails the test unless err is a *net.OpError wrapping want.
func errIs(t *testing.T, what string, err, want error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || !errors.Is(err, want) {
		t.Fatalf("%s: error %#v (%v), want a *net.OpError wrapping %v", what, err, err, want)
	}
}
