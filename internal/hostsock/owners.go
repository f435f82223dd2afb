package hostsock

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// owner is a process holding a socket.
type owner struct {
	pid  int
	comm string
}

// scanOwners finds, for each socket inode in want, the process that holds
// it, by reading every /proc/PID/fd/N link ("socket:[INODE]"), as ss -p
// does. A socket shared by several processes (after fork, or passed over
// a Unix socket) is credited to the lowest PID, so the answer does not
// depend on the order /proc lists processes in. Processes that vanish or
// that we may not inspect are skipped: the table shows what we can see.
func scanOwners(procRoot string, want map[uint64]bool) map[uint64]owner {
	found := make(map[uint64]owner)
	if len(want) == 0 {
		return found
	}
	dirs, err := os.ReadDir(procRoot)
	if err != nil {
		return found
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid <= 0 {
			continue
		}
		fdDir := filepath.Join(procRoot, d.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		comm := ""
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil {
				continue
			}
			ino, ok := socketInode(link)
			if !ok || !want[ino] {
				continue
			}
			if o, seen := found[ino]; seen && o.pid < pid {
				continue
			}
			if comm == "" {
				comm = readComm(filepath.Join(procRoot, d.Name(), "comm"))
			}
			found[ino] = owner{pid: pid, comm: comm}
		}
	}
	return found
}

// socketInode parses a socket descriptor's link text, "socket:[12345]".
func socketInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "]")
	if !ok {
		return 0, false
	}
	ino, err := strconv.ParseUint(s, 10, 64)
	return ino, err == nil
}

// readComm is the process name the kernel keeps (at most 15 bytes); "" if
// the process is gone.
func readComm(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
