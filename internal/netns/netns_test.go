package netns

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"berth/link"
)

func ipOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestNamespaceIsSetUp(t *testing.T) {
	ns := New(t)
	if !strings.HasPrefix(ns.Name(), "berth-test-") {
		t.Fatalf("name %q", ns.Name())
	}
	if l := ns.Link(); l == nil || l.Name() != DefaultDev || l.MTU() != 1500 {
		t.Fatalf("link %v", l)
	}
	addr := ipOut(t, "-n", ns.Name(), "addr", "show", "dev", ns.Dev())
	if !strings.Contains(addr, "inet 198.18.0.1/24") {
		t.Fatalf("kernel address missing:\n%s", addr)
	}
	if !strings.Contains(addr, ",UP") {
		t.Fatalf("device not up:\n%s", addr)
	}
	// IPv6 was off before the device came up: no link-local address.
	if strings.Contains(addr, "inet6") {
		t.Fatalf("device has IPv6 addresses:\n%s", addr)
	}
	out, err := ns.Run(t.Context(), "cat", "/proc/sys/net/ipv6/conf/"+ns.Dev()+"/disable_ipv6")
	if _, noV6 := os.Stat("/proc/sys/net/ipv6"); noV6 == nil && (err != nil || strings.TrimSpace(string(out)) != "1") {
		t.Fatalf("disable_ipv6 = %q, %v", out, err)
	}
	if lo := ipOut(t, "-n", ns.Name(), "link", "show", "lo"); !strings.Contains(lo, "UP") {
		t.Fatalf("lo down:\n%s", lo)
	}
	// The device is in the test namespace, not in ours.
	if err := exec.Command("ip", "link", "show", "dev", ns.Dev()).Run(); err == nil {
		if host := ipOut(t, "link", "show", "dev", ns.Dev()); strings.Contains(host, "198.18.0.1") {
			t.Fatal("device leaked into the host namespace")
		}
	}
}

// ipv4ICMP parses just enough of an IPv4 packet by hand to recognise an
// ICMP echo request: this helper must not rely on berth's wire package.
func ipv4ICMP(p []byte) (src, dst netip.Addr, typ byte, ok bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return
	}
	ihl := int(p[0]&0x0f) * 4
	if ihl < 20 || len(p) < ihl+8 || int(binary.BigEndian.Uint16(p[2:])) != len(p) || p[9] != 1 {
		return
	}
	return netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20])), p[ihl], true
}

func TestKernelPingArrivesOnTUN(t *testing.T) {
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping missing; install iputils-ping")
	}
	ns := New(t)
	got := make(chan []byte, 16)
	ns.Link().Attach(link.ReceiverFunc(func(p []byte) {
		select {
		case got <- bytes.Clone(p):
		default:
		}
	}))
	// Nothing answers on berth's side, so ping itself fails; what matters
	// is that its request crossed the TUN to us.
	out, err := ns.Run(t.Context(), "ping", "-c1", "-W1", BerthAddr.Addr().String())
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case p := <-got:
			src, dst, typ, ok := ipv4ICMP(p)
			if !ok || typ != 8 {
				t.Logf("other packet: %x", p)
				continue
			}
			if src != KernelAddr.Addr() || dst != BerthAddr.Addr() {
				t.Fatalf("echo request %v → %v", src, dst)
			}
			return
		case <-deadline:
			t.Fatalf("no echo request reached the TUN; ping said:\n%s", out)
		}
	}
}

func TestCleanupRemovesEverything(t *testing.T) {
	var name string
	var pid int
	t.Run("inner", func(t *testing.T) {
		ns := New(t)
		name = ns.Name()
		p, err := ns.Start("sleep", "1000")
		if err != nil {
			t.Fatal(err)
		}
		pid = p.Pid()
		if !strings.Contains(ipOut(t, "netns", "list"), name) {
			t.Fatal("namespace not listed")
		}
	})
	if name == "" {
		t.Skip("inner test skipped")
	}
	if strings.Contains(ipOut(t, "netns", "list"), name) {
		t.Fatalf("namespace %s survived its test", name)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("started command %d still exists: %v", pid, err)
	}
}

func TestRunAndStart(t *testing.T) {
	ns := New(t)
	out, err := ns.Run(t.Context(), "ip", "-br", "addr", "show", "dev", ns.Dev())
	if err != nil || !strings.Contains(string(out), "198.18.0.1/24") {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	p, err := ns.Start("sh", "-c", "echo started; ip -br link show lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if o := string(p.Output()); !strings.Contains(o, "started") || !strings.Contains(o, "lo") {
		t.Fatalf("output %q", o)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := ns.Run(ctx, "sleep", "10"); err == nil {
		t.Fatal("Run outlived its context")
	}
}

func TestDoEntersNamespace(t *testing.T) {
	ns := New(t)
	var inside, outside string
	if err := ns.Do(func() error {
		b, err := exec.Command("readlink", "/proc/thread-self/ns/net").Output()
		inside = string(b)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b, _ := exec.Command("readlink", "/proc/self/ns/net").Output()
	outside = string(b)
	want, err := exec.Command("ip", "netns", "exec", ns.Name(), "readlink", "/proc/self/ns/net").Output()
	if err != nil {
		t.Fatal(err)
	}
	if inside != string(want) || inside == outside {
		t.Fatalf("Do ran in %q; namespace is %q, ours %q", inside, want, outside)
	}
}
