// Package netns gives tests a throwaway Linux network namespace with a TUN
// device between the kernel and berth: the kernel end has 198.18.0.1/24,
// berth's end is 198.18.0.2/24 (RFC 2544's benchmarking range, which no
// real network routes). Kernel tools run inside with Run and Start. The
// namespace, the device and every started command go away when the test
// ends, also when it fails.
//
// New skips the test, with the reason, when it cannot work: not root, no
// ip command, no /dev/net/tun, or not Linux.
package netns

import (
	"bytes"
	"net/netip"
	"os/exec"
	"sync"

	"berth/link/tun"
)

var (
	// KernelAddr is the kernel's address on the TUN device.
	KernelAddr = netip.MustParsePrefix("198.18.0.1/24")
	// BerthAddr is the address a berth host on the TUN link should use.
	BerthAddr = netip.MustParsePrefix("198.18.0.2/24")
	// RouterAddr and BehindAddr are the ends of the veth pair NS.Behind
	// makes: the first namespace's, and the namespace behind it.
	RouterAddr = netip.MustParsePrefix("198.18.1.1/24")
	BehindAddr = netip.MustParsePrefix("198.18.1.2/24")
)

// DefaultDev is the TUN device's name inside the namespace.
const DefaultDev = "berth0"

// Option configures New.
type Option func(*config)

type config struct {
	dev string
	mtu int
}

// Dev names the TUN device (default berth0).
func Dev(name string) Option { return func(c *config) { c.dev = name } }

// MTU sets the TUN device's MTU (default 1500).
func MTU(n int) Option { return func(c *config) { c.mtu = n } }

// NS is a network namespace made for one test.
type NS struct {
	name string
	dev  string
	link *tun.Link

	mu    sync.Mutex
	procs []*Proc
}

// Name is the namespace's name, as `ip netns` knows it.
func (ns *NS) Name() string { return ns.name }

// Dev is the TUN device's name inside the namespace.
func (ns *NS) Dev() string { return ns.dev }

// Link is berth's end of the TUN device. The test's cleanup closes it.
func (ns *NS) Link() *tun.Link { return ns.link }

// Proc is a command started in the namespace.
type Proc struct {
	cmd  *exec.Cmd
	out  lockedBuffer
	once sync.Once
	err  error
}

// Wait waits for the command to exit; it may be called more than once.
func (p *Proc) Wait() error {
	p.once.Do(func() { p.err = p.cmd.Wait() })
	return p.err
}

// Output returns what the command has written so far, stdout and stderr
// interleaved.
func (p *Proc) Output() []byte { return p.out.Bytes() }

// Pid is the command's process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
