package services

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"berth/port"
	"berth/port/services/internal/svcfile"
)

// FuzzParseServices: the services(5) parser never panics; every accepted
// entry looks up both ways in a registry that loaded the input; and an
// accepted entry, written back as a line, parses to itself.
func FuzzParseServices(f *testing.F) {
	f.Add([]byte("http 80/tcp www www-http # World Wide Web HTTP\n"))
	f.Add([]byte("discard 9/tcp/udp/sctp/dccp sink null\n"))
	f.Add([]byte("rtmp 1/ddp\n# comment only\n\n  \t\nx11 6000-6063/tcp\n"))
	f.Add([]byte("a 1/tcp\na 2/tcp b\nB 3/udp A\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []svcfile.Entry
		perr := svcfile.Parse(bytes.NewReader(data), func(e svcfile.Entry) { entries = append(entries, e) })
		var r Registry
		lerr := r.LoadServices(bytes.NewReader(data))
		if (perr == nil) != (lerr == nil) {
			t.Fatalf("Parse error %v, LoadServices error %v", perr, lerr)
		}
		for _, e := range entries {
			if e.Port == 0 || len(e.Protos) == 0 {
				t.Fatalf("accepted %+v", e)
			}
			for _, name := range append([]string{e.Name}, e.Aliases...) {
				if msg := svcfile.CheckName(name); msg != "" {
					t.Fatalf("accepted name %q: %s", name, msg)
				}
				for _, proto := range e.Protos {
					p, ok := r.ByName(name, proto)
					if !ok {
						t.Fatalf("%q/%v accepted but not found by name", name, proto)
					}
					if !slices.ContainsFunc(r.ByPort(proto, p), func(s string) bool { return strings.EqualFold(s, name) }) {
						t.Fatalf("%q/%v → %d, but ByPort(%d) = %q", name, proto, p, p, r.ByPort(proto, p))
					}
				}
			}
			protos := make([]string, len(e.Protos))
			for i, p := range e.Protos {
				protos[i] = p.String()
			}
			line := fmt.Sprintf("%s %d/%s %s # %s\n", e.Name, e.Port, strings.Join(protos, "/"), strings.Join(e.Aliases, " "), e.Comment)
			var again []svcfile.Entry
			if err := svcfile.Parse(strings.NewReader(line), func(x svcfile.Entry) { again = append(again, x) }); err != nil || len(again) != 1 {
				t.Fatalf("%q: %v, %d entries", line, err, len(again))
			}
			x := again[0]
			if x.Name != e.Name || x.Port != e.Port || !slices.Equal(x.Protos, e.Protos) || !slices.Equal(x.Aliases, e.Aliases) || x.Comment != e.Comment {
				t.Fatalf("round trip of %+v gave %+v", e, x)
			}
		}
	})
}

// FuzzParseAddrPort: no panics; SplitHostPort agrees with Go's
// net.SplitHostPort (the independent decoder) on results and error texts;
// an accepted address prints as text that parses back to itself.
func FuzzParseAddrPort(f *testing.F) {
	for _, s := range []string{"198.18.0.2:http", ":domain", "[::1]:80", "host:8080", "[fe80::1%eth0]:7",
		"::1:80", "[::1]80", "[::1", "a]b:1", "198.18.0.2:99999", ":", "[]:", "[:]:x"} {
		f.Add(s, true)
	}
	r := New()
	f.Fuzz(func(t *testing.T, s string, tcp bool) {
		host, portStr, err := SplitHostPort(s)
		nh, np, nerr := net.SplitHostPort(s)
		if (err == nil) != (nerr == nil) || host != nh || portStr != np {
			t.Fatalf("SplitHostPort(%q) = %q, %q, %v; net says %q, %q, %v", s, host, portStr, err, nh, np, nerr)
		}
		if err != nil && err.Error() != nerr.Error() {
			t.Fatalf("SplitHostPort(%q) error %q, net's %q", s, err, nerr)
		}
		proto := port.UDP
		if tcp {
			proto = port.TCP
		}
		ap, err := ParseAddrPort(s, proto, r)
		if err != nil {
			if _, ok := err.(*AddrError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if !ap.Addr().IsValid() {
			t.Fatalf("ParseAddrPort(%q) = invalid address", s)
		}
		back, err := ParseAddrPort(ap.String(), proto, r)
		if err != nil || back != ap {
			t.Fatalf("ParseAddrPort(%q) = %v; printed and parsed again: %v, %v", s, ap, back, err)
		}
		if want, err := netip.ParseAddrPort(ap.String()); err != nil || want != ap {
			t.Fatalf("%v does not round-trip through netip: %v", ap, err)
		}
	})
}
