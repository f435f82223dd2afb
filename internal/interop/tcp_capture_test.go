package interop_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"

	"berth"
	"berth/internal/netns"
)

// attachBare is attach without a capture, for bulk transfers whose
// capture would only cost time and disk.
func attachBare(t *testing.T, ns *netns.NS) *berth.Host {
	t.Helper()
	h := berth.NewHost(berth.Options{Name: "interop"})
	if err := h.AddLink(ns.Link(), netns.BerthAddr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// segment is one TCP segment of a capture, decoded by gopacket.
type segment struct {
	i                      int // record number in the capture
	at                     time.Time
	src, dst               netip.AddrPort
	seq, ack               uint32
	syn, fin, rst, psh, ak bool
	win                    uint16 // the raw window field, before scaling
	n                      int    // payload bytes

	mss    int // 0: no MSS option
	wscale int // -1: no window scale option
	ts     bool
	tsval  uint32
	sackOK bool
}

func (s segment) flags() string {
	var b strings.Builder
	for _, f := range []struct {
		on   bool
		name string
	}{{s.syn, "S"}, {s.fin, "F"}, {s.rst, "R"}, {s.psh, "P"}, {s.ak, "."}} {
		if f.on {
			b.WriteString(f.name)
		}
	}
	return b.String()
}

// String prints the segment as tcpdump does, with absolute numbers.
func (s segment) String() string {
	o := ""
	if s.mss != 0 {
		o += fmt.Sprintf(" mss %d", s.mss)
	}
	if s.sackOK {
		o += " sackOK"
	}
	if s.ts {
		o += fmt.Sprintf(" TS val %d", s.tsval)
	}
	if s.wscale >= 0 {
		o += fmt.Sprintf(" wscale %d", s.wscale)
	}
	if o != "" {
		o = ", options [" + o[1:] + "]"
	}
	return fmt.Sprintf("#%d %s > %s: Flags [%s], seq %d, ack %d, win %d%s, length %d",
		s.i, s.src, s.dst, s.flags(), s.seq, s.ack, s.win, o, s.n)
}

// readTCPCapture reads a finished capture of TCP traffic with gopacket, an
// independent decoder: every IPv4 record must decode, have a valid header
// checksum and the length it claims; every TCP segment must decode and
// carry a valid checksum. Records that are not TCP must decode too, and
// are left out. tshark, when installed, must then read the file and find
// nothing malformed and no bad checksum. (tshark's TCP warnings — zero
// window, connection reset — are what some tests provoke, so unlike
// decodeCapture this does not refuse warnings.)
func readTCPCapture(t *testing.T, path string) []segment {
	t.Helper()
	recs, v6 := readRecords(t, path, true)
	var out []segment
	for _, rec := range recs {
		ip, src, dst, records := rec.ip, rec.src, rec.dst, rec.i
		if ip.Protocol != layers.IPProtocolTCP {
			continue
		}
		if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			t.Fatalf("record %d (%v→%v): a fragment of TCP", records, ip.SrcIP, ip.DstIP)
		}
		tc, ok := rec.pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("record %d (%v→%v): no TCP layer", records, ip.SrcIP, ip.DstIP)
		}
		if internetChecksum(ip.Payload, pseudoHeader(src, dst, 6, len(ip.Payload))) != 0 {
			t.Fatalf("record %d (%v→%v): bad TCP checksum", records, src, dst)
		}
		s := segment{
			i: records, at: rec.at,
			src: netip.AddrPortFrom(src, uint16(tc.SrcPort)), dst: netip.AddrPortFrom(dst, uint16(tc.DstPort)),
			seq: tc.Seq, ack: tc.Ack, syn: tc.SYN, fin: tc.FIN, rst: tc.RST, psh: tc.PSH, ak: tc.ACK,
			win: tc.Window, n: len(tc.Payload), wscale: -1,
		}
		for _, o := range tc.Options {
			switch o.OptionType {
			case layers.TCPOptionKindMSS:
				if len(o.OptionData) != 2 {
					t.Fatalf("record %d: MSS option of %d bytes", records, len(o.OptionData))
				}
				s.mss = int(binary.BigEndian.Uint16(o.OptionData))
			case layers.TCPOptionKindWindowScale:
				if len(o.OptionData) != 1 {
					t.Fatalf("record %d: window scale option of %d bytes", records, len(o.OptionData))
				}
				s.wscale = int(o.OptionData[0])
			case layers.TCPOptionKindTimestamps:
				if len(o.OptionData) != 8 {
					t.Fatalf("record %d: timestamps option of %d bytes", records, len(o.OptionData))
				}
				s.ts, s.tsval = true, binary.BigEndian.Uint32(o.OptionData)
			case layers.TCPOptionKindSACKPermitted:
				s.sackOK = true
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatal("capture holds no TCP segment")
	}
	records := len(recs) + v6
	t.Logf("capture: %d records, %d TCP segments, all decoded by gopacket with valid checksums", records, len(out))
	tsharkTCP(t, path, records)
	return out
}

// tsharkTCP has tshark, when installed, read the capture: it must list
// every record and, validating IP and TCP checksums, find nothing
// malformed and raise no error (a bad checksum is one).
func tsharkTCP(t *testing.T, path string, records int) {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Log("tshark not installed; gopacket alone checked the capture")
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-r", path, "-T", "fields", "-e", "frame.number")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s", err, stderr.Bytes())
	}
	if n := bytes.Count(out, []byte("\n")); n != records {
		t.Fatalf("tshark listed %d packets, want %d", n, records)
	}
	stderr.Reset()
	cmd = exec.CommandContext(ctx, bin, "-r", path,
		"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-Y", "_ws.malformed or _ws.expert.severity >= error")
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil || len(out) != 0 {
		t.Fatalf("tshark found problems (%v):\n%s%s", err, out, stderr.Bytes())
	}
	t.Logf("tshark read all %d records: nothing malformed, no bad checksum", records)
}

// flow returns the segments from src to dst, in capture order.
func flow(segs []segment, src, dst netip.AddrPort) []segment {
	var out []segment
	for _, s := range segs {
		if s.src == src && s.dst == dst {
			out = append(out, s)
		}
	}
	return out
}

// synOf returns the first segment with SYN set from src to dst (and ACK
// set if synAck), failing the test if there is none.
func synOf(t *testing.T, segs []segment, src, dst netip.AddrPort, synAck bool) segment {
	t.Helper()
	for _, s := range flow(segs, src, dst) {
		if s.syn && s.ak == synAck {
			return s
		}
	}
	what := "SYN"
	if synAck {
		what = "SYN-ACK"
	}
	t.Fatalf("capture: no %s from %v to %v", what, src, dst)
	return segment{}
}

// dumpFlow logs the segments of one connection, both ways, at most max
// of them from the start, for a report when a test fails.
func dumpFlow(t *testing.T, segs []segment, a, b netip.AddrPort, max int) {
	t.Helper()
	var lines []string
	for _, s := range segs {
		if (s.src == a && s.dst == b) || (s.src == b && s.dst == a) {
			lines = append(lines, s.String())
		}
	}
	if len(lines) > max {
		lines = append(lines[:max], fmt.Sprintf("... %d more", len(lines)-max))
	}
	t.Logf("segments of %v ⇄ %v:\n%s", a, b, strings.Join(lines, "\n"))
}

// streamBytes writes the first n bytes of a stream in which every 8-byte
// word holds its own offset, xored with a constant: no two words in 2^64
// bytes are equal, so a segment delivered at the wrong place, twice, or not
// at all changes the stream's hash (a short repeated pattern would hide a
// swap of segments that start at the same phase).
func streamBytes(w io.Writer, n int64) error {
	buf := make([]byte, 64<<10)
	for off := int64(0); off < n; off += int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			binary.BigEndian.PutUint64(buf[i:], uint64(off+int64(i))^0x6265727468b17e5)
		}
		k := min(n-off, int64(len(buf)))
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
	}
	return nil
}

// streamSum is the SHA-256 of the first n bytes of streamBytes.
func streamSum(n int64) [sha256.Size]byte {
	h := sha256.New()
	streamBytes(h, n)
	return [sha256.Size]byte(h.Sum(nil))
}

// sumReader reads r to its end and returns how many bytes came and their
// SHA-256.
func sumReader(r io.Reader) (int64, [sha256.Size]byte, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return n, [sha256.Size]byte(h.Sum(nil)), err
}
