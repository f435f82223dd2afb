package wire

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// TCP option kinds (RFC 9293 §3.1, RFC 7323, RFC 2018).
const (
	tcpOptEOL       = 0
	tcpOptNOP       = 1
	tcpOptMSS       = 2 // RFC 9293 §3.7.1
	tcpOptWS        = 3 // RFC 7323 §2
	tcpOptSACKPerm  = 4 // RFC 2018 §2
	tcpOptSACK      = 5 // RFC 2018 §3
	tcpOptTimestamp = 8 // RFC 7323 §3
)

// TCPMaxOptionsLen is the most option space a TCP header has: data offset
// 15 words minus the 5 of the fixed header.
const TCPMaxOptionsLen = 40

// SACKBlock is one block of a SACK option: the sequence numbers of the
// first byte received and of the byte after the last (RFC 2018 §3).
type SACKBlock struct{ Left, Right uint32 }

// TCPOptions holds the TCP options berth understands. It is comparable.
// Unknown options are skipped when parsing and never emitted.
type TCPOptions struct {
	MSS            uint16 // maximum segment size (RFC 9293 §3.7.1); 0 = absent
	WindowScale    uint8  // shift count as received; RFC 7323 §2.3 caps its use at 14
	HasWindowScale bool
	SACKPermitted  bool // RFC 2018 §2
	HasTimestamp   bool // RFC 7323 §3
	TSVal, TSEcr   uint32
	SACK           [4]SACKBlock // RFC 2018 §3; the first NumSACK are used
	NumSACK        uint8
}

// ParseTCPOptions reads the option bytes of a TCP header (after the fixed 20
// bytes, up to the data offset).
//
// RFC 9293 §3.1: an option is one byte of kind (End of Option List and
// No-Operation) or kind, length and length-2 bytes of data. Options of
// unknown kind are skipped by their length (MUST-6); End of Option List ends
// the list, and the bytes after it are padding. It returns ErrBadOption for
// an illegal length (MUST-7): below 2, past the option space, or not the
// length the option's RFC fixes (MSS 4, window scale 3, SACK-permitted 2,
// timestamps 10, SACK 2+8n with n >= 1). When an option appears twice the
// last one counts.
func ParseTCPOptions(b []byte) (TCPOptions, error) {
	var o TCPOptions
	for i := 0; i < len(b); {
		kind := b[i]
		switch kind {
		case tcpOptEOL:
			return o, nil
		case tcpOptNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			return TCPOptions{}, ErrBadOption
		}
		n := int(b[i+1])
		if n < 2 || i+n > len(b) {
			return TCPOptions{}, ErrBadOption
		}
		data := b[i+2 : i+n]
		switch kind {
		case tcpOptMSS:
			if n != 4 {
				return TCPOptions{}, ErrBadOption
			}
			o.MSS = binary.BigEndian.Uint16(data)
		case tcpOptWS:
			if n != 3 {
				return TCPOptions{}, ErrBadOption
			}
			o.WindowScale, o.HasWindowScale = data[0], true
		case tcpOptSACKPerm:
			if n != 2 {
				return TCPOptions{}, ErrBadOption
			}
			o.SACKPermitted = true
		case tcpOptTimestamp:
			if n != 10 {
				return TCPOptions{}, ErrBadOption
			}
			o.HasTimestamp = true
			o.TSVal = binary.BigEndian.Uint32(data)
			o.TSEcr = binary.BigEndian.Uint32(data[4:])
		case tcpOptSACK:
			// 40 bytes of option space hold at most 4 blocks (2+8*4 = 34).
			if n < 10 || (n-2)%8 != 0 {
				return TCPOptions{}, ErrBadOption
			}
			o.SACK = [4]SACKBlock{}
			o.NumSACK = uint8((n - 2) / 8)
			for k := range int(o.NumSACK) {
				o.SACK[k] = SACKBlock{
					Left:  binary.BigEndian.Uint32(data[8*k:]),
					Right: binary.BigEndian.Uint32(data[8*k+4:]),
				}
			}
		}
		i += n
	}
	return o, nil
}

// sackFit returns how many of the SACK blocks Emit writes after used bytes
// of other options: as many as fit in what remains of the 40 bytes after
// the 4 bytes of NOP, NOP, kind and length, like Linux's
// tcp_established_options.
func (o *TCPOptions) sackFit(used int) int {
	room := (TCPMaxOptionsLen - used - 4) / 8
	return max(0, min(int(o.NumSACK), len(o.SACK), room))
}

// fixedLen is the length of everything Emit writes before the SACK blocks.
func (o *TCPOptions) fixedLen() int {
	n := 0
	if o.MSS != 0 {
		n += 4
	}
	if o.HasTimestamp {
		n += 12
	} else if o.SACKPermitted {
		n += 4
	}
	if o.HasWindowScale {
		n += 4
	}
	return n
}

// Len returns the number of bytes Emit writes: a multiple of 4, at most 40.
// When the SACK blocks do not all fit beside the other options, Emit writes
// the first ones that do.
func (o *TCPOptions) Len() int {
	n := o.fixedLen()
	if k := o.sackFit(n); k > 0 {
		n += 4 + 8*k
	}
	return n
}

// Emit writes the options into b in the layout of Linux's tcp_options_write
// (net/ipv4/tcp_output.c), which middleboxes have been seen to depend on —
// Linux's comment there notes that SACK-permitted as the first option is
// known to lead to disaster — and returns Len():
//
//	MSS                 02 04 mm mm
//	SACK-perm + TS      04 02 08 0a <TSval> <TSecr>   (with timestamps)
//	TS                  01 01 08 0a <TSval> <TSecr>   (without SACK-permitted)
//	SACK-perm           01 01 04 02                   (without timestamps)
//	window scale        01 03 03 ss
//	SACK                01 01 05 ll <blocks>
//
// so a SYN reads "mss, sackOK, TS, nop, wscale" and an established segment
// "nop, nop, TS, nop, nop, sack". It panics if b is shorter than Len().
func (o *TCPOptions) Emit(b []byte) int {
	b = b[:o.Len()]
	i := 0
	if o.MSS != 0 {
		b[0], b[1] = tcpOptMSS, 4
		binary.BigEndian.PutUint16(b[2:], o.MSS)
		i = 4
	}
	if o.HasTimestamp {
		if o.SACKPermitted {
			b[i], b[i+1] = tcpOptSACKPerm, 2
		} else {
			b[i], b[i+1] = tcpOptNOP, tcpOptNOP
		}
		b[i+2], b[i+3] = tcpOptTimestamp, 10
		binary.BigEndian.PutUint32(b[i+4:], o.TSVal)
		binary.BigEndian.PutUint32(b[i+8:], o.TSEcr)
		i += 12
	} else if o.SACKPermitted {
		b[i], b[i+1], b[i+2], b[i+3] = tcpOptNOP, tcpOptNOP, tcpOptSACKPerm, 2
		i += 4
	}
	if o.HasWindowScale {
		b[i], b[i+1], b[i+2], b[i+3] = tcpOptNOP, tcpOptWS, 3, o.WindowScale
		i += 4
	}
	if k := o.sackFit(i); k > 0 {
		b[i], b[i+1], b[i+2], b[i+3] = tcpOptNOP, tcpOptNOP, tcpOptSACK, uint8(2+8*k)
		i += 4
		for _, s := range o.SACK[:k] {
			binary.BigEndian.PutUint32(b[i:], s.Left)
			binary.BigEndian.PutUint32(b[i+4:], s.Right)
			i += 8
		}
	}
	return i
}

// String lists the options as tcpdump does, in the order Emit writes them,
// NOPs included: "mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7". It is
// empty when there are none.
func (o TCPOptions) String() string {
	var s []string
	if o.MSS != 0 {
		s = append(s, fmt.Sprintf("mss %d", o.MSS))
	}
	if o.HasTimestamp {
		if o.SACKPermitted {
			s = append(s, "sackOK")
		} else {
			s = append(s, "nop", "nop")
		}
		s = append(s, fmt.Sprintf("TS val %d ecr %d", o.TSVal, o.TSEcr))
	} else if o.SACKPermitted {
		s = append(s, "nop", "nop", "sackOK")
	}
	if o.HasWindowScale {
		s = append(s, "nop", fmt.Sprintf("wscale %d", o.WindowScale))
	}
	if k := o.sackFit(o.fixedLen()); k > 0 {
		sack := fmt.Sprintf("sack %d ", k)
		for _, b := range o.SACK[:k] {
			sack += fmt.Sprintf("{%d:%d}", b.Left, b.Right)
		}
		s = append(s, "nop", "nop", sack)
	}
	return strings.Join(s, ",")
}
