package hostsock

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
)

// procEntry is one line of a /proc/net/{tcp,udp,raw}{,6} table.
type procEntry struct {
	Local, Remote netip.AddrPort // for raw sockets the "port" is the IP protocol number
	State         uint8          // the kernel's TCP_* state number (datagram sockets: 1 connected, 7 not)
	TxQueue       uint32
	RxQueue       uint32
	UID           uint32
	Inode         uint64
	Drops         uint64 // only in tables whose heading ends in "drops" (udp, raw)
}

// parseProcNet parses a /proc/net/{tcp,udp,raw}{,6} table, as written by
// the kernel's seq_file show functions (tcp4_seq_show, udp4_format_sock,
// raw_sock_seq_show and their IPv6 twins):
//
//	sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
//	 0: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 12345 2 0000000000000000 0
//
// An address is the in-memory (network order) 32-bit word(s) printed as
// host-order hex with %08X, so its bytes come back in the machine's
// native order; the port is printed after ntohs. The first ten fields are
// common to every table; what follows differs (tcp has timers, udp and
// raw end in drops), so only the heading says whether drops is there.
// A line that does not parse is an error: the format has not changed
// since Linux 2.6, and guessing would print wrong sockets.
func parseProcNet(data []byte) ([]procEntry, error) {
	var out []procEntry
	hasDrops := false
	for n, line := range bytes.Split(data, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if n == 0 && string(f[0]) == "sl" {
			hasDrops = string(f[len(f)-1]) == "drops"
			continue
		}
		e, err := parseProcLine(f, hasDrops)
		if err != nil {
			return out, fmt.Errorf("hostsock: line %d: %w", n+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func parseProcLine(f [][]byte, hasDrops bool) (procEntry, error) {
	var e procEntry
	need := 10
	if hasDrops {
		need = 13
	}
	if len(f) < need {
		return e, fmt.Errorf("%d fields, want at least %d", len(f), need)
	}
	if len(f[0]) < 2 || f[0][len(f[0])-1] != ':' {
		return e, fmt.Errorf("slot %q", f[0])
	}
	if _, err := strconv.ParseUint(string(f[0][:len(f[0])-1]), 10, 64); err != nil {
		return e, fmt.Errorf("slot %q", f[0])
	}
	var err error
	if e.Local, err = parseHexAddrPort(f[1]); err != nil {
		return e, fmt.Errorf("local address: %w", err)
	}
	if e.Remote, err = parseHexAddrPort(f[2]); err != nil {
		return e, fmt.Errorf("remote address: %w", err)
	}
	if e.Local.Addr().BitLen() != e.Remote.Addr().BitLen() {
		return e, fmt.Errorf("local and remote address families differ")
	}
	st, err := parseHex(f[3], 2)
	if err != nil {
		return e, fmt.Errorf("state: %w", err)
	}
	e.State = uint8(st)
	tx, rx, ok := bytes.Cut(f[4], []byte(":"))
	if !ok {
		return e, fmt.Errorf("queues %q", f[4])
	}
	t, err := parseHex(tx, 8)
	if err != nil {
		return e, fmt.Errorf("tx_queue: %w", err)
	}
	r, err := parseHex(rx, 8)
	if err != nil {
		return e, fmt.Errorf("rx_queue: %w", err)
	}
	e.TxQueue, e.RxQueue = uint32(t), uint32(r)
	uid, err := strconv.ParseUint(string(f[7]), 10, 32)
	if err != nil {
		return e, fmt.Errorf("uid %q", f[7])
	}
	e.UID = uint32(uid)
	if e.Inode, err = strconv.ParseUint(string(f[9]), 10, 64); err != nil {
		return e, fmt.Errorf("inode %q", f[9])
	}
	if hasDrops {
		if e.Drops, err = strconv.ParseUint(string(f[12]), 10, 64); err != nil {
			return e, fmt.Errorf("drops %q", f[12])
		}
	}
	return e, nil
}

// parseHex parses exactly digits upper- or lower-case hex digits.
func parseHex(b []byte, digits int) (uint64, error) {
	if len(b) != digits {
		return 0, fmt.Errorf("%q: want %d hex digits", b, digits)
	}
	v, err := strconv.ParseUint(string(b), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: not hex", b)
	}
	return v, nil
}

// parseHexAddrPort parses "0100007F:0035" (IPv4) or 32 hex digits and a
// port (IPv6).
func parseHexAddrPort(b []byte) (netip.AddrPort, error) {
	a, p, ok := bytes.Cut(b, []byte(":"))
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("%q: no port", b)
	}
	if len(a) != 8 && len(a) != 32 {
		return netip.AddrPort{}, fmt.Errorf("%q: address of %d hex digits", a, len(a))
	}
	raw := make([]byte, len(a)/2)
	if _, err := hex.Decode(raw, a); err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: not hex", a)
	}
	// Each 32-bit word was printed as a host-order number: undo that.
	addr := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(addr[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	port, err := parseHex(p, 4)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port: %w", err)
	}
	ip, _ := netip.AddrFromSlice(addr)
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// formatProcNet writes entries as the kernel does; parseProcNet reads it
// back. Tests and the fuzz target's round trip use it.
func formatProcNet(entries []procEntry, withDrops bool) []byte {
	var b bytes.Buffer
	b.WriteString("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
	if withDrops {
		b.WriteString(" ref pointer drops")
	}
	b.WriteString("\n")
	for i, e := range entries {
		fmt.Fprintf(&b, "%4d: %s %s %02X %08X:%08X 00:00000000 00000000 %5d %8d %d",
			i, formatHexAddrPort(e.Local), formatHexAddrPort(e.Remote), e.State, e.TxQueue, e.RxQueue, e.UID, 0, e.Inode)
		if withDrops {
			fmt.Fprintf(&b, " 2 0000000000000000 %d", e.Drops)
		}
		b.WriteString("\n")
	}
	return b.Bytes()
}

func formatHexAddrPort(ap netip.AddrPort) string {
	a := ap.Addr().AsSlice()
	var s []byte
	for i := 0; i < len(a); i += 4 {
		s = fmt.Appendf(s, "%08X", binary.NativeEndian.Uint32(a[i:]))
	}
	return fmt.Sprintf("%s:%04X", s, ap.Port())
}
