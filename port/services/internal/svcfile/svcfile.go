// Package svcfile parses the services(5) format, shared by the registry and
// by the generator that reads Wireshark's copy of IANA's list.
//
//	name  port/protocol  [aliases ...]  [# comment]
//
// As in Wireshark's file, one line may name several protocols
// ("discard 9/tcp/udp/sctp/dccp"). Protocols other than tcp, udp, dccp and
// sctp (such as ddp in Debian's /etc/services) are skipped without error.
package svcfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"berth/port"
)

// MaxName bounds a service name. RFC 6335 §5.1 allows 15 characters; older
// registrations and local files run longer, but not this long.
const MaxName = 64

// maxErrors bounds the syntax errors one Parse reports.
const maxErrors = 10

// Entry is one accepted line.
type Entry struct {
	Line    int
	Name    string
	Port    uint16
	Protos  []port.Protocol // at least one
	Aliases []string
	Comment string // text after '#', trimmed
}

// SyntaxError is a line Parse could not accept.
type SyntaxError struct {
	Line int
	Text string
	Msg  string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("services line %d: %s: %q", e.Line, e.Msg, e.Text)
}

// Parse calls fn for every valid line of r. Invalid lines are skipped and
// reported (the first ten) in the returned error, joined; so is a read
// error. Reading stops at a line longer than 64 KiB, reported likewise.
func Parse(r io.Reader, fn func(Entry)) error {
	sc := bufio.NewScanner(r)
	var errs []error
	n := 0
	bad := func(text, msg string) {
		if len(errs) < maxErrors {
			errs = append(errs, &SyntaxError{Line: n, Text: text, Msg: msg})
		}
	}
	for sc.Scan() {
		n++
		raw := sc.Text()
		line, comment, _ := strings.Cut(raw, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			bad(raw, "missing port/protocol")
			continue
		}
		e := Entry{Line: n, Name: f[0], Aliases: f[2:], Comment: strings.TrimSpace(comment)}
		if msg := CheckName(e.Name); msg != "" {
			bad(raw, msg)
			continue
		}
		ok := true
		for _, a := range e.Aliases {
			if msg := CheckName(a); msg != "" {
				bad(raw, "alias "+msg)
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		num, protos, found := strings.Cut(f[1], "/")
		if !found {
			bad(raw, "missing /protocol")
			continue
		}
		p, msg := parsePort(num)
		if msg != "" {
			bad(raw, msg)
			continue
		}
		e.Port = p
		for _, ps := range strings.Split(protos, "/") {
			if ps == "" {
				bad(raw, "empty protocol")
				ok = false
				break
			}
			if proto, known := port.ParseProtocol(ps); known {
				e.Protos = append(e.Protos, proto)
			}
		}
		if !ok || len(e.Protos) == 0 {
			continue
		}
		fn(e)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("services line %d: %w", n+1, err))
	}
	return errors.Join(errs...)
}

func parsePort(s string) (uint16, string) {
	if s == "" {
		return 0, "missing port number"
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, "bad port number"
		}
		v = v*10 + int(c-'0')
		if v > 65535 {
			return 0, "port number out of range"
		}
	}
	if v == 0 {
		return 0, "port number out of range"
	}
	return uint16(v), ""
}

// CheckName returns why s cannot be a service name, or "". Names are
// printable ASCII without '#' (RFC 6335 §5.1 is stricter; IANA's own list
// has older names such as "sql*net" and "cl/1"), and not all digits, which
// would read as a port number in an address.
func CheckName(s string) string {
	if s == "" {
		return "empty service name"
	}
	if len(s) > MaxName {
		return "service name too long"
	}
	digits := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || c == '#' {
			return "service name has a byte outside printable ASCII"
		}
		if c < '0' || c > '9' {
			digits = false
		}
	}
	if digits {
		return "service name is a number"
	}
	return ""
}
