//go:build linux

package tun

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestMissingDeviceSaysUnavailable(t *testing.T) {
	old := devPath
	devPath = filepath.Join(t.TempDir(), "no-such-tun")
	defer func() { devPath = old }()
	_, err := Open("berth-x")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping ENOENT", err)
	}
	if !strings.Contains(err.Error(), "TUN unavailable") {
		t.Fatalf("message %q does not say TUN is unavailable", err)
	}
}

func TestBadArguments(t *testing.T) {
	if _, err := Open(strings.Repeat("x", 16)); err == nil {
		t.Fatal("accepted a 16-byte device name (IFNAMSIZ is 16 with the NUL)")
	}
	for _, mtu := range []int{67, 65536} {
		if _, err := Open("berth-x", MTU(mtu)); err == nil || !strings.Contains(err.Error(), "MTU") {
			t.Fatalf("MTU %d: %v", mtu, err)
		}
	}
}

// The not-root case runs for real: the test binary re-runs itself as
// nobody, whose Open must fail with a permission error that says to run
// as root.
func TestNotRootSaysSo(t *testing.T) {
	if os.Getenv("BERTH_TUN_AS_NOBODY") == "1" {
		_, err := Open("berth-x")
		if err == nil {
			t.Fatal("Open succeeded as nobody")
		}
		if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "root") {
			t.Fatalf("err = %v, want a permission error that mentions root", err)
		}
		return
	}
	if os.Geteuid() != 0 {
		// Already not root: check the error directly.
		if _, err := Open("berth-x"); !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "root") {
			t.Fatalf("err = %v", err)
		}
		return
	}
	// nobody must be able to run the binary: copy it to a directory it can read.
	dir, err := os.MkdirTemp("", "berth-tun-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "tun.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestNotRootSaysSo$", "-test.v")
	cmd.Env = append(os.Environ(), "BERTH_TUN_AS_NOBODY=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNotRootSaysSo") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}
