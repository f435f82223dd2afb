//go:build !linux

package tun

import (
	"fmt"
	"runtime"

	"berth/link"
)

// Link is a TUN device; on this system there are none.
type Link struct{}

// Open reports that TUN devices are unavailable here.
func Open(name string, opts ...Option) (*Link, error) {
	return nil, fmt.Errorf("%w on %s: TUN devices are Linux-only in berth", ErrUnavailable, runtime.GOOS)
}

func (*Link) Name() string                { return "" }
func (*Link) MTU() int                    { return 0 }
func (*Link) Write([][]byte) (int, error) { return 0, link.ErrClosed }
func (*Link) Attach(link.Receiver)        {}
func (*Link) Close() error                { return nil }
func (*Link) Err() error                  { return nil }
func (*Link) Stats() link.Stats           { return link.Stats{} }
