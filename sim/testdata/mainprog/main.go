// Command mainprog runs a small simulation through sim.Main, so that a
// test can check that a program gets virtual time and a reproducible run.
package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"berth/sim"
)

func main() {
	seed := flag.Uint64("seed", 1, "simulation seed")
	fail := flag.Bool("fail", false, "return an error")
	flag.Parse()
	sim.Main(func(n *sim.Network) error {
		a, b := n.Host("a"), n.Host("b")
		n.Link(a, b, sim.Delay(50*time.Millisecond, 20*time.Millisecond), sim.Loss(0.1))
		ln, err := b.Listen("tcp", ":7")
		if err != nil {
			return err
		}
		go func() {
			if c, err := ln.Accept(); err == nil {
				io.Copy(c, c)
				c.Close()
			}
		}()
		c, err := a.Dial("tcp", "b:7")
		if err != nil {
			return err
		}
		time.Sleep(time.Hour) // virtual: takes no time
		fmt.Fprintf(c, "hello")
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		c.Close()
		fmt.Printf("echo %q after %v, trace %s\n", buf, n.Elapsed().Round(time.Hour), n.TraceHash())
		if *fail {
			return fmt.Errorf("asked to fail")
		}
		return nil
	}, sim.Seed(*seed))
}
