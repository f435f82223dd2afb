package sim_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"berth/sim"
)

// Two hosts and a UDP echo. Outside a test the network runs on real time
// (these examples take a few milliseconds); in a test, sim.Run gives it
// virtual time and a reproducible schedule.
func Example() {
	n := sim.New(sim.Seed(1))
	defer n.Close()
	laptop, server := n.Host("laptop"), n.Host("server")

	pc, err := server.ListenPacket("udp", ":echo")
	if err != nil {
		panic(err)
	}
	go func() {
		buf := make([]byte, 1500)
		k, from, _ := pc.ReadFrom(buf)
		pc.WriteTo(buf[:k], from)
	}()

	c, err := laptop.Dial("udp", "server:echo") // host names resolve inside the network
	if err != nil {
		panic(err)
	}
	c.Write([]byte("ping"))
	buf := make([]byte, 1500)
	k, _ := c.Read(buf)
	fmt.Printf("%s from %v (%s)\n", buf[:k], c.RemoteAddr(), server.Addr())
	// Output: ping from 198.18.0.2:7 (198.18.0.2)
}

// A two-way partition: a new connection cannot be made while it lasts,
// and can once it heals.
func ExampleLink_Partition() {
	n := sim.New()
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	ln, _ := b.Listen("tcp", ":7")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	link := n.Link(a, b)
	link.Partition()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := a.DialContext(ctx, "tcp", "b:7")
	fmt.Println("during the partition:", err)

	link.Heal()
	c, err := a.Dial("tcp", "b:7")
	fmt.Println("after it heals:", err)
	c.Close()
	fmt.Println(link.Path(a).Stats().Partitioned > 0, "SYN dropped")
	// Output:
	// during the partition: dial tcp 198.18.0.2:7: i/o timeout
	// after it heals: <nil>
	// true SYN dropped
}

// A crash loses every socket of a host without a word on the wire; once
// it restarts, its new stack answers the old connection's next segment
// with a reset.
func ExampleHost_Crash() {
	n := sim.New()
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	ln, _ := b.Listen("tcp", ":7")
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c) // returns when b crashes
		}
	}()
	c, _ := a.Dial("tcp", "b:7")

	b.Crash()
	b.Restart()
	c.Write([]byte("are you there?"))
	_, err := c.Read(make([]byte, 1))
	fmt.Println(errors.Is(err, syscall.ECONNRESET))
	// Output: true
}

// Hold keeps a path's packets, in order, until Release.
func ExamplePath_Hold() {
	n := sim.New()
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	pc, _ := b.ListenPacket("udp", ":9")
	toB := n.Path(a, b)

	toB.Hold()
	c, _ := a.Dial("udp", "b:9")
	for i := range 3 {
		fmt.Fprintf(c, "datagram %d", i)
	}
	buf := make([]byte, 100)
	pc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _, err := pc.ReadFrom(buf)
	fmt.Println("while held:", errors.Is(err, os.ErrDeadlineExceeded))

	toB.Release()
	pc.SetReadDeadline(time.Time{})
	for range 3 {
		k, _, _ := pc.ReadFrom(buf)
		fmt.Println("released:", string(buf[:k]))
	}
	fmt.Printf("%+v\n", toB.Stats())
	// Output:
	// while held: true
	// released: datagram 0
	// released: datagram 1
	// released: datagram 2
	// {Sent:3 Delivered:3 Lost:0 Partitioned:0 QueueDrops:0 MTUDrops:0 Duplicated:0 Corrupted:0 Held:3 HostDown:0}
}
