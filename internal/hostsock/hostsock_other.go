//go:build !linux

package hostsock

import (
	"errors"
	"fmt"
	"runtime"

	"berth/internal/sstable"
)

// Sockets is Linux-only: other systems have neither sock_diag nor /proc/net.
func Sockets() ([]sstable.Row, error) {
	return nil, fmt.Errorf("hostsock: host sockets on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
