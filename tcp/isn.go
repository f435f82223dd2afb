package tcp

import (
	"encoding/binary"
	"net/netip"
	"time"

	"berth/seq"
)

// Salts keep the keyed hashes of one 4-tuple independent of each other.
const (
	saltISN byte = iota + 1
	saltTimestamp
	saltCookie
)

// hashTuple is SipHash over the 4-tuple, a salt and 8 more bytes, keyed
// with the Config's ISNKey.
func (c *Config) hashTuple(local, remote netip.AddrPort, salt byte, extra uint64) uint64 {
	var b [45]byte
	la, ra := local.Addr().As16(), remote.Addr().As16()
	copy(b[0:16], la[:])
	binary.BigEndian.PutUint16(b[16:18], local.Port())
	copy(b[18:34], ra[:])
	binary.BigEndian.PutUint16(b[34:36], remote.Port())
	b[36] = salt
	binary.BigEndian.PutUint64(b[37:45], extra)
	return sipHash24(c.k0, c.k1, b[:])
}

// isn picks an initial sequence number as RFC 6528 §3 says:
//
//	ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
//
// with M a timer ticking every 4 microseconds (so a new incarnation of a
// 4-tuple starts above the old one's numbers, RFC 9293 §3.4.1) and F a
// keyed hash, so that an off-path attacker cannot guess the ISN of a
// connection it cannot see.
func (c *Config) isn(local, remote netip.AddrPort, now tick) seq.Value {
	if c.isnFunc != nil {
		return c.isnFunc(local, remote)
	}
	m := uint32(time.Duration(now) / (4 * time.Microsecond))
	return seq.Value(m + uint32(c.hashTuple(local, remote, saltISN, 0)))
}

// tsClock is our RFC 7323 timestamp clock: milliseconds (Linux's 1 ms
// clock; §5.4 asks for 1 ms to 1 s per tick), plus the connection's offset.
func (c *Conn) tsClock(now tick) uint32 {
	return uint32(time.Duration(now)/time.Millisecond) + c.tsOffset
}
