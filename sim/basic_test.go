package sim

import (
	"bytes"
	"io"
	"testing"
	"time"
)

func TestTCPEchoAcrossNetwork(t *testing.T) {
	Run(t, func(t *testing.T, n *Network) {
		var trace bytes.Buffer
		_ = trace
		a, b := n.Host("a"), n.Host("b")
		ln, err := b.Listen("tcp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}()
		start := time.Now()
		c, err := a.Dial("tcp", "b:7")
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 2*time.Millisecond {
			t.Errorf("handshake took %v, want one RTT of 2ms", d)
		}
		msg := bytes.Repeat([]byte("hello "), 1000)
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatal("echo differs")
		}
		c.Close()
		ln.Close()
		time.Sleep(time.Second)
		t.Logf("trace lines %d hash %s", n.TraceLines(), n.TraceHash())
	})
}
