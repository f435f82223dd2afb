package sim

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
)

func TestCrashAndRestart(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		a, b := n.Host("a"), n.Host("b")
		ln, err := b.Listen("tcp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		serverErr := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				serverErr <- err
				return
			}
			_, err = io.Copy(io.Discard, c)
			serverErr <- err
		}()
		c, err := a.Dial("tcp", "b:7")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		b.Crash()
		select {
		case err := <-serverErr:
			t.Logf("server goroutine on the crashed host got %v", err)
		case <-time.After(time.Second):
			t.Fatal("server goroutine still blocked after its host crashed")
		}
		if _, err := c.Write([]byte("into the void")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second) // retransmissions meet a dead host
		b.Restart()
		buf := make([]byte, 10)
		_, err = c.Read(buf)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read after peer restart: %v, want ECONNRESET", err)
		}
	})
}
