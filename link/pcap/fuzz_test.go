package pcap

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the reader: it must not panic, and
// whatever it accepts must survive a round trip through the writer's
// encoding (parse → emit → parse gives the same records).
func FuzzReader(f *testing.F) {
	f.Add(appendRecord(appendFileHeader(nil, false, Snaplen, LinkTypeRaw), false, Snaplen,
		epoch, []byte{0x45, 0, 0, 20, 0, 0, 0, 0, 64, 1, 0, 0, 198, 18, 0, 2, 198, 18, 0, 1}))
	f.Add(appendRecord(appendFileHeader(nil, true, Snaplen, LinkTypeRaw), true, Snaplen,
		epoch.Add(123456789), []byte{0x60}))
	f.Add([]byte{0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 101})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		var recs []Record
		for len(recs) < 100 {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if len(rec.Data) > maxRecord {
				t.Fatalf("record of %d bytes passed the bound", len(rec.Data))
			}
			rec.Data = bytes.Clone(rec.Data)
			recs = append(recs, rec)
		}
		out := appendFileHeader(nil, r.Nanoseconds(), r.Snaplen(), r.LinkType())
		for _, rec := range recs {
			// Emit the whole captured length, and the original length as read.
			b := appendRecord(nil, r.Nanoseconds(), maxRecord, rec.Time, rec.Data)
			b[12], b[13], b[14], b[15] = byte(rec.OrigLen), byte(rec.OrigLen>>8), byte(rec.OrigLen>>16), byte(rec.OrigLen>>24)
			out = append(out, b...)
		}
		r2, err := NewReader(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-read of emitted header: %v", err)
		}
		if r2.LinkType() != r.LinkType() || r2.Snaplen() != r.Snaplen() || r2.Nanoseconds() != r.Nanoseconds() {
			t.Fatal("header changed in round trip")
		}
		for i, want := range recs {
			got, err := r2.Next()
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if !got.Time.Equal(want.Time) || got.OrigLen != want.OrigLen || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("record %d: %+v became %+v", i, want, got)
			}
		}
		if _, err := r2.Next(); err != io.EOF {
			t.Fatalf("extra data after round trip: %v", err)
		}
	})
}
