package pcap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"berth/clock"
	"berth/link"
	"berth/link/mem"
)

var (
	kernelAddr = netip.MustParseAddr("198.18.0.1")
	berthAddr  = netip.MustParseAddr("198.18.0.2")
	epoch      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func TestFileHeaderBytes(t *testing.T) {
	for _, tc := range []struct {
		opts  []Option
		magic uint32
	}{{nil, 0xa1b2c3d4}, {[]Option{Nanoseconds()}, 0xa1b23c4d}} {
		a, _ := mem.Pair()
		var buf bytes.Buffer
		p, err := Wrap(a, &buf, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
		want := make([]byte, 24)
		binary.LittleEndian.PutUint32(want[0:], tc.magic)
		binary.LittleEndian.PutUint16(want[4:], 2)
		binary.LittleEndian.PutUint16(want[6:], 4)
		binary.LittleEndian.PutUint32(want[16:], 65535)
		binary.LittleEndian.PutUint32(want[20:], 101)
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("header %x, want %x", buf.Bytes(), want)
		}
	}
}

// exchange runs pings and a UDP datagram each way over a captured mem pair
// inside a synctest bubble, so timestamps are exact, and returns the file
// and the packets in the order they crossed.
func exchange(t *testing.T, opts ...Option) ([]byte, [][]byte) {
	var file []byte
	var order [][]byte
	synctest.Test(t, func(t *testing.T) {
		a, b := mem.Pair(mem.MTU(9000))
		var buf bytes.Buffer
		p, err := Wrap(a, &buf, opts...)
		if err != nil {
			t.Fatal(err)
		}
		// b answers each echo request with a reply, as a kernel would.
		b.Attach(link.ReceiverFunc(func(pkt []byte) {
			if pkt[9] == 1 && pkt[20] == 8 {
				rep := echo(0, binary.BigEndian.Uint16(pkt[24:]), binary.BigEndian.Uint16(pkt[26:]), pkt[28:])
				b.Write([][]byte{ipv4(kernelAddr, berthAddr, 1, 100, rep)})
			}
		}))
		var got [][]byte
		p.Attach(link.ReceiverFunc(func(pkt []byte) { got = append(got, bytes.Clone(pkt)) }))
		for seq := range uint16(3) {
			req := ipv4(berthAddr, kernelAddr, 1, seq, echo(8, 7, seq, bytes.Repeat([]byte{byte(seq)}, 56+1000*int(seq))))
			p.Write([][]byte{req})
			synctest.Wait()
			order = append(order, req, got[len(got)-1])
			time.Sleep(1500 * time.Microsecond) // timestamps step by 1.5ms
		}
		dgram := ipv4(berthAddr, kernelAddr, 17, 9, udp(berthAddr, kernelAddr, 40000, 9999, []byte("hello")))
		p.Write([][]byte{dgram})
		back := ipv4(kernelAddr, berthAddr, 17, 10, udp(kernelAddr, berthAddr, 9999, 40000, []byte("world")))
		b.Write([][]byte{back})
		synctest.Wait()
		order = append(order, dgram, back)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		file = buf.Bytes()
	})
	return file, order
}

func TestCaptureReadsBackInOrder(t *testing.T) {
	for _, nano := range []bool{false, true} {
		var opts []Option
		if nano {
			opts = append(opts, Nanoseconds())
		}
		file, order := exchange(t, opts...)
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if r.LinkType() != LinkTypeRaw || r.Snaplen() != 65535 || r.Nanoseconds() != nano {
			t.Fatalf("header: link type %d snaplen %d nano %v", r.LinkType(), r.Snaplen(), r.Nanoseconds())
		}
		bubbleStart := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		for i, want := range order {
			rec, err := r.Next()
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if !bytes.Equal(rec.Data, want) || rec.OrigLen != len(want) {
				t.Fatalf("record %d: %d bytes (orig %d), want %x", i, len(rec.Data), rec.OrigLen, want)
			}
			// Each ping round trip is at 1.5ms steps; 1.5ms needs only µs.
			wantTime := bubbleStart.Add(time.Duration(min(i/2, 3)) * 1500 * time.Microsecond)
			if !rec.Time.Equal(wantTime) {
				t.Fatalf("record %d at %v, want %v", i, rec.Time, wantTime)
			}
		}
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("after the last record: %v, want io.EOF", err)
		}
	}
}

// gopacket is a decoder nobody here wrote: every record must decode as an
// IPv4 packet with a valid header checksum and no decoding error.
func TestCaptureDecodesWithGopacket(t *testing.T) {
	file, order := exchange(t)
	r, err := pcapgo.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeRaw && r.LinkType() != layers.LinkType(101) {
		t.Fatalf("link type %v", r.LinkType())
	}
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
		pkt := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
		if el := pkt.ErrorLayer(); el != nil {
			t.Fatalf("record %d: %v", n, el.Error())
		}
		ip, ok := pkt.NetworkLayer().(*layers.IPv4)
		if !ok {
			t.Fatalf("record %d is not IPv4", n)
		}
		if checksum(data[:ip.IHL*4], 0) != 0 {
			t.Fatalf("record %d: bad IPv4 header checksum", n)
		}
		switch ip.Protocol {
		case layers.IPProtocolICMPv4:
			icmp := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if tc := icmp.TypeCode.Type(); tc != layers.ICMPv4TypeEchoRequest && tc != layers.ICMPv4TypeEchoReply {
				t.Fatalf("record %d: ICMP type %d", n, tc)
			}
			if checksum(ip.Payload, 0) != 0 {
				t.Fatalf("record %d: bad ICMP checksum", n)
			}
		case layers.IPProtocolUDP:
			u := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if u.SrcPort != 40000 && u.DstPort != 40000 {
				t.Fatalf("record %d: UDP ports %d→%d", n, u.SrcPort, u.DstPort)
			}
			src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
			dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
			if checksum(ip.Payload, pseudo(src, dst, 17, len(ip.Payload))) != 0 {
				t.Fatalf("record %d: bad UDP checksum", n)
			}
		default:
			t.Fatalf("record %d: protocol %v", n, ip.Protocol)
		}
		if ci.CaptureLength != len(order[n]) || ci.Length != len(order[n]) {
			t.Fatalf("record %d: lengths %d/%d", n, ci.CaptureLength, ci.Length)
		}
		n++
	}
	if n != len(order) {
		t.Fatalf("%d records, want %d", n, len(order))
	}

	t.Run("tshark", func(t *testing.T) {
		tshark, err := exec.LookPath("tshark")
		if err != nil {
			t.Skip("tshark not installed; gopacket alone checked the capture")
		}
		path := filepath.Join(t.TempDir(), "capture.pcap")
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(tshark, "-r", path)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark -r: %v\n%s%s", err, out, stderr.Bytes())
		}
		if lines := bytes.Count(out, []byte("\n")); lines != len(order) {
			t.Fatalf("tshark listed %d packets, want %d:\n%s", lines, len(order), out)
		}
		t.Logf("tshark:\n%s", out)
		// With checksum validation on, no packet may be malformed or
		// draw an expert warning.
		cmd = exec.Command(tshark, "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
			"-Y", "_ws.malformed or _ws.expert.severity >= warning")
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil || len(out) != 0 {
			t.Fatalf("tshark found problems (%v):\n%s%s", err, out, stderr.Bytes())
		}
	})
}

// failWriter fails every write after the first ok ones.
type failWriter struct {
	ok  int
	err error
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.ok == 0 {
		return 0, w.err
	}
	w.ok--
	return len(p), nil
}

func TestWriteErrorStopsCaptureNotTraffic(t *testing.T) {
	a, b := mem.Pair()
	got := make(chan []byte, 4)
	b.Attach(link.ReceiverFunc(func(p []byte) { got <- bytes.Clone(p) }))
	boom := errors.New("disk full")
	p, err := Wrap(a, &failWriter{ok: 2, err: boom}, Clock(clock.NewManual(epoch)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := p.Write([][]byte{{0x45, byte(i)}}); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	for i := range 3 {
		if q := <-got; q[1] != byte(i) {
			t.Fatalf("packet %d = %x", i, q)
		}
	}
	if !errors.Is(p.Err(), boom) {
		t.Fatalf("Err = %v", p.Err())
	}
	if err := p.Close(); !errors.Is(err, boom) {
		t.Fatalf("Close = %v", err)
	}
	if _, err := Wrap(b, &failWriter{err: boom}); !errors.Is(err, boom) {
		t.Fatalf("Wrap with a failing writer: %v", err)
	}
}

func TestCloseFlushesBufferedWriter(t *testing.T) {
	a, _ := mem.Pair()
	var file bytes.Buffer
	bw := bufio.NewWriter(&file)
	p, _ := Wrap(a, bw, Clock(clock.NewManual(epoch)))
	p.Write([][]byte{{0x45, 0, 0, 4}})
	if file.Len() != 0 {
		t.Fatal("bufio wrote early; test proves nothing")
	}
	p.Close()
	r, err := NewReader(&file)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil || !bytes.Equal(rec.Data, []byte{0x45, 0, 0, 4}) || !rec.Time.Equal(epoch) {
		t.Fatalf("record %+v, %v", rec, err)
	}
}

func TestWriteTooBigNotRecorded(t *testing.T) {
	a, _ := mem.Pair(mem.MTU(100))
	var file bytes.Buffer
	p, _ := Wrap(a, &file)
	defer p.Close()
	n, err := p.Write([][]byte{make([]byte, 100), make([]byte, 101)})
	if n != 1 || !errors.Is(err, link.ErrTooBig) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if want := 24 + 16 + 100; file.Len() != want {
		t.Fatalf("file is %d bytes, want %d (one record)", file.Len(), want)
	}
}

func TestReaderBigEndianAndErrors(t *testing.T) {
	// A big-endian microsecond file with one 3-byte record, by hand.
	be := []byte{0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 101,
		0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, 60, 0x45, 1, 2}
	r, err := NewReader(bytes.NewReader(be))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil || rec.OrigLen != 60 || !slices.Equal(rec.Data, []byte{0x45, 1, 2}) ||
		!rec.Time.Equal(time.Unix(10, 20000).UTC()) {
		t.Fatalf("record %+v, %v", rec, err)
	}
	for name, tc := range map[string]struct {
		file []byte
		want error
	}{
		"empty":          {nil, io.ErrUnexpectedEOF},
		"short header":   {be[:10], io.ErrUnexpectedEOF},
		"bad magic":      {append([]byte{1, 2, 3, 4}, be[4:24]...), ErrFormat},
		"bad version":    {append(append([]byte{}, be[:4]...), append([]byte{0, 3}, be[6:24]...)...), ErrFormat},
		"cut record":     {be[:len(be)-1], io.ErrUnexpectedEOF},
		"cut rec header": {be[:30], io.ErrUnexpectedEOF},
		"µs ≥ 1e6":       {append(append(append([]byte{}, be[:28]...), 0, 0x0f, 0x42, 0x40), be[32:]...), ErrFormat},
		"huge record":    {append(append([]byte{}, be[:32]...), 0x7f, 0, 0, 0, 0, 0, 0, 0), ErrFormat},
	} {
		r, err := NewReader(bytes.NewReader(tc.file))
		if err == nil {
			_, err = r.Next()
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
