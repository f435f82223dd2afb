// Package layering holds the test that keeps DESIGN.md's layer rules true.
package layering

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// rank of each top-level directory: a package may import berth packages of
// a lower rank only, or its own directory's packages (link/pcap → link).
var rank = map[string]int{
	"wire": 0, "seq": 0, "buf": 0, "clock": 0,
	"link": 1, "port": 1,
	"ip": 2, "tcp": 2, "udp": 2, "raw": 2,
	"stack":  3,
	"socket": 4,
	"":       5, // the root package, berth
	"sim":    6, "bench": 6, "conform": 6,
	"cmd": 7,
}

// stdOnly lists the directories that may use only the standard library.
var stdOnly = map[string]bool{"wire": true, "seq": true, "buf": true, "clock": true}

// goroutineOK lists the directories allowed to start goroutines.
var goroutineOK = map[string]bool{"stack": true, "sim": true, "link": true, "cmd": true, "internal": true, "bench": true, "conform": true}

type pkg struct {
	ImportPath string
	Dir        string
	Imports    []string
	GoFiles    []string
	Standard   bool
}

func top(path string) (string, bool) {
	if path == "berth" {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, "berth/")
	if !ok {
		return "", false
	}
	dir, _, _ := strings.Cut(rest, "/")
	return dir, true
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json", "berth/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLayersPointDown(t *testing.T) {
	for _, p := range listPackages(t) {
		from, _ := top(p.ImportPath)
		if from == "internal" || from == "examples" {
			continue
		}
		fr, known := rank[from]
		if !known {
			t.Errorf("%s: directory %q has no rank in the layering test; add it", p.ImportPath, from)
			continue
		}
		for _, imp := range p.Imports {
			to, ours := top(imp)
			if !ours {
				continue
			}
			if to == from {
				continue
			}
			if to == "internal" {
				continue
			}
			if tr := rank[to]; tr >= fr {
				t.Errorf("%s imports %s: a layer may only import layers below it", p.ImportPath, imp)
			}
		}
	}
}

func TestBasePackagesUseOnlyTheStandardLibrary(t *testing.T) {
	for _, p := range listPackages(t) {
		d, _ := top(p.ImportPath)
		if !stdOnly[d] {
			continue
		}
		out, err := exec.Command("go", "list", "-e", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", p.ImportPath).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep != p.ImportPath {
				t.Errorf("%s depends on %s; it may use only the standard library", p.ImportPath, dep)
			}
		}
	}
}

func TestNetAddrOnlyFromSocketUp(t *testing.T) {
	for _, p := range listPackages(t) {
		d, _ := top(p.ImportPath)
		if r, ok := rank[d]; !ok || r >= rank["socket"] || p.ImportPath == "berth/link/tun" {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "net" {
				t.Errorf("%s imports net: below socket/ only netip types are used", p.ImportPath)
			}
		}
	}
}

var goStmt = regexp.MustCompile(`^\s*go\s+(func\b|[A-Za-z_][A-Za-z0-9_.]*\()`)

func TestOnlyStackSimAndLinksStartGoroutines(t *testing.T) {
	for _, p := range listPackages(t) {
		d, _ := top(p.ImportPath)
		if goroutineOK[d] {
			continue
		}
		for _, f := range p.GoFiles {
			fh, err := os.Open(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			for n := 1; sc.Scan(); n++ {
				if goStmt.MatchString(sc.Text()) {
					t.Errorf("%s/%s:%d starts a goroutine; only stack, sim and link/* may", p.ImportPath, f, n)
				}
			}
			fh.Close()
		}
	}
}
