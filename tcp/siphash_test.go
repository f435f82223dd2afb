package tcp

import (
	"encoding/binary"
	"testing"
)

// The test vectors of the SipHash paper (appendix A): key 00 01 .. 0f.
func TestSipHashVectors(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	k0 := binary.LittleEndian.Uint64(key[:8])
	k1 := binary.LittleEndian.Uint64(key[8:])
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	if got, want := sipHash24(k0, k1, msg), uint64(0xa129ca6149be45e5); got != want {
		t.Errorf("SipHash(00..0e) = %#x, want %#x", got, want)
	}
	if got, want := sipHash24(k0, k1, nil), uint64(0x726fdb47dd0e0e31); got != want {
		t.Errorf("SipHash(empty) = %#x, want %#x", got, want)
	}
	if sipHash24(k0, k1, msg[:8]) == sipHash24(k0+1, k1, msg[:8]) {
		t.Error("the key does not change the hash")
	}
}
