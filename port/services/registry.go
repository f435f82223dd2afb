package services

import (
	"cmp"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"berth/port"
	"berth/port/services/internal/svcfile"
)

// Registry maps service names to ports and back, per protocol. The zero
// value is an empty registry; New starts from IANA's table. A Registry is
// safe for concurrent use.
type Registry struct {
	iana bool

	mu     sync.RWMutex
	byPort map[portKey][]string // loaded names, in file order
	byName map[nameKey]uint16   // loaded names, lower-case
}

type portKey struct {
	proto port.Protocol
	port  uint16
}

type nameKey struct {
	proto port.Protocol
	name  string
}

// Service is one port's registration for one protocol.
type Service struct {
	Proto       port.Protocol
	Port        uint16
	Names       []string // the primary name first, then aliases
	Description string   // IANA's, if the port is in its table
}

// New returns a registry holding IANA's assignments.
func New() *Registry { return &Registry{iana: true} }

// ServicesFile is the services(5) file Default adds to IANA's table.
const ServicesFile = "/etc/services"

var defaultRegistry = sync.OnceValue(func() *Registry {
	r := New()
	if f, err := os.Open(ServicesFile); err == nil {
		_ = r.LoadServices(f) // a local file's bad lines are skipped, as Go's net does
		f.Close()
	}
	return r
})

// Default returns the shared registry: IANA's table plus ServicesFile if it
// exists, read on the first call.
func Default() *Registry { return defaultRegistry() }

// ByPort returns the names of (proto, p) from the Default registry.
func ByPort(proto port.Protocol, p uint16) []string { return Default().ByPort(proto, p) }

// ByName returns the port of name for proto from the Default registry.
func ByName(name string, proto port.Protocol) (uint16, bool) { return Default().ByName(name, proto) }

// LoadServices adds the entries of a services(5) file:
//
//	name  port/protocol[/protocol...]  [aliases ...]  [# comment]
//
// Valid lines are added even when others are not; the error reports the
// first invalid lines (each a *svcfile.SyntaxError in the joined error).
// Loaded names take precedence over IANA's in ByName (a local file may
// move a service), and follow IANA's in ByPort.
func (r *Registry) LoadServices(rd io.Reader) error {
	var entries []svcfile.Entry
	err := svcfile.Parse(rd, func(e svcfile.Entry) { entries = append(entries, e) })
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range entries {
		for _, proto := range e.Protos {
			r.add(proto, e.Port, e.Name)
			for _, a := range e.Aliases {
				r.add(proto, e.Port, a)
			}
		}
	}
	return err
}

// Add registers name for (proto, p). It fails if name could not be written
// in a services(5) file.
func (r *Registry) Add(proto port.Protocol, p uint16, name string) error {
	if msg := svcfile.CheckName(name); msg != "" {
		return &svcfile.SyntaxError{Text: name, Msg: msg}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.add(proto, p, name)
	return nil
}

func (r *Registry) add(proto port.Protocol, p uint16, name string) {
	if r.byPort == nil {
		r.byPort = map[portKey][]string{}
		r.byName = map[nameKey]uint16{}
	}
	lower := strings.ToLower(name)
	nk := nameKey{proto, lower}
	if old, ok := r.byName[nk]; ok && old != p {
		// The name moves: drop it from its old port.
		was := portKey{proto, old}
		r.byPort[was] = slices.DeleteFunc(r.byPort[was], func(s string) bool { return strings.EqualFold(s, name) })
		if len(r.byPort[was]) == 0 {
			delete(r.byPort, was)
		}
	}
	r.byName[nk] = p
	pk := portKey{proto, p}
	if !slices.ContainsFunc(r.byPort[pk], func(s string) bool { return strings.EqualFold(s, name) }) {
		r.byPort[pk] = append(r.byPort[pk], name)
	}
}

// ByName returns the port registered under name (case-insensitive, RFC 6335
// §5.1) for proto. A loaded name wins over IANA's; among IANA's ports for
// one name, the lowest.
func (r *Registry) ByName(name string, proto port.Protocol) (uint16, bool) {
	if len(name) > svcfile.MaxName {
		return 0, false
	}
	var buf [svcfile.MaxName]byte
	lower := appendLower(buf[:0], name)
	r.mu.RLock()
	p, ok := r.byName[nameKey{proto, string(lower)}]
	r.mu.RUnlock()
	if ok {
		return p, true
	}
	if r.iana {
		return ianaName(lower, proto)
	}
	return 0, false
}

// ByPort returns the names of (proto, p): IANA's primary name first, then
// its aliases, then loaded names. Nil if none.
func (r *Registry) ByPort(proto port.Protocol, p uint16) []string {
	var names []string
	if r.iana {
		es := ianaPort(proto, p)
		for i := range es {
			names = append(names, es[i].Name())
		}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, n := range r.byPort[portKey{proto, p}] {
		if !slices.ContainsFunc(names, func(s string) bool { return strings.EqualFold(s, n) }) {
			names = append(names, n)
		}
	}
	return names
}

// Name returns the primary name of (proto, p), or "". It does not allocate.
func (r *Registry) Name(proto port.Protocol, p uint16) string {
	if r.iana {
		if es := ianaPort(proto, p); len(es) > 0 {
			return es[0].Name()
		}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if ns := r.byPort[portKey{proto, p}]; len(ns) > 0 {
		return ns[0]
	}
	return ""
}

// Describe returns IANA's description of (proto, p)'s primary
// registration, or "".
func (r *Registry) Describe(proto port.Protocol, p uint16) string {
	if r.iana {
		if es := ianaPort(proto, p); len(es) > 0 {
			return es[0].Description()
		}
	}
	return ""
}

// Range calls fn for every registered (protocol, port) with lo <= port <= hi,
// in port then protocol order, until fn returns false.
func (r *Registry) Range(lo, hi uint16, fn func(Service) bool) {
	var keys []portKey
	if r.iana {
		for i := range ianaEntries {
			e := &ianaEntries[i]
			if e.port < lo || e.port > hi {
				continue
			}
			if k := (portKey{e.proto, e.port}); len(keys) == 0 || keys[len(keys)-1] != k {
				keys = append(keys, k)
			}
		}
	}
	r.mu.RLock()
	for k := range r.byPort {
		if k.port >= lo && k.port <= hi {
			keys = append(keys, k)
		}
	}
	r.mu.RUnlock()
	slices.SortFunc(keys, func(a, b portKey) int { return cmp.Or(cmp.Compare(a.port, b.port), cmp.Compare(a.proto, b.proto)) })
	keys = slices.Compact(keys)
	for _, k := range keys {
		s := Service{Proto: k.proto, Port: k.port, Names: r.ByPort(k.proto, k.port), Description: r.Describe(k.proto, k.port)}
		if !fn(s) {
			return
		}
	}
}

// Sources names the datasets IANA's table was generated from.
func Sources() string { return ianaSources }
