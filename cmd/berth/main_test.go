package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"

	"berth"
	"berth/link/mem"
	"berth/sim"
)

func TestLinkDemoRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"link-demo", "-count", "2"}, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"ping statistics", "UDP: host b serves", `"hello, port 7"`, "GET http://198.18.0.2/", "bytes out and back intact",
		"LISTEN", "ESTABLISHED", "Ip:", "Tcp:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}

// TestSSReadsAHostThroughItsControlSocket runs the control socket of a
// host as 'berth serve' does and reads it back as 'berth ss' does.
func TestSSReadsAHostThroughItsControlSocket(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	la, lb := mem.Pair()
	defer lb.Close()
	h := berth.NewHost(berth.Options{Name: "ctl", Owner: "tester"})
	defer h.Close()
	h.AddLink(la, netip.MustParsePrefix("198.18.0.2/24"))
	pc, err := h.ListenPacket("udp", ":domain")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ln, err := h.Listen("tcp", ":http")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path, err := serveControl(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket %s: mode %v, err %v; want 0600", path, fi.Mode(), err)
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"ss", "-l"}, &out); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, want := range []string{"tcp", "LISTEN", "0.0.0.0:80", "http", "udp", "UNCONN", "0.0.0.0:53", "domain", `"tester"`} {
		if !strings.Contains(table, want) {
			t.Errorf("ss output lacks %q:\n%s", want, table)
		}
	}
	out.Reset()
	if err := run(ctx, []string{"ss", "-t", "-json"}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), `"udp"`) || !strings.Contains(out.String(), `"local":"0.0.0.0:80"`) {
		t.Fatalf("ss -t -json: %s", out.String())
	}
}

func TestPortsLooksUpTheRegistry(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"ports", "80"}, []string{"80/tcp", "http"}},
		{[]string{"ports", "-proto", "udp", "domain"}, []string{"53/udp", "domain"}},
		{[]string{"ports", "31337"}, []string{"! used by"}},
		{[]string{"ports", "-range", "system", "-proto", "tcp"}, []string{"21/tcp", "ftp", "23/tcp", "telnet", "25/tcp", "smtp", "135/tcp", "epmap", "139/tcp", "netbios-ssn"}},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), tc.args, &out); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%.500s", tc.args, w, out.String())
			}
		}
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	var out bytes.Buffer
	run(context.Background(), []string{"-h"}, &out)
	for _, c := range commands {
		if !strings.Contains(out.String(), c.name) {
			t.Errorf("help lacks %s", c.name)
		}
	}
}

func TestSimulatedDemoTellsTheStoryAndReplays(t *testing.T) {
	var outs [2]string
	var hashes [2]string
	for i := range 2 {
		sim.Run(t, func(t *testing.T, n *sim.Network) {
			var out bytes.Buffer
			c := demoConfig{seed: 7, loss: 0.02, pcapFile: t.TempDir() + "/demo.pcap"}
			if err := demoStory(n, c, &out); err != nil {
				t.Fatalf("demo: %v\n%s", err, out.String())
			}
			outs[i], hashes[i] = out.String(), n.TraceHash()
			if fi, err := os.Stat(c.pcapFile); err != nil || fi.Size() < 1000 {
				t.Fatalf("pcap %v %v", fi, err)
			}
		}, demoOptions(t)...)
	}
	for _, want := range []string{"1. Raw sockets", "reply from 198.18.0.1", "2. Datagram sockets", `"hello from laptop"`,
		"3. Stream sockets", "GET /before: 200 OK", "out and back intact", "4. A partition", "GET /during: failed", "GET /after: 200 OK",
		"host web:", "LISTEN", "ESTABLISHED", "trace:", "capture:"} {
		if !strings.Contains(outs[0], want) {
			t.Errorf("demo output lacks %q:\n%s", want, outs[0])
		}
	}
	if hashes[0] != hashes[1] {
		t.Fatalf("the same seed gave two runs: trace %s and %s", hashes[0], hashes[1])
	}
	strip := func(s string) string { // the capture path differs between the runs
		i := strings.LastIndex(s, "capture:")
		return s[:i]
	}
	if strip(outs[0]) != strip(outs[1]) {
		t.Fatalf("the same seed told two stories:\n%s\n----\n%s", outs[0], outs[1])
	}
}

func demoOptions(t *testing.T) []sim.Option {
	opts, closeTrace, err := demoConfig{seed: 7, loss: 0.02}.options()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeTrace)
	return opts
}
