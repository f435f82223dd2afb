//go:build linux

package tun

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"berth/link"
)

// devPath is the clone device; tests point it elsewhere.
var devPath = "/dev/net/tun"

// Link is an open TUN device.
type Link struct {
	f    *os.File
	name string
	mtu  int
	recv atomic.Pointer[receiver]

	closed atomic.Bool
	once   sync.Once
	wg     sync.WaitGroup
	err    atomic.Pointer[error] // why the reader stopped, if not Close

	txPackets, txBytes, txDropped atomic.Uint64
	rxPackets, rxBytes, rxDropped atomic.Uint64
}

var _ link.Link = (*Link)(nil)

type receiver struct{ r link.Receiver }

// Open creates TUN device name, or attaches to it if it exists, and starts
// reading packets from it. An empty name lets the kernel choose (tun0,
// tun1, ...); Name reports it. The device is not brought up and gets no
// address: that is the caller's (ip link set NAME up).
func Open(name string, opts ...Option) (*Link, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.mtu != 0 && (c.mtu < minMTU || c.mtu > maxPacket) {
		return nil, fmt.Errorf("tun: MTU %d out of range [%d, %d]", c.mtu, minMTU, maxPacket)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, fmt.Errorf("tun: device name %q: %w", name, err)
	}
	// O_NONBLOCK so that os.NewFile hands the descriptor to the runtime's
	// poller: a blocked Read then ends when Close is called.
	fd, err := unix.Open(devPath, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, openError(err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, setiffError(name, err)
	}
	name = ifr.Name()
	mtu, err := deviceMTU(name, c.mtu)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	l := &Link{f: os.NewFile(uintptr(fd), devPath), name: name, mtu: mtu}
	l.wg.Add(1)
	go l.read()
	return l, nil
}

func openError(err error) error {
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENODEV), errors.Is(err, unix.ENXIO):
		return fmt.Errorf("%w: opening %s: %w (load the tun module, or give the container /dev/net/tun)",
			ErrUnavailable, devPath, err)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return fmt.Errorf("tun: opening %s: %w: run as root (or with CAP_NET_ADMIN and access to the device)",
			devPath, err)
	}
	return fmt.Errorf("tun: opening %s: %w", devPath, err)
}

func setiffError(name string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("tun: creating device %q: %w: run as root (or with CAP_NET_ADMIN)", name, err)
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("tun: device %q: %w: another process has it open", name, err)
	case errors.Is(err, unix.EINVAL):
		return fmt.Errorf("tun: device %q: %w: a device of that name exists and is not a TUN device", name, err)
	}
	return fmt.Errorf("tun: creating device %q: %w", name, err)
}

// deviceMTU sets the MTU of device name if want is not 0, and returns it.
// The ioctl goes through a socket of the calling thread's network
// namespace, which is where TUNSETIFF put the device.
func deviceMTU(name string, want int) (int, error) {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("tun: socket for MTU ioctl: %w", err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if want != 0 {
		ifr.SetUint32(uint32(want))
		if err := unix.IoctlIfreq(s, unix.SIOCSIFMTU, ifr); err != nil {
			return 0, fmt.Errorf("tun: setting MTU of %s to %d: %w", name, want, err)
		}
		return want, nil
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFMTU, ifr); err != nil {
		return 0, fmt.Errorf("tun: reading MTU of %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

// Name is the device's name.
func (l *Link) Name() string { return l.name }

// MTU is the device's MTU as set or read when it was opened.
func (l *Link) MTU() int { return l.mtu }

// Attach sets the receiver of packets the kernel sends; nil detaches.
func (l *Link) Attach(r link.Receiver) {
	if r == nil {
		l.recv.Store(nil)
		return
	}
	l.recv.Store(&receiver{r})
}

// Write hands each packet to the kernel, one write(2) per packet. A packet
// the kernel refuses as malformed (EINVAL: not IPv4 or IPv6) is dropped and
// counted in TxDropped, as a lossy wire would; other errors end the batch.
func (l *Link) Write(pkts [][]byte) (int, error) {
	if l.closed.Load() {
		return 0, link.ErrClosed
	}
	for i, p := range pkts {
		if len(p) > l.mtu {
			return i, link.ErrTooBig
		}
		if _, err := l.f.Write(p); err != nil {
			switch {
			case errors.Is(err, unix.EINVAL):
				l.txDropped.Add(1)
				continue
			case errors.Is(err, os.ErrClosed):
				return i, link.ErrClosed
			}
			return i, fmt.Errorf("tun: writing to %s: %w", l.name, err)
		}
		l.txPackets.Add(1)
		l.txBytes.Add(uint64(len(p)))
	}
	return len(pkts), nil
}

// read delivers packets from the device until Close.
func (l *Link) read() {
	defer l.wg.Done()
	// One buffer, reused: Deliver only lends it. It holds the largest IP
	// packet rather than just the MTU because the MTU can be raised under
	// us (ip link set mtu), and a short read would silently cut packets.
	buf := make([]byte, maxPacket)
	for {
		n, err := l.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				// EBADFD when the device is deleted, for one; retrying
				// would spin, so stop and say why.
				err = fmt.Errorf("tun: reading from %s: %w", l.name, err)
				l.err.Store(&err)
			}
			return
		}
		if r := l.recv.Load(); r != nil {
			l.rxPackets.Add(1)
			l.rxBytes.Add(uint64(n))
			r.r.Deliver(buf[:n])
		} else {
			l.rxDropped.Add(1)
		}
	}
}

// Err reports why the reader stopped before Close, if it did.
func (l *Link) Err() error {
	if e := l.err.Load(); e != nil {
		return *e
	}
	return nil
}

// Close closes the device file, which ends the reader at once, and waits
// for it. A device that is not persistent disappears with its last file.
// Because Close waits for the reader, a Receiver must not call it from
// Deliver.
func (l *Link) Close() error {
	var err error
	l.once.Do(func() {
		l.closed.Store(true)
		err = l.f.Close()
		l.wg.Wait()
	})
	return err
}

// Stats returns the link's counters. RxDropped counts packets that arrived
// with no receiver attached; TxDropped packets the kernel refused.
func (l *Link) Stats() link.Stats {
	return link.Stats{
		TxPackets: l.txPackets.Load(), TxBytes: l.txBytes.Load(), TxDropped: l.txDropped.Load(),
		RxPackets: l.rxPackets.Load(), RxBytes: l.rxBytes.Load(), RxDropped: l.rxDropped.Load(),
	}
}
