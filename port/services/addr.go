package services

import (
	"net/netip"
	"strings"

	"berth/port"
)

// AddrError is an address that could not be parsed. Its text matches Go's
// net.AddrError ("address 1.2.3.4: missing port in address").
type AddrError struct {
	Err  string
	Addr string
}

func (e *AddrError) Error() string {
	if e.Addr == "" {
		return e.Err
	}
	return "address " + e.Addr + ": " + e.Err
}

// Error texts, as Go's net package spells them.
const (
	errMissingPort   = "missing port in address"
	errTooManyColons = "too many colons in address"
	errUnknownPort   = "unknown port"
	errInvalidPort   = "invalid port"
	errNotIP         = "not an IP address (berth resolves no host names)"
)

// SplitHostPort splits "host:port", "[host]:port" or "[host%zone]:port" into
// host and port, with the rules and error texts of net.SplitHostPort.
func SplitHostPort(hostport string) (host, port string, err error) {
	fail := func(why string) (string, string, error) {
		return "", "", &AddrError{Err: why, Addr: hostport}
	}
	colon := strings.LastIndexByte(hostport, ':')
	if colon < 0 {
		return fail(errMissingPort)
	}
	noOpen, noClose := 0, 0 // no '[' resp. ']' may appear from these offsets on
	if hostport[0] == '[' {
		end := strings.IndexByte(hostport, ']')
		switch {
		case end < 0:
			return fail("missing ']' in address")
		case end+1 == len(hostport):
			return fail(errMissingPort)
		case end+1 != colon:
			if hostport[end+1] == ':' {
				return fail(errTooManyColons)
			}
			return fail(errMissingPort)
		}
		host = hostport[1:end]
		noOpen, noClose = 1, end+1
	} else {
		host = hostport[:colon]
		if strings.IndexByte(host, ':') >= 0 {
			return fail(errTooManyColons)
		}
	}
	if strings.IndexByte(hostport[noOpen:], '[') >= 0 {
		return fail("unexpected '[' in address")
	}
	if strings.IndexByte(hostport[noClose:], ']') >= 0 {
		return fail("unexpected ']' in address")
	}
	return host, hostport[colon+1:], nil
}

// ParseAddrPort reads an address the way Go's net.ResolveUDPAddr and
// ResolveTCPAddr do, without DNS: "198.18.0.2:http", "198.18.0.2:8080",
// "[::1]:80", ":domain". An empty host is the unspecified IPv4 address
// 0.0.0.0; any other host must be an IP literal. The port is a number or a
// service name looked up for proto in r (nil means Default); an empty port
// is 0.
func ParseAddrPort(s string, proto port.Protocol, r *Registry) (netip.AddrPort, error) {
	host, service, err := SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	addr := netip.IPv4Unspecified()
	if host != "" {
		addr, err = netip.ParseAddr(host)
		if err != nil {
			return netip.AddrPort{}, &AddrError{Err: errNotIP, Addr: host}
		}
	}
	p, err := LookupPort(proto, service, r)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(addr, p), nil
}

// LookupPort resolves a port number or service name like net.LookupPort:
// digits are a number (at most 65535), "" is 0, anything else a name
// looked up for proto in r (nil means Default), case-insensitively.
func LookupPort(proto port.Protocol, service string, r *Registry) (uint16, error) {
	if service == "" {
		return 0, nil
	}
	if n, digits, ok := parseDigits(service); digits {
		if !ok {
			return 0, &AddrError{Err: errInvalidPort, Addr: service}
		}
		return n, nil
	}
	if r == nil {
		r = Default()
	}
	if p, ok := r.ByName(service, proto); ok {
		return p, nil
	}
	return 0, &AddrError{Err: errUnknownPort, Addr: proto.String() + "/" + service}
}

// parseDigits reports whether s is all decimal digits and, if so, whether
// its value fits a port.
func parseDigits(s string) (n uint16, digits, ok bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false, false
		}
		if v <= 65535 {
			v = v*10 + int(c-'0')
		}
	}
	if v > 65535 {
		return 0, true, false
	}
	return uint16(v), true, true
}
