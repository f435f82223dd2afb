package sim

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// workload runs a busy little network on n: a server echoing TCP and UDP,
// four clients on other hosts starting at the same instant, and paths that
// delay with jitter, lose, duplicate and corrupt. It returns an error if
// any client's echo differs from what it sent.
func workload(n *Network) error { return workloadNet(n, "") }

// workloadNet is workload over IPv4 (fam "") or IPv6 (fam "6").
func workloadNet(n *Network, fam string) error {
	s := n.Host("server")
	ln, err := s.Listen("tcp"+fam, ":7")
	if err != nil {
		return err
	}
	pc, err := s.ListenPacket("udp"+fam, ":7")
	if err != nil {
		return err
	}
	var servers sync.WaitGroup
	servers.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			servers.Go(func() {
				io.Copy(c, c)
				c.Close()
			})
		}
	})
	servers.Go(func() {
		buf := make([]byte, 2048)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:k], from)
		}
	})
	var clients sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		c := n.Host(fmt.Sprintf("client%d", i))
		n.Link(c, s, Delay(5*time.Millisecond, 2*time.Millisecond), Loss(0.02), Duplicate(0.01), Corrupt(0.01))
		clients.Go(func() { errs[i] = echoClient(c, fam, i) })
	}
	clients.Wait()
	ln.Close()
	pc.Close()
	servers.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// echoClient sends 64 KiB over TCP and a few datagrams, checking echoes.
func echoClient(h *Host, fam string, i int) error {
	c, err := h.Dial("tcp"+fam, "server:7")
	if err != nil {
		return err
	}
	defer c.Close()
	msg := pattern(64<<10, byte(i))
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("%s: %v", h.Name(), err)
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("%s: echo differs", h.Name())
	}
	u, err := h.Dial("udp"+fam, "server:7")
	if err != nil {
		return err
	}
	defer u.Close()
	for k := range 5 {
		u.Write([]byte(fmt.Sprintf("datagram %d from %s", k, h.Name())))
		u.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		buf := make([]byte, 100)
		u.Read(buf) // lost ones time out: UDP promises nothing
	}
	return nil
}

// pattern is n bytes that differ per position and per seed byte, so that
// misplaced or corrupted data cannot match.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

type runResult struct {
	hash         string
	trace, pcap  []byte
	hostPcapHash [32]byte
}

func runWorkload(t *testing.T, seed uint64) runResult { return runWorkloadNet(t, seed, "") }

// runWorkloadNet is runWorkload over IPv4 (fam "") or IPv6 (fam "6").
func runWorkloadNet(t *testing.T, seed uint64, fam string) runResult {
	var r runResult
	var trace, pcap, hostPcap bytes.Buffer
	Run(t, func(t *testing.T, n *Network) {
		if err := n.Capture(&pcap); err != nil {
			t.Fatal(err)
		}
		if err := workloadNet(n, fam); err != nil {
			t.Fatal(err)
		}
		n.Lookup("server").Capture(&hostPcap) // late: records from here on
		time.Sleep(2 * time.Minute)           // TIME-WAIT and the last timers
		r.hash = n.TraceHash()
		n.Flush()
	}, Seed(seed), Trace(&trace))
	r.trace, r.pcap, r.hostPcapHash = trace.Bytes(), pcap.Bytes(), sha256.Sum256(hostPcap.Bytes())
	return r
}

// The acceptance check of determinism: the same seed gives a
// byte-identical trace and pcap on 20 runs, half with GOMAXPROCS=1 and
// half with 2 (and under -race when the tests run with it).
func TestSameSeedSameRun(t *testing.T) {
	runs := 20
	if testing.Short() {
		runs = 4
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first runResult
	for i := range runs {
		runtime.GOMAXPROCS(1 + i%2)
		r := runWorkload(t, 42)
		if i == 0 {
			first = r
			if len(r.trace) == 0 || len(r.pcap) < 1000 {
				t.Fatalf("empty run: %d trace bytes, %d pcap bytes", len(r.trace), len(r.pcap))
			}
			continue
		}
		if r.hash != first.hash || !bytes.Equal(r.trace, first.trace) {
			t.Fatalf("run %d (GOMAXPROCS=%d): trace differs from run 0 at line %d:\n%s", i, 1+i%2,
				firstDiffLine(first.trace, r.trace), diffContext(first.trace, r.trace))
		}
		if !bytes.Equal(r.pcap, first.pcap) || r.hostPcapHash != first.hostPcapHash {
			t.Fatalf("run %d: pcap differs", i)
		}
	}
}

func TestDifferentSeedsDifferentRuns(t *testing.T) {
	a, b := runWorkload(t, 1), runWorkload(t, 2)
	if a.hash == b.hash || bytes.Equal(a.trace, b.trace) {
		t.Fatal("seeds 1 and 2 gave the same trace")
	}
}

func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

func diffContext(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	i := firstDiffLine(a, b) - 1
	var out bytes.Buffer
	for k := max(0, i-3); k < i+3; k++ {
		x, y := "", ""
		if k < len(la) {
			x = string(la[k])
		}
		if k < len(lb) {
			y = string(lb[k])
		}
		mark := " "
		if x != y {
			mark = "!"
		}
		fmt.Fprintf(&out, "%s first: %s\n%s  this: %s\n", mark, x, mark, y)
	}
	return out.String()
}

var _ = net.ErrClosed

// The same seed gives the same run in separate processes too, started
// with GOMAXPROCS=1 and GOMAXPROCS=2: nothing in the schedule depends on
// addresses in memory, map order or the number of processors.
func TestSameSeedAcrossProcesses(t *testing.T) {
	// One line per family: IPv4, then IPv6.
	runs := func() string {
		var lines []string
		for _, fam := range []string{"", "6"} {
			r := runWorkloadNet(t, 42, fam)
			lines = append(lines, fmt.Sprintf("RUN%s trace=%x pcap=%x", fam, sha256.Sum256(r.trace), sha256.Sum256(r.pcap)))
		}
		return strings.Join(lines, "\n")
	}
	if os.Getenv("BERTH_SIM_CHILD") == "1" {
		fmt.Println(runs())
		return
	}
	if testing.Short() {
		t.Skip("runs the test binary twice")
	}
	want := runs()
	for _, procs := range []string{"1", "2"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSameSeedAcrossProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BERTH_SIM_CHILD=1", "GOMAXPROCS="+procs)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var got []string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "RUN") {
				got = append(got, line)
			}
		}
		if strings.Join(got, "\n") != want {
			t.Fatalf("GOMAXPROCS=%s child: %q, this process: %q", procs, got, want)
		}
	}
}
