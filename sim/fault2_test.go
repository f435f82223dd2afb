package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"
)

func TestFaultRateAndTailDrop(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		const bps = 8_000_000 // 1 MB/s
		a, _, atA, atB, took, l := faultRun(t, n, 1<<20, Rate(bps, 32<<10))
		st := l.Path(a).Stats()
		// The bottleneck paces arrivals: no two full-size segments arrive
		// closer than one serialisation time apart.
		data := dataSegments(from(atB, a))
		gap := time.Duration(len(data[0].data)*8) * time.Second / bps
		for i := 1; i < len(data); i++ {
			if d := data[i].at.Sub(data[i-1].at); d < gap && len(data[i].data) == len(data[0].data) {
				t.Fatalf("segments %d and %d arrived %v apart, less than the %v serialisation time", i-1, i, d, gap)
			}
		}
		// Slow start overruns the 32 KiB queue: tail drops, then recovery.
		if st.QueueDrops == 0 || uint64(len(from(atA, a))-len(from(atB, a))) != st.QueueDrops {
			t.Fatalf("queue drops %d; a sent %d, b got %d", st.QueueDrops, len(from(atA, a)), len(from(atB, a)))
		}
		if took < time.Second {
			t.Fatalf("1 MiB through 1 MB/s took %v", took)
		}
		t.Logf("1 MiB in %v (%.0f kB/s), %d tail drops", took, float64(1<<20)/took.Seconds()/1000, st.QueueDrops)
	})
}

// A partition shorter than TCP's patience costs time, not data.
func TestFaultPartitionThatHeals(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		var cb bytes.Buffer
		b.Capture(&cb)
		l := n.Link(a, b)
		healed := make(chan struct{})
		go func() {
			time.Sleep(50 * time.Millisecond)
			l.Partition()
			time.Sleep(30 * time.Second)
			l.Heal()
			close(healed)
		}()
		took, err := transfer(a, b, 9, 4<<20)
		if err != nil {
			t.Fatal(err)
		}
		<-healed
		st := l.Stats()
		if st.Partitioned == 0 || took < 30*time.Second {
			t.Fatalf("transfer took %v with %d packets partitioned", took, st.Partitioned)
		}
		// Nothing arrived at b while the partition lasted (allowing for
		// the 1 ms of packets already on their way).
		cut := n.wallAt(int64(51 * time.Millisecond))
		heal := n.wallAt(int64(30*time.Second + 50*time.Millisecond))
		n.Flush()
		for _, p := range readCapture(t, cb.Bytes()) {
			if p.at.After(cut) && p.at.Before(heal) {
				t.Fatalf("packet arrived at %v, inside the partition", p.at.Sub(n.start))
			}
		}
		t.Logf("4 MiB in %v across a 30 s partition; %d packets dropped", took, st.Partitioned)
	})
}

// A partition longer than TCP's retransmissions ends the connection with
// ETIMEDOUT, as the kernel reports it.
func TestFaultPartitionBeyondTimeout(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		ln, _ := b.Listen("tcp", ":9")
		go func() {
			if c, err := ln.Accept(); err == nil {
				io.Copy(io.Discard, c)
			}
		}()
		c, err := a.Dial("tcp", "b:9")
		if err != nil {
			t.Fatal(err)
		}
		n.Link(a, b).Partition()
		c.Write([]byte("lost"))
		_, err = c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("read: %v, want ETIMEDOUT", err)
		}
		// Linux gives up after 15 retransmissions: about 924.6 s with a
		// 200 ms minimum RTO doubling to the 120 s cap.
		if e := n.Elapsed(); e < 15*time.Minute || e > 17*time.Minute {
			t.Fatalf("gave up after %v", e)
		}
		// A new connection during the partition times out on its SYNs.
		ctx, cancel := contextWithTimeout(10 * time.Second)
		defer cancel()
		if _, err := a.DialContext(ctx, "tcp", "b:9"); !isTimeout(err) {
			t.Fatalf("dial across the partition: %v, want a timeout", err)
		}
		ln.Close()
	})
}

// A one-way partition: a hears b but b does not hear a.
func TestFaultOneWayPartition(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		n.Path(a, b).Partition()
		pa, _ := a.ListenPacket("udp", ":9")
		pb, _ := b.ListenPacket("udp", ":9")
		pa.WriteTo([]byte("a to b"), udpAddr(b, 9))
		pb.WriteTo([]byte("b to a"), udpAddr(a, 9))
		buf := make([]byte, 100)
		pa.SetReadDeadline(time.Now().Add(time.Second))
		pb.SetReadDeadline(time.Now().Add(time.Second))
		if k, _, err := pa.ReadFrom(buf); err != nil || string(buf[:k]) != "b to a" {
			t.Fatalf("a: %q, %v", buf[:k], err)
		}
		if _, _, err := pb.ReadFrom(buf); !isTimeout(err) {
			t.Fatalf("b: %v, want a timeout", err)
		}
		if st := n.Path(a, b).Stats(); st.Partitioned != 1 {
			t.Fatalf("a→b partitioned %d, want 1", st.Partitioned)
		}
		n.Path(a, b).Heal()
		if _, err := transfer(a, b, 10, 64<<10); err != nil {
			t.Fatal(err)
		}
	})
}

// Hold keeps packets without losing them; Release lets them go in order.
func TestFaultHoldAndRelease(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		var cb bytes.Buffer
		b.Capture(&cb)
		l := n.Link(a, b)
		released := make(chan struct{})
		go func() {
			time.Sleep(5 * time.Millisecond)
			l.Hold()
			time.Sleep(500 * time.Millisecond)
			l.Release()
			close(released)
		}()
		took, err := transfer(a, b, 9, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		<-released
		st := l.Stats()
		if st.Held == 0 || st.Lost+st.Partitioned != 0 || took < 500*time.Millisecond {
			t.Fatalf("transfer took %v; stats %+v", took, st)
		}
		// Held packets reach b in one burst 1 ms after the release.
		release := n.start.Add(505*time.Millisecond + time.Millisecond)
		burst := 0
		n.Flush()
		for _, p := range readCapture(t, cb.Bytes()) {
			if p.at.After(n.start.Add(6*time.Millisecond)) && p.at.Before(release) {
				t.Fatalf("packet arrived at %v during the hold", p.at.Sub(n.start))
			}
			if p.at.Equal(release) && p.src == a.Addr().String() {
				burst++
			}
		}
		if held := l.Path(a).Stats().Held; held == 0 || uint64(burst) != held {
			t.Fatalf("%d packets a→b held, %d arrived at b together on release", held, burst)
		}
		t.Logf("%d packets held, %d of them a→b, which arrived together on release", st.Held, burst)
	})
}

func TestIsolateAndRejoin(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b, c := n.Host("a"), n.Host("b"), n.Host("c")
		b.Isolate()
		ctx, cancel := contextWithTimeout(time.Second)
		defer cancel()
		if _, err := a.Ping(ctx, "b", 1, 56); err == nil {
			t.Fatal("ping reached an isolated host")
		}
		if _, err := a.Ping(context0(), "c", 2, 56); err != nil {
			t.Fatalf("ping c: %v", err)
		}
		b.Rejoin()
		if _, err := a.Ping(context0(), "b", 3, 56); err != nil {
			t.Fatalf("ping after rejoin: %v", err)
		}
		_ = c
	})
}

// A crashed peer that stays down: the survivor's retransmissions go
// unanswered until it gives up with ETIMEDOUT.
func TestCrashedPeerTimesOut(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		ln, _ := b.Listen("tcp", ":9")
		go func() {
			if c, err := ln.Accept(); err == nil {
				io.Copy(io.Discard, c)
			}
		}()
		c, err := a.Dial("tcp", "b:9")
		if err != nil {
			t.Fatal(err)
		}
		b.Crash()
		c.Write([]byte("anyone there?"))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("read: %v, want ETIMEDOUT", err)
		}
		if st := n.Path(a, b).Stats(); st.HostDown == 0 {
			t.Fatalf("stats %+v: no packet met the dead host", st)
		}
		if _, err := b.Dial("tcp", "a:9"); err == nil {
			t.Fatal("dial from a crashed host succeeded")
		}
	})
}

// Many seeds, every fault at once: TCP must deliver byte-exact data or the
// test names the seed that broke it.
func TestTCPThroughEveryFaultManySeeds(t *testing.T) {
	seeds := 20
	if testing.Short() {
		seeds = 5
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			Run(t, func(t *testing.T, n *Network) {
				a, b := n.Host("a"), n.Host("b")
				n.Link(a, b, Delay(5*time.Millisecond, 3*time.Millisecond), Loss(0.02),
					GilbertElliott(0.005, 0.3, 0, 0.8), Duplicate(0.02), Corrupt(0.02), Rate(50_000_000, 64<<10))
				if _, err := transfer(a, b, 9, 1<<20); err != nil {
					t.Fatalf("a→b: %v (stats %+v)", err, n.Link(a, b).Stats())
				}
			}, Seed(seed+1))
		})
	}
}
