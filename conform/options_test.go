package conform

import (
	"bytes"
	"reflect"
	"testing"
)

func TestOptions_EncodeParse(t *testing.T) {
	opts := []Option{{Kind: OptMSS, Value: 1460}, {Kind: OptSACKOK}, {Kind: OptTimestamp, Val: 7, Ecr: 9},
		{Kind: OptNOP}, {Kind: OptWScale, Value: 8}}
	b := encodeOptions(opts, nil, 0)
	want := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 3, 3, 8}
	if !bytes.Equal(b, want) {
		t.Fatalf("encode = % x, want % x", b, want)
	}
	got, err := parseOptions(b)
	if err != nil || !reflect.DeepEqual(got, opts) {
		t.Fatalf("parse = %+v, %v; want %+v", got, err, opts)
	}
	// Padding to a word, rewriting the echo reply and SACK edges.
	b = encodeOptions([]Option{{Kind: OptTimestamp, Val: 1, Ecr: 2}, {Kind: OptSACK, Blocks: []SACKBlock{{10, 20}}}},
		func(e uint32) uint32 { return e + 100 }, 1000)
	got, err = parseOptions(b)
	wantOpts := []Option{{Kind: OptTimestamp, Val: 1, Ecr: 102}, {Kind: OptSACK, Blocks: []SACKBlock{{1010, 1020}}}}
	if len(b) != 20 || err != nil || !reflect.DeepEqual(got, wantOpts) {
		t.Fatalf("encode/parse = % x → %+v, %v", b, got, err)
	}
	b = encodeOptions([]Option{{Kind: OptMSS, Value: 1}, {Kind: OptWScale, Value: 2}}, nil, 0)
	if want := []byte{2, 4, 0, 1, 3, 3, 2, 0}; !bytes.Equal(b, want) {
		t.Fatalf("padded encode = % x, want % x", b, want)
	}
	if got, err := parseOptions(b); err != nil || len(got) != 3 || got[2].Kind != OptEOL {
		t.Fatalf("parse of padded options = %+v, %v", got, err)
	}
	if paddedLen([]Option{{Kind: OptMSS}, {Kind: OptNOP}, {Kind: OptWScale}}) != 8 {
		t.Error("paddedLen of mss,nop,wscale is not 8")
	}
	for _, bad := range [][]byte{{2}, {2, 4, 1}, {2, 3, 1}, {3, 4, 1, 1}, {8, 9, 0, 0, 0, 0, 0, 0, 0}, {5, 9, 0, 0, 0, 0, 0, 0, 0}, {99, 1}} {
		if _, err := parseOptions(bad); err == nil {
			t.Errorf("parseOptions(% x) accepted malformed options", bad)
		}
	}
	if got, err := parseOptions([]byte{99, 3, 0, 1}); err != nil || len(got) != 2 || got[0].Kind != 99 || got[0].Value != 3 {
		t.Errorf("unknown option: %+v, %v", got, err)
	}
}

// FuzzOptions checks that the option list parser never panics and that
// what it reads re-encodes to the same bytes (up to an End of Option List).
func FuzzOptions(f *testing.F) {
	f.Add([]byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 1, 3, 3, 8})
	f.Add([]byte{1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Add([]byte{2, 4, 1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		opts, err := parseOptions(b)
		if err != nil {
			return
		}
		known := true
		n := 0
		for _, o := range opts {
			if o.Kind > OptSACK && o.Kind != OptTimestamp {
				known = false
			}
			n += o.wireLen()
		}
		if !known {
			return
		}
		enc := encodeOptions(opts, nil, 0)
		if !bytes.Equal(enc[:n], b[:n]) {
			t.Fatalf("re-encoding % x gave % x", b, enc)
		}
	})
}
