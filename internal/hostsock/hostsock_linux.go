//go:build linux

package hostsock

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"berth/internal/sstable"
)

const procRoot = "/proc"

// family is one address family to dump.
type family struct {
	af     uint8
	name   string // sstable.Inet or sstable.Inet6
	suffix string // of the /proc/net table: "tcp" or "tcp6"
}

var families = []family{
	{unix.AF_INET, sstable.Inet, ""},
	{unix.AF_INET6, sstable.Inet6, "6"},
}

// Sockets returns the host's TCP, UDP and raw sockets, IPv4 and IPv6, in
// sstable order, each with the PID and name of the process holding it
// where /proc lets us see it. It reads the network namespace the calling
// process is in. Service and Suspicious come from berth's registry
// (sstable.RegistryLookup), as in berth's own table.
func Sockets() ([]sstable.Row, error) {
	var rows []sstable.Row
	for _, fam := range families {
		for _, proto := range []string{sstable.TCP, sstable.UDP, sstable.Raw} {
			r, err := rowsFor(proto, fam, procRoot)
			if err != nil {
				if fam.af == unix.AF_INET6 && errors.Is(err, fs.ErrNotExist) {
					continue // IPv6 is disabled on this host
				}
				return nil, err
			}
			rows = append(rows, r...)
		}
	}
	resolveOwners(rows, procRoot)
	sstable.Annotate(rows, sstable.RegistryLookup)
	sstable.Sort(rows)
	return rows, nil
}

// rowsFor asks sock_diag for TCP and UDP and falls back to /proc/net when
// the kernel cannot answer (the tcp_diag or udp_diag module is absent).
func rowsFor(proto string, fam family, root string) ([]sstable.Row, error) {
	if proto == sstable.Raw {
		return procRows(proto, fam, root)
	}
	rows, derr := diagRows(proto, fam)
	if derr == nil {
		if proto == sstable.UDP {
			addUDPDrops(rows, fam, root)
		}
		return rows, nil
	}
	rows, perr := procRows(proto, fam, root)
	if perr != nil {
		return nil, errors.Join(derr, perr)
	}
	return rows, nil
}

// diagRows dumps proto's sockets of one family through netlink sock_diag.
func diagRows(proto string, fam family) ([]sstable.Row, error) {
	zones := zoneNamer{}
	switch proto {
	case sstable.TCP:
		resps, err := dump(func() ([]*netlink.InetDiagTCPInfoResp, error) { return netlink.SocketDiagTCPInfo(fam.af) })
		if err != nil {
			return nil, fmt.Errorf("hostsock: sock_diag tcp %s: %w", fam.name, err)
		}
		rows := make([]sstable.Row, 0, len(resps))
		for _, r := range resps {
			row := diagRow(proto, fam, r.InetDiagMsg, zones)
			row.State = tcpState(r.InetDiagMsg.State)
			if ti := r.TCPInfo; ti != nil {
				addTCPInfo(&row, ti)
			}
			rows = append(rows, row)
		}
		return rows, nil
	case sstable.UDP:
		socks, err := dump(func() ([]*netlink.Socket, error) { return netlink.SocketDiagUDP(fam.af) })
		if err != nil {
			return nil, fmt.Errorf("hostsock: sock_diag udp %s: %w", fam.name, err)
		}
		rows := make([]sstable.Row, 0, len(socks))
		for _, s := range socks {
			row := diagRow(proto, fam, s, zones)
			row.State = datagramState(s.State)
			rows = append(rows, row)
		}
		return rows, nil
	}
	return nil, fmt.Errorf("hostsock: no sock_diag dump for %q", proto)
}

// dump retries a netlink dump the kernel interrupted because the table
// changed while it was being read; after three tries it keeps the last,
// possibly incomplete, answer: a busy host's table is a moving target.
func dump[T any](f func() ([]T, error)) ([]T, error) {
	for try := 1; ; try++ {
		r, err := f()
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			if try < 3 {
				continue
			}
			return r, nil
		}
		return r, err
	}
}

func diagRow(proto string, fam family, s *netlink.Socket, zones zoneNamer) sstable.Row {
	local := netip.AddrPortFrom(diagAddr(s.ID.Source, fam, s.ID.Interface, zones), s.ID.SourcePort)
	remote := netip.AddrPortFrom(diagAddr(s.ID.Destination, fam, s.ID.Interface, zones), s.ID.DestinationPort)
	return sstable.Row{
		Proto:  proto,
		Family: fam.name,
		RecvQ:  int(s.RQueue),
		SendQ:  int(s.WQueue),
		Local:  local,
		Remote: noPeer(remote),
		Inode:  uint64(s.INode),
	}
}

// diagAddr converts a sock_diag address. netlink hands IPv4 back in
// 16-byte form, so an inet socket's address is unmapped; an inet6
// socket's v4-mapped address is what the socket really holds and stays.
// A link-local IPv6 address is ambiguous without its interface, so it
// gets the interface as its zone, as ss prints "fe80::1%eth0".
func diagAddr(ip net.IP, fam family, ifindex uint32, zones zoneNamer) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	if fam.af == unix.AF_INET {
		return a.Unmap()
	}
	if ifindex != 0 && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
		a = a.WithZone(zones.name(ifindex))
	}
	return a
}

// zoneNamer caches interface names by index for one snapshot.
type zoneNamer map[uint32]string

func (z zoneNamer) name(i uint32) string {
	if n, ok := z[i]; ok {
		return n
	}
	n := strconv.FormatUint(uint64(i), 10)
	if ifi, err := net.InterfaceByIndex(int(i)); err == nil {
		n = ifi.Name
	}
	z[i] = n
	return n
}

// addTCPInfo copies Linux's tcp_info (struct tcp_info, times in µs).
func addTCPInfo(row *sstable.Row, ti *netlink.TCPInfo) {
	row.RTT = time.Duration(ti.Rtt) * time.Microsecond
	row.RTO = time.Duration(ti.Rto) * time.Microsecond
	row.Cwnd = ti.Snd_cwnd
	// TCP_INFINITE_SSTHRESH: slow start has no threshold yet; ss leaves it out too.
	if ti.Snd_ssthresh < 0x7fffffff {
		row.Ssthresh = ti.Snd_ssthresh
	}
	row.Retrans = uint64(ti.Total_retrans)
	row.RxPackets = uint64(ti.Segs_in)
	row.TxPackets = uint64(ti.Segs_out)
	row.RxBytes = ti.Bytes_received
	row.TxBytes = ti.Bytes_sent
}

// addUDPDrops fills Drops, which sock_diag does not report for UDP, from
// /proc/net/udp{,6}. If the table cannot be read, drops stay unknown.
func addUDPDrops(rows []sstable.Row, fam family, root string) {
	entries, err := readProcNet(sstable.UDP, fam, root)
	if err != nil {
		return
	}
	drops := make(map[uint64]uint64, len(entries))
	for _, e := range entries {
		if e.Inode != 0 {
			drops[e.Inode] = e.Drops
		}
	}
	for i := range rows {
		if rows[i].Inode != 0 {
			rows[i].Drops = drops[rows[i].Inode]
		}
	}
}

func readProcNet(proto string, fam family, root string) ([]procEntry, error) {
	path := filepath.Join(root, "net", proto+fam.suffix)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	entries, err := parseProcNet(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// procRows reads proto's sockets of one family from /proc/net.
func procRows(proto string, fam family, root string) ([]sstable.Row, error) {
	entries, err := readProcNet(proto, fam, root)
	if err != nil {
		return nil, fmt.Errorf("hostsock: %w", err)
	}
	rows := make([]sstable.Row, 0, len(entries))
	for _, e := range entries {
		row := sstable.Row{
			Proto:  proto,
			Family: fam.name,
			RecvQ:  int(e.RxQueue),
			SendQ:  int(e.TxQueue),
			Local:  e.Local,
			Remote: noPeer(e.Remote),
			Inode:  e.Inode,
		}
		switch proto {
		case sstable.TCP:
			row.State = tcpState(e.State)
		case sstable.UDP:
			row.State = datagramState(e.State)
			row.Drops = e.Drops
		case sstable.Raw:
			// raw_sock_seq_show prints the protocol (inet_num) where the
			// port would be; ports mean nothing to a raw socket.
			p := e.Local.Port()
			if p > 255 {
				return nil, fmt.Errorf("hostsock: /proc/net/raw%s: protocol %d out of range", fam.suffix, p)
			}
			row.State = datagramState(e.State)
			row.Protocol = uint8(p)
			row.Local = netip.AddrPortFrom(e.Local.Addr(), 0)
			if row.Remote.IsValid() {
				row.Remote = netip.AddrPortFrom(e.Remote.Addr(), 0)
			}
			row.Drops = e.Drops
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// noPeer turns the kernel's "0.0.0.0:0" / "[::]:0" (no peer fixed) into
// the zero AddrPort, which the table prints "*:*".
func noPeer(a netip.AddrPort) netip.AddrPort {
	if a.Addr().IsUnspecified() && a.Port() == 0 {
		return netip.AddrPort{}
	}
	return a
}

// tcpStates maps Linux's TCP_* numbers (include/net/tcp_states.h) to
// RFC 9293 §3.3.2's names. TCP_NEW_SYN_RECV is a request socket standing
// for a connection in SYN-RECEIVED before it gets a full socket.
var tcpStates = [...]string{
	1:  sstable.StateEstablished,
	2:  sstable.StateSynSent,
	3:  sstable.StateSynReceived,
	4:  sstable.StateFinWait1,
	5:  sstable.StateFinWait2,
	6:  sstable.StateTimeWait,
	7:  sstable.StateClosed,
	8:  sstable.StateCloseWait,
	9:  sstable.StateLastAck,
	10: sstable.StateListen,
	11: sstable.StateClosing,
	12: sstable.StateSynReceived,
}

func tcpState(s uint8) string {
	if int(s) < len(tcpStates) && tcpStates[s] != "" {
		return tcpStates[s]
	}
	return "UNKNOWN-" + strconv.Itoa(int(s))
}

// datagramState: the kernel marks a UDP or raw socket TCP_ESTABLISHED (1)
// once connect has fixed its peer, TCP_CLOSE (7) otherwise.
func datagramState(s uint8) string {
	return sstable.DatagramState(s == 1)
}

// resolveOwners fills Owner and PID from a scan of /proc/*/fd. Rows with
// inode 0 (TIME-WAIT and request sockets belong to no process) stay
// unowned.
func resolveOwners(rows []sstable.Row, root string) {
	want := make(map[uint64]bool)
	for _, r := range rows {
		if r.Inode != 0 {
			want[r.Inode] = true
		}
	}
	owners := scanOwners(root, want)
	for i := range rows {
		if o, ok := owners[rows[i].Inode]; ok && rows[i].Inode != 0 {
			rows[i].Owner, rows[i].PID = o.comm, o.pid
		}
	}
}
