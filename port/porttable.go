package port

// portTable maps a port number to its bucket: a two-level array, so the
// allocators' scans over the range cost two loads per port instead of a map
// lookup, and an unused range costs nothing (pages appear on first use).
type portTable struct {
	pages [256]*[256]*bucket
}

func (t *portTable) get(p uint16) *bucket {
	pg := t.pages[p>>8]
	if pg == nil {
		return nil
	}
	return pg[p&0xff]
}

func (t *portTable) set(p uint16, b *bucket) {
	pg := t.pages[p>>8]
	if pg == nil {
		pg = new([256]*bucket)
		t.pages[p>>8] = pg
	}
	pg[p&0xff] = b
}

// each calls fn for every bucket in port order.
func (t *portTable) each(fn func(*bucket)) {
	for _, pg := range t.pages {
		if pg == nil {
			continue
		}
		for _, b := range pg {
			if b != nil {
				fn(b)
			}
		}
	}
}
