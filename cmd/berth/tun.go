package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"

	"berth"
	"berth/internal/wellknown"
	"berth/link"
	"berth/link/pcap"
	"berth/link/tun"
	"berth/stack"
)

// tunFlags are the flags every TUN-attached command shares.
type tunFlags struct {
	dev, addr, kernelAddr, pcapFile string
	mtu                             int
}

func (t *tunFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.dev, "tun", "", "TUN device to attach to, created if missing (required)")
	fs.StringVar(&t.addr, "addr", "198.18.0.2/24", "berth's address and prefix on the device")
	fs.StringVar(&t.kernelAddr, "kernel-addr", "", "if set, give the kernel's end of the device this address and bring it up")
	fs.StringVar(&t.pcapFile, "pcap", "", "write every packet on the device to this pcap file")
	fs.IntVar(&t.mtu, "mtu", 1500, "MTU of the device")
}

// attach opens the TUN device and returns a berth host on it.
func (t *tunFlags) attach(name string) (*berth.Host, func(), error) {
	if t.dev == "" {
		return nil, nil, errors.New("-tun NAME is required")
	}
	prefix, err := netip.ParsePrefix(t.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("-addr: %w", err)
	}
	dev, err := tun.Open(t.dev, tun.MTU(t.mtu))
	if err != nil {
		return nil, nil, err
	}
	var lk link.Link = dev
	var closers []func()
	if t.pcapFile != "" {
		f, err := os.Create(t.pcapFile)
		if err != nil {
			dev.Close()
			return nil, nil, err
		}
		pl, err := pcap.Wrap(dev, f)
		if err != nil {
			dev.Close()
			return nil, nil, err
		}
		lk = pl
		closers = append(closers, func() { f.Close() })
	}
	if t.kernelAddr != "" {
		if err := configureKernelSide(t.dev, t.kernelAddr); err != nil {
			lk.Close()
			return nil, nil, err
		}
	}
	s := berth.NewHost(berth.Options{Name: name})
	if err := s.AddLink(lk, prefix); err != nil {
		lk.Close()
		return nil, nil, err
	}
	return s, func() {
		s.Close()
		for _, c := range closers {
			c()
		}
	}, nil
}

// configureKernelSide does `ip addr add ADDR dev DEV; ip link set DEV up`.
func configureKernelSide(dev, addr string) error {
	l, err := netlink.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("kernel side of %s: %w", dev, err)
	}
	a, err := netlink.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("-kernel-addr: %w", err)
	}
	if err := netlink.AddrReplace(l, a); err != nil {
		return fmt.Errorf("ip addr add %s dev %s: %w", addr, dev, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("ip link set %s up: %w", dev, err)
	}
	return nil
}

func runServe(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("serve", "serve -tun NAME [-addr 198.18.0.2/24] [-kernel-addr 198.18.0.1/24] [-pcap FILE] [-mtu N]")
	var tf tunFlags
	tf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, done, err := tf.attach("berth")
	if err != nil {
		return err
	}
	defer done()
	svc, err := wellknown.Serve(h.Stack(), netip.IPv4Unspecified())
	if err != nil {
		return err
	}
	defer svc.Close()
	stopHTTP, err := serveHTTP(h)
	if err != nil {
		return err
	}
	defer stopHTTP()
	ctl, err := serveControl(ctx, h)
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	fmt.Fprintf(out, "berth serving on %s as %s: tcp+udp echo 7, discard 9, daytime 13, chargen 19; http 80\n", tf.dev, tf.addr)
	fmt.Fprintf(out, "control socket %s ('berth ss' reads it); Ctrl-C to stop\n", ctl)
	<-ctx.Done()
	fmt.Fprintf(out, "\nstopping; counters:\n")
	h.Stack().Stats().WriteTo(out)
	return nil
}

func runPing(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("ping", "ping -tun NAME [-addr 198.18.0.2/24] [-c N] [-s SIZE] [-i INTERVAL] [-W TIMEOUT] HOST")
	var tf tunFlags
	tf.register(fs)
	count := fs.Int("c", 4, "number of echo requests")
	size := fs.Int("s", 56, "payload bytes per request")
	interval := fs.Duration("i", time.Second, "time between requests")
	wait := fs.Duration("W", time.Second, "how long to wait for each reply")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("ping needs one HOST")
	}
	dst, err := netip.ParseAddr(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("HOST must be an IPv4 address: %w", err)
	}
	h, done, err := tf.attach("berth-ping")
	if err != nil {
		return err
	}
	defer done()
	return pingLoop(ctx, h.Stack(), dst, *count, *size, *interval, *wait, out)
}

// pingLoop prints like ping(8) and fails when no reply came back.
func pingLoop(ctx context.Context, s *stack.Stack, dst netip.Addr, count, size int, interval, wait time.Duration, out io.Writer) error {
	fmt.Fprintf(out, "PING %v: %d data bytes\n", dst, size)
	id := uint16(os.Getpid())
	got := 0
	for i := range count {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(interval):
			}
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		r, err := s.Ping(pctx, dst, id, uint16(i), size)
		cancel()
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			fmt.Fprintf(out, "no reply for icmp_seq=%d: %v\n", i, err)
			continue
		}
		got++
		fmt.Fprintf(out, "%d bytes from %v: icmp_seq=%d ttl=%d time=%.3f ms\n", r.Size+8, r.From, i, r.TTL, float64(r.RTT.Microseconds())/1000)
	}
	fmt.Fprintf(out, "--- %v ping statistics: %d transmitted, %d received ---\n", dst, count, got)
	if got == 0 {
		return &net.OpError{Op: "ping", Net: "ip4:icmp", Err: errors.New("no reply")}
	}
	return nil
}
