package interop_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth/internal/netns"
)

// kernelSockets makes n non-blocking TCP sockets in the namespace. A
// socket belongs to the namespace it was made in, so any goroutine may
// then connect them (kernelConnect), all at once.
func kernelSockets(t *testing.T, ns *netns.NS, n int) []int {
	t.Helper()
	fds := make([]int, 0, n)
	err := ns.Do(func() error {
		for range n {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
		}
		return nil
	})
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		t.Fatalf("kernel sockets in %s: %v", ns.Name(), err)
	}
	return fds
}

// kernelConnect connects the non-blocking kernel socket fd to dst, waiting
// on Go's poller until the handshake completes or the deadline passes, and
// returns it as a *net.TCPConn. It takes the fd: it is closed either way.
func kernelConnect(fd int, dst netip.AddrPort, deadline time.Time) (net.Conn, error) {
	cerr := unix.Connect(fd, &unix.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()})
	if cerr != nil && !errors.Is(cerr, unix.EINPROGRESS) {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", cerr)
	}
	f := os.NewFile(uintptr(fd), "kernel-tcp") // non-blocking: the poller watches it
	defer f.Close()
	if err := f.SetDeadline(deadline); err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	// Writable means the handshake is over; SO_ERROR says how it went.
	var soErr error
	polled := cerr == nil // connected at once: no need to wait
	werr := rc.Write(func(fd uintptr) bool {
		if !polled {
			polled = true
			return false
		}
		n, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case err != nil:
			soErr = err
		case n != 0:
			soErr = unix.Errno(n)
		}
		return true
	})
	if werr != nil {
		return nil, werr
	}
	if soErr != nil {
		return nil, os.NewSyscallError("connect", soErr)
	}
	return net.FileConn(f) // a dup of fd; f's own is closed on return
}

// 1,000 kernel connections at once to one berth listener: the kernel
// starts all the handshakes together (non-blocking connects from 1,000
// goroutines); each connection carries a line to a goroutine-per-connection
// echo server on berth and back, then closes. All must succeed.
func TestThousandKernelConnectionsToOneBerthListener(t *testing.T) {
	const conns = 1000
	ns := netns.New(t)
	h := attachBare(t, ns)
	ln, err := h.Listen("tcp", ":echo")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var served sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Add(1)
			go func() {
				defer served.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				io.Copy(c, c)
			}()
		}
	}()

	fds := kernelSockets(t, ns, conns)
	dst := netip.MustParseAddrPort("198.18.0.2:7")
	deadline := time.Now().Add(60 * time.Second)
	start := time.Now()
	errs := make(chan error, conns)
	var all sync.WaitGroup
	for i, fd := range fds {
		all.Add(1)
		go func() {
			defer all.Done()
			errs <- func() error {
				c, err := kernelConnect(fd, dst, deadline)
				if err != nil {
					return fmt.Errorf("connection %d: %w", i, err)
				}
				defer c.Close()
				c.SetDeadline(deadline)
				line := fmt.Sprintf("connection %d of %d from the kernel\n", i, conns)
				if _, err := io.WriteString(c, line); err != nil {
					return fmt.Errorf("connection %d: %w", i, err)
				}
				got, err := bufio.NewReader(c).ReadString('\n')
				if err != nil || got != line {
					return fmt.Errorf("connection %d: echo %q (%v), want %q", i, got, err, line)
				}
				return nil
			}()
		}()
	}
	all.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed < 10 {
				t.Error(err)
			}
			failed++
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d connections failed", failed, conns)
	}
	t.Logf("%d kernel connections echoed by berth in %v", conns, time.Since(start).Round(time.Millisecond))
	// The kernel's TUN queue holds 500 packets; a burst beyond that is
	// dropped and the kernel retransmits. Worth knowing, not a failure.
	t.Logf("kernel: TUN tx_dropped %s; /proc/net/snmp:\n%s",
		strings.TrimSpace(runNS(t, ns, wait, "cat", "/sys/class/net/"+ns.Dev()+"/statistics/tx_dropped")),
		runNS(t, ns, wait, "grep", "^Tcp:", "/proc/net/snmp"))
	served.Wait()
	st := h.Stack().Stats().Tcp
	if st.PassiveOpens+st.SyncookiesRecv < conns || st.EstabResets != 0 {
		t.Errorf("berth counters: PassiveOpens %d, SyncookiesRecv %d, EstabResets %d; want %d connections made and no resets",
			st.PassiveOpens, st.SyncookiesRecv, st.EstabResets, conns)
	}
	t.Logf("berth counters: PassiveOpens %d, SyncookiesSent %d, ListenDrops %d, ListenOverflows %d, RetransSegs %d",
		st.PassiveOpens, st.SyncookiesSent, st.ListenDrops, st.ListenOverflows, st.RetransSegs)
}
