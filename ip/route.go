package ip

import (
	"net/netip"
	"slices"
)

// Route sends traffic for Dst out of Iface. Links are point-to-point IP
// links with no link-layer addressing, so a gateway is recorded for display
// and for the socket table only; the interface alone decides where a packet goes.
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr // zero: the destination is on the link
	Iface   *Interface
}

// Table is a routing table with longest-prefix match. Routes are kept sorted
// by descending prefix length, so the first match is the longest; tables
// hold a handful of routes, where a linear scan beats any trie.
type Table struct {
	routes []Route
}

// Add inserts r, replacing a route with the same destination.
func (t *Table) Add(r Route) {
	r.Dst = r.Dst.Masked()
	t.Remove(r.Dst)
	i, _ := slices.BinarySearchFunc(t.routes, r, func(a, b Route) int {
		return b.Dst.Bits() - a.Dst.Bits() // longer prefixes first
	})
	t.routes = slices.Insert(t.routes, i, r)
}

// Remove deletes the route for dst and reports whether there was one.
func (t *Table) Remove(dst netip.Prefix) bool {
	dst = dst.Masked()
	for i, r := range t.routes {
		if r.Dst == dst {
			t.routes = slices.Delete(t.routes, i, i+1)
			return true
		}
	}
	return false
}

// Lookup returns the most specific route to dst.
func (t *Table) Lookup(dst netip.Addr) (Route, bool) {
	for _, r := range t.routes {
		if r.Dst.Contains(dst) {
			return r, true
		}
	}
	return Route{}, false
}

// Routes returns a copy of the table, most specific first.
func (t *Table) Routes() []Route { return slices.Clone(t.routes) }
