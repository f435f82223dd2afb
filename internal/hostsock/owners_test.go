package hostsock

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestScanOwners(t *testing.T) {
	root := t.TempDir()
	mk := func(pid, comm string, fds map[string]string) {
		t.Helper()
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		if comm != "" {
			if err := os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for fd, target := range fds {
			if err := os.Symlink(target, filepath.Join(dir, "fd", fd)); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("100", "server", map[string]string{"3": "socket:[555]", "4": "socket:[556"})
	mk("7", "init", map[string]string{"4": "socket:[555]", "5": "/dev/null"}) // shares 555 with 100: the lower PID wins
	mk("200", "worker", map[string]string{"0": "socket:[777]", "1": "pipe:[777]"})
	mk("400", "other", map[string]string{"1": "socket:[888]"})             // not asked for
	mk("500", "", map[string]string{"9": "socket:[999]"})                  // comm unreadable: PID still known
	mk("abc", "nope", map[string]string{"1": "socket:[777]"})              // not a process
	if err := os.MkdirAll(filepath.Join(root, "300"), 0o755); err != nil { // no fd directory
		t.Fatal(err)
	}
	if err := os.Symlink("100", filepath.Join(root, "self")); err != nil {
		t.Fatal(err)
	}

	got := scanOwners(root, map[uint64]bool{555: true, 556: true, 777: true, 999: true, 1234: true})
	want := map[uint64]owner{
		555: {pid: 7, comm: "init"},
		777: {pid: 200, comm: "worker"},
		999: {pid: 500, comm: ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("owners %+v, want %+v", got, want)
	}
	if got := scanOwners(filepath.Join(root, "missing"), map[uint64]bool{1: true}); len(got) != 0 {
		t.Fatalf("missing /proc gave %+v", got)
	}
}

func TestSocketInode(t *testing.T) {
	for link, want := range map[string]uint64{"socket:[0]": 0, "socket:[18446744073709551615]": 1<<64 - 1, "socket:[42]": 42} {
		if got, ok := socketInode(link); !ok || got != want {
			t.Errorf("socketInode(%q) = %d, %v", link, got, ok)
		}
	}
	for _, link := range []string{"socket:[]", "socket:[-1]", "socket:[42", "socket:42]", "anon_inode:[42]", "socket:[18446744073709551616]", ""} {
		if _, ok := socketInode(link); ok {
			t.Errorf("socketInode(%q) accepted", link)
		}
	}
}
