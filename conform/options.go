package conform

import (
	"encoding/binary"
	"errors"
)

// packetdrill writes TCP options in the order they go on the wire, NOPs
// included, and compares them kind by kind. wire.TCPOptions keeps only
// their values in Linux's layout, so the interpreter carries its own
// encoder (for inbound packets written in any order) and its own list
// parser (for outbound ones, to see berth's exact layout).

// errBadOptions reports option bytes that do not parse.
var errBadOptions = errors.New("malformed TCP options")

// encodeOptions writes opts in order, padded with End of Option List to a
// multiple of 4 bytes (RFC 9293 §3.1). tsEcr rewrites a timestamp's echo
// reply and sackOff is added to SACK block edges (script to live space).
func encodeOptions(opts []Option, tsEcr func(uint32) uint32, sackOff uint32) []byte {
	var b []byte
	for _, o := range opts {
		switch o.Kind {
		case OptEOL, OptNOP:
			b = append(b, byte(o.Kind))
		case OptMSS:
			b = append(b, byte(OptMSS), 4)
			b = binary.BigEndian.AppendUint16(b, uint16(o.Value))
		case OptWScale:
			b = append(b, byte(OptWScale), 3, byte(o.Value))
		case OptSACKOK:
			b = append(b, byte(OptSACKOK), 2)
		case OptTimestamp:
			b = append(b, byte(OptTimestamp), 10)
			b = binary.BigEndian.AppendUint32(b, o.Val)
			ecr := o.Ecr
			if tsEcr != nil {
				ecr = tsEcr(ecr)
			}
			b = binary.BigEndian.AppendUint32(b, ecr)
		case OptSACK:
			b = append(b, byte(OptSACK), byte(2+8*len(o.Blocks)))
			for _, s := range o.Blocks {
				b = binary.BigEndian.AppendUint32(b, s.Left+sackOff)
				b = binary.BigEndian.AppendUint32(b, s.Right+sackOff)
			}
		}
	}
	for len(b)%4 != 0 {
		b = append(b, byte(OptEOL))
	}
	return b
}

// paddedLen is the length encodeOptions gives opts.
func paddedLen(opts []Option) int {
	n := 0
	for _, o := range opts {
		n += o.wireLen()
	}
	return (n + 3) &^ 3
}

// parseOptions lists the options in b in wire order, NOPs included, up to
// and including an End of Option List (the padding after it is not
// listed). Options of kinds the scripts do not use are listed with their
// kind and, in Value, their length. Lengths are checked as
// wire.ParseTCPOptions checks them (RFC 9293 §3.1 MUST-7).
func parseOptions(b []byte) ([]Option, error) {
	opts := []Option{}
	for i := 0; i < len(b); {
		kind := OptionKind(b[i])
		switch kind {
		case OptEOL:
			return append(opts, Option{Kind: OptEOL}), nil
		case OptNOP:
			opts = append(opts, Option{Kind: OptNOP})
			i++
			continue
		}
		if i+1 >= len(b) {
			return nil, errBadOptions
		}
		n := int(b[i+1])
		if n < 2 || i+n > len(b) {
			return nil, errBadOptions
		}
		d := b[i+2 : i+n]
		o := Option{Kind: kind}
		switch kind {
		case OptMSS:
			if n != 4 {
				return nil, errBadOptions
			}
			o.Value = uint32(binary.BigEndian.Uint16(d))
		case OptWScale:
			if n != 3 {
				return nil, errBadOptions
			}
			o.Value = uint32(d[0])
		case OptSACKOK:
			if n != 2 {
				return nil, errBadOptions
			}
		case OptTimestamp:
			if n != 10 {
				return nil, errBadOptions
			}
			o.Val, o.Ecr = binary.BigEndian.Uint32(d), binary.BigEndian.Uint32(d[4:])
		case OptSACK:
			if n < 10 || (n-2)%8 != 0 {
				return nil, errBadOptions
			}
			for k := 0; k+8 <= len(d); k += 8 {
				o.Blocks = append(o.Blocks, SACKBlock{binary.BigEndian.Uint32(d[k:]), binary.BigEndian.Uint32(d[k+4:])})
			}
		default:
			o.Value = uint32(n)
		}
		opts = append(opts, o)
		i += n
	}
	return opts, nil
}
