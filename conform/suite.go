package conform

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// EnvDir names the environment variable that points at the directory of
// conformance scripts; CI sets it to ../shared/conformance/packetdrill.
const EnvDir = "BERTH_CONFORMANCE"

// DefaultDir is where the scripts live relative to the module root when
// EnvDir is unset. The project reads them there and never copies them.
const DefaultDir = "../shared/conformance/packetdrill"

// SuiteDir returns the script directory: $BERTH_CONFORMANCE if set,
// otherwise DefaultDir relative to the root of the module containing the
// working directory. It does not check that the directory exists.
func SuiteDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	root, err := moduleRoot()
	if err != nil {
		return DefaultDir
	}
	return filepath.Join(root, DefaultDir)
}

// moduleRoot walks up from the working directory to the nearest go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("conform: no go.mod above the working directory")
		}
		dir = up
	}
}

// ScriptFiles lists the *.pkt files of dir, sorted by name.
func ScriptFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".pkt") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// ParseFile reads and parses one script; its name is the file's base name
// without ".pkt".
func ParseFile(path string) (*Script, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(ScriptName(path), src)
}

// ScriptName is the name a script file is reported under.
func ScriptName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".pkt")
}
