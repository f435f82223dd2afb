//go:build linux

package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"berth/link/tun"
)

// New creates a namespace berth-test-<random> with lo up and a TUN device
// whose kernel end is KernelAddr, with IPv6 disabled on it before it comes
// up (so the kernel sends no router solicitations or MLD reports to berth).
// This process holds berth's end (Link). Cleanup is registered with t.
func New(t testing.TB, opts ...Option) *NS {
	t.Helper()
	c := config{dev: DefaultDev}
	for _, o := range opts {
		o(&c)
	}
	if os.Geteuid() != 0 {
		t.Skip("netns: needs root to create network namespaces and TUN devices; run this test as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("netns: the ip command is missing; install iproute2")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("netns: TUN unavailable: %v", err)
	}
	var r [4]byte
	rand.Read(r[:])
	ns := &NS{name: "berth-test-" + hex.EncodeToString(r[:]), dev: c.dev}
	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Fatalf("netns: ip netns add %s: %v\n%s", ns.name, err, out)
	}
	t.Cleanup(func() { ns.cleanup(t) })

	var topts []tun.Option
	if c.mtu != 0 {
		topts = append(topts, tun.MTU(c.mtu))
	}
	err := ns.Do(func() error {
		l, err := tun.Open(c.dev, topts...)
		if err != nil {
			return err
		}
		ns.link = l
		// The thread is inside the namespace, so /proc/sys/net shows the
		// namespace's settings. No such file means no IPv6 at all.
		err = os.WriteFile("/proc/sys/net/ipv6/conf/"+c.dev+"/disable_ipv6", []byte("1"), 0)
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("netns: TUN %s in %s: %v", c.dev, ns.name, err)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"addr", "add", KernelAddr.String(), "dev", c.dev},
		{"link", "set", c.dev, "up"},
	} {
		full := append([]string{"-n", ns.name}, args...)
		if out, err := exec.Command("ip", full...).CombinedOutput(); err != nil {
			t.Fatalf("netns: ip %s: %v\n%s", strings.Join(full, " "), err, out)
		}
	}
	return ns
}

// Behind makes a second namespace reached through this one, as a host
// behind a router: a veth pair whose router end has the given MTU (the far
// end keeps 1500, so the host behind advertises a full-sized MSS and the
// narrow hop sits in the middle of the path), RouterAddr in ns and
// BehindAddr in the new namespace, ns forwarding
// between its TUN and the veth, and the new namespace's default route
// back through RouterAddr. berth reaches BehindAddr with KernelAddr as its
// gateway. A path MTU below berth's link MTU makes ns a router that
// answers berth's full-sized DF packets with "fragmentation needed".
// The new namespace has no TUN (Link is nil) and goes away with the test.
func (ns *NS) Behind(t testing.TB, mtu int) *NS {
	t.Helper()
	var r [4]byte
	rand.Read(r[:])
	b := &NS{name: "berth-test-" + hex.EncodeToString(r[:])}
	if out, err := exec.Command("ip", "netns", "add", b.name).CombinedOutput(); err != nil {
		t.Fatalf("netns: ip netns add %s: %v\n%s", b.name, err, out)
	}
	t.Cleanup(func() { b.cleanup(t) })
	m := fmt.Sprint(mtu)
	for _, args := range [][]string{
		{"-n", ns.name, "link", "add", "vrouter", "mtu", m, "type", "veth", "peer", "name", "vbehind", "netns", b.name},
		{"-n", ns.name, "addr", "add", RouterAddr.String(), "dev", "vrouter"},
		{"-n", ns.name, "link", "set", "vrouter", "up"},
		{"-n", b.name, "link", "set", "lo", "up"},
		{"-n", b.name, "addr", "add", BehindAddr.String(), "dev", "vbehind"},
		{"-n", b.name, "link", "set", "vbehind", "up"},
		{"-n", b.name, "route", "add", "default", "via", RouterAddr.Addr().String()},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("netns: ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	err := ns.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0)
	})
	if err != nil {
		t.Fatalf("netns: forwarding in %s: %v", ns.name, err)
	}
	return b
}

// Do runs f on an OS thread that has entered the namespace, for whatever
// binds to the namespace current when it is made: opening a TUN device,
// creating a socket, writing /proc/sys/net. f must not start goroutines
// that expect to be in the namespace: they are not.
func (ns *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	// A goroutine of its own, so that if the thread cannot get back to
	// the original namespace it stays locked and dies with the goroutine
	// instead of returning to the scheduler in the wrong namespace.
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: own namespace: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/var/run/netns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: %w", err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: entering %s: %w", ns.name, err)
			return
		}
		ferr := f()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns: leaving %s: %w", ns.name, err) // thread stays locked: it exits
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// Run runs a command inside the namespace (ip netns exec) and returns its
// combined output.
func (ns *NS) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.name, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd.CombinedOutput()
}

// Start starts a command inside the namespace in the background. The
// test's cleanup kills it (and anything it started) if it is still running.
func (ns *NS) Start(name string, args ...string) (*Proc, error) {
	p := &Proc{cmd: exec.Command("ip", append([]string{"netns", "exec", ns.name, name}, args...)...)}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	ns.mu.Lock()
	ns.procs = append(ns.procs, p)
	ns.mu.Unlock()
	return p, nil
}

func (ns *NS) cleanup(t testing.TB) {
	ns.mu.Lock()
	procs := ns.procs
	ns.procs = nil
	ns.mu.Unlock()
	for _, p := range procs {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) // its process group
		p.Wait()
	}
	if ns.link != nil {
		if err := ns.link.Close(); err != nil {
			t.Errorf("netns: closing TUN: %v", err)
		}
	}
	if out, err := exec.Command("ip", "netns", "del", ns.name).CombinedOutput(); err != nil {
		t.Errorf("netns: ip netns del %s: %v\n%s", ns.name, err, out)
	}
}
