package berth_test

import (
	"crypto/sha256"
	"io"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"berth"
	"berth/link/fault"
	"berth/link/mem"
)

// faultyHosts joins two hosts through seeded impairments both ways: 3%
// loss, 1% duplication, 1% reordering and 0.1% corruption.
func faultyHosts(t *testing.T, seed int64) (a, b *berth.Host) {
	t.Helper()
	la, lb := mem.Pair(mem.QueueLen(4096))
	impair := func(s int64) []fault.Option {
		return []fault.Option{fault.Seed(s), fault.Loss(0.03), fault.Duplicate(0.01), fault.Reorder(0.01, 0), fault.Corrupt(0.001)}
	}
	fa, fb := fault.Wrap(la, impair(seed)...), fault.Wrap(lb, impair(seed+1)...)
	a, b = berth.NewHost(berth.Options{Name: "a", Seed: uint64(seed)}), berth.NewHost(berth.Options{Name: "b", Seed: uint64(seed) + 1})
	a.AddLink(fa, netip.MustParsePrefix("198.18.0.1/24"))
	b.AddLink(fb, netip.MustParsePrefix("198.18.0.2/24"))
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// pattern is a reproducible byte stream of n bytes.
type pattern struct{ n, off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n-p.off)
	for i := range k {
		x := uint64(p.off+i) * 0x9e3779b97f4a7c15
		b[i] = byte(x >> 56)
	}
	p.off += k
	return int(k), nil
}

func sumOf(n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, &pattern{n: n})
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// transferSize is BERTH_TRANSFER_MIB MiB each way when set (the acceptance
// figure is 256), and 32 MiB (4 under -race) otherwise to fit CI's budget.
func transferSize() int64 {
	if v, err := strconv.Atoi(os.Getenv("BERTH_TRANSFER_MIB")); err == nil && v > 0 {
		return int64(v) << 20
	}
	if raceEnabled {
		return 4 << 20
	}
	return 32 << 20
}

// TestTCPThroughFaultsBothWaysAtOnce sends a stream each way at once
// through loss, duplication, reordering and corruption; both must arrive
// byte-exact (SHA-256) and the connection must finish cleanly.
func TestTCPThroughFaultsBothWaysAtOnce(t *testing.T) {
	n := transferSize()
	a, b := faultyHosts(t, 11)
	ln, err := b.Listen("tcp", ":5001")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	want := sumOf(n)
	type result struct {
		who string
		sum [32]byte
		n   int64
		err error
	}
	results := make(chan result, 4)
	serve := func(who string, c io.ReadWriteCloser, closeWrite func() error) {
		go func() {
			_, err := io.Copy(c, &pattern{n: n})
			if err == nil {
				err = closeWrite()
			}
			results <- result{who: who + " send", err: err}
		}()
		go func() {
			h := sha256.New()
			got, err := io.Copy(h, c)
			var s [32]byte
			copy(s[:], h.Sum(nil))
			results <- result{who: who + " receive", sum: s, n: got, err: err}
		}()
	}
	start := time.Now()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			results <- result{who: "accept", err: err}
			return
		}
		serve("b", c, c.(interface{ CloseWrite() error }).CloseWrite)
	}()
	c, err := a.Dial("tcp", "198.18.0.2:5001")
	if err != nil {
		t.Fatal(err)
	}
	serve("a", c, c.(interface{ CloseWrite() error }).CloseWrite)
	timeout := time.After(10 * time.Minute)
	for range 4 {
		select {
		case r := <-results:
			if r.err != nil {
				t.Fatalf("%s: %v", r.who, r.err)
			}
			if r.n != 0 && (r.n != n || r.sum != want) {
				t.Fatalf("%s: %d bytes, SHA-256 %x, want %d bytes %x", r.who, r.n, r.sum, n, want)
			}
		case <-timeout:
			t.Fatalf("transfer stalled: a %+v\nb %+v\nsockets a %+v\nb %+v", a.Stack().Stats().Tcp, b.Stack().Stats().Tcp, a.Sockets(), b.Sockets())
		}
	}
	el := time.Since(start)
	st := a.Stack().Stats().Tcp
	t.Logf("%d MiB each way in %v (%.1f MB/s each way); a: %d retransmits, %d fast retransmits, %d timeouts", n>>20, el.Round(time.Millisecond),
		float64(n)/el.Seconds()/1e6, st.RetransSegs, st.FastRetransmits, st.Timeouts)
}
