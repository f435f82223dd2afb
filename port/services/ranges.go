package services

import "strings"

// Range is one of IANA's port number ranges (RFC 6335 §6).
type Range struct {
	Name   string
	Lo, Hi uint16
}

// The three ranges of RFC 6335 §6.
var (
	// System Ports, "well-known", assigned by IETF review (0–1023).
	System = Range{"system", 0, 1023}
	// User Ports, "registered", assigned by IANA (1024–49151).
	User = Range{"user", 1024, 49151}
	// Dynamic Ports, "private" or "ephemeral", never assigned (49152–65535).
	Dynamic = Range{"dynamic", 49152, 65535}
)

// RangeOf returns the range p falls in.
func RangeOf(p uint16) Range {
	switch {
	case p <= System.Hi:
		return System
	case p <= User.Hi:
		return User
	}
	return Dynamic
}

// ParseRange accepts a range's name or a common synonym: "system" or
// "well-known", "user" or "registered", "dynamic", "private" or "ephemeral".
func ParseRange(s string) (Range, bool) {
	switch strings.ToLower(s) {
	case "system", "well-known", "wellknown":
		return System, true
	case "user", "registered":
		return User, true
	case "dynamic", "private", "ephemeral":
		return Dynamic, true
	}
	return Range{}, false
}
