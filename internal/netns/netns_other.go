//go:build !linux

package netns

import (
	"context"
	"errors"
	"testing"
)

// New skips the test: network namespaces are Linux's.
func New(t testing.TB, opts ...Option) *NS {
	t.Helper()
	t.Skip("netns: network namespaces need Linux")
	return nil
}

var errNotLinux = errors.New("netns: not Linux")

// Do is unavailable off Linux.
func (ns *NS) Do(f func() error) error { return errNotLinux }

// Run is unavailable off Linux.
func (ns *NS) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return nil, errNotLinux
}

// Start is unavailable off Linux.
func (ns *NS) Start(name string, args ...string) (*Proc, error) { return nil, errNotLinux }

// Behind skips the test: network namespaces are Linux's.
func (ns *NS) Behind(t testing.TB, mtu int) *NS {
	t.Helper()
	t.Skip("netns: network namespaces need Linux")
	return nil
}
