package services

import (
	"sort"

	"berth/port"
)

//go:generate go run ./internal/gen -o table_gen.go

// entry is one (port, protocol, name) of IANA's registry. The table is a
// constant array (static data: no init code, no heap) plus one string.
type entry struct {
	name  uint32 // offset<<8 | length in ianaText
	desc  uint32 // offset<<8 | length in ianaText
	port  uint16
	proto port.Protocol
}

func text(ref uint32) string {
	off, n := ref>>8, ref&0xff
	return ianaText[off : off+n]
}

func (e *entry) Name() string        { return text(e.name) }
func (e *entry) Description() string { return text(e.desc) }

// ianaPort returns the entries of (proto, p), primary first.
func ianaPort(proto port.Protocol, p uint16) []entry {
	i := sort.Search(len(ianaEntries), func(i int) bool {
		e := &ianaEntries[i]
		return e.port > p || e.port == p && e.proto >= proto
	})
	j := i
	for j < len(ianaEntries) && ianaEntries[j].port == p && ianaEntries[j].proto == proto {
		j++
	}
	return ianaEntries[i:j]
}

// ianaName finds the lowest port IANA registered lower (a lower-case name)
// under for proto.
func ianaName(lower []byte, proto port.Protocol) (uint16, bool) {
	i := sort.Search(len(ianaByName), func(i int) bool {
		e := &ianaEntries[ianaByName[i]]
		if c := compareFold(e.Name(), lower); c != 0 {
			return c > 0
		}
		return e.proto >= proto
	})
	if i < len(ianaByName) {
		e := &ianaEntries[ianaByName[i]]
		if e.proto == proto && compareFold(e.Name(), lower) == 0 {
			return e.port, true
		}
	}
	return 0, false
}

// compareFold compares s, folded to lower-case ASCII, with lower.
func compareFold(s string, lower []byte) int {
	for i := 0; i < len(s) && i < len(lower); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			if c < lower[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(s) < len(lower):
		return -1
	case len(s) > len(lower):
		return 1
	}
	return 0
}

// appendLower appends s in lower-case ASCII.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
