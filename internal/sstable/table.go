package sstable

import (
	"bufio"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Option changes how WriteTable prints.
type Option func(*tableOptions)

type tableOptions struct {
	noHeader bool
	details  bool
}

// NoHeader leaves out the heading line, as `ss -H` does.
func NoHeader() Option { return func(o *tableOptions) { o.noHeader = true } }

// Details adds, under each row that has any, a tab-indented line of TCP
// details and counters, as `ss -i` does.
func Details() Option { return func(o *tableOptions) { o.details = true } }

var header = []string{"Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Service", "Process"}

// WriteTable prints rows, in the order given, as aligned columns in the
// style of `ss -tuwlp`: Netid, State, Recv-Q, Send-Q, Local Address:Port,
// Peer Address:Port, Service (the local port's registered name) and
// Process (`users:(("name",pid=N,id=M))`). A row whose port has a history
// of abuse ends with "! " and the note. Columns are left-aligned and
// separated by at least one space; lines carry no trailing spaces.
func WriteTable(w io.Writer, rows []Row, opts ...Option) error {
	var o tableOptions
	for _, f := range opts {
		f(&o)
	}
	lines := make([][]string, 0, len(rows)+1)
	if !o.noHeader {
		lines = append(lines, header)
	}
	for _, r := range rows {
		lines = append(lines, cells(r))
	}
	widths := make([]int, len(header))
	for _, l := range lines {
		for i, c := range l[:len(header)] {
			widths[i] = max(widths[i], len(c))
		}
	}
	bw := bufio.NewWriter(w)
	var sb strings.Builder
	for i, l := range lines {
		sb.Reset()
		for j, c := range l {
			sb.WriteString(c)
			if j < len(widths) && j < len(l)-1 {
				sb.WriteString(strings.Repeat(" ", widths[j]-len(c)+1))
			}
		}
		bw.WriteString(strings.TrimRight(sb.String(), " "))
		bw.WriteByte('\n')
		if o.details {
			ri := i
			if !o.noHeader {
				ri--
			}
			if ri >= 0 {
				if d := details(rows[ri]); d != "" {
					bw.WriteString("\t" + d + "\n")
				}
			}
		}
	}
	return bw.Flush()
}

// cells are a row's columns, plus a note column when it is suspicious.
func cells(r Row) []string {
	c := []string{
		r.Proto,
		r.State,
		strconv.Itoa(r.RecvQ),
		strconv.Itoa(r.SendQ),
		LocalString(r),
		RemoteString(r),
		r.Service,
		process(r),
	}
	if r.Suspicious != "" {
		c = append(c, "! "+r.Suspicious)
	}
	return c
}

// LocalString is the Local Address:Port cell: "0.0.0.0:80", "[::1]:53",
// and for raw sockets the protocol in the port position ("0.0.0.0:icmp").
func LocalString(r Row) string {
	if !r.Local.IsValid() {
		return "*:*"
	}
	a := addrString(r.Local.Addr())
	if r.Proto == Raw {
		return a + ":" + ProtocolName(r.Protocol)
	}
	return a + ":" + portString(r.Local.Port())
}

// RemoteString is the Peer Address:Port cell: "*:*" when no peer is fixed,
// the port "*" when only the address is (raw sockets have no ports).
func RemoteString(r Row) string {
	if !r.Remote.IsValid() {
		return "*:*"
	}
	a := addrString(r.Remote.Addr())
	if r.Proto == Raw {
		return a + ":*"
	}
	return a + ":" + portString(r.Remote.Port())
}

func addrString(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

func portString(p uint16) string {
	if p == 0 {
		return "*"
	}
	return strconv.Itoa(int(p))
}

// protocolNames are the IANA keywords (as /etc/protocols spells them) of
// the protocols a raw socket is most often opened for.
var protocolNames = map[uint8]string{
	1:   "icmp",
	2:   "igmp",
	6:   "tcp",
	17:  "udp",
	47:  "gre",
	50:  "esp",
	51:  "ah",
	58:  "ipv6-icmp",
	89:  "ospf",
	112: "vrrp",
	132: "sctp",
}

// ProtocolName is the keyword of IP protocol p, or its number.
func ProtocolName(p uint8) string {
	if n, ok := protocolNames[p]; ok {
		return n
	}
	return strconv.Itoa(int(p))
}

// process is ss's users:(("name",pid=N,...)) cell; berth rows add id=.
func process(r Row) string {
	if r.Owner == "" && r.PID == 0 && r.ID == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(`users:((`)
	sb.WriteString(strconv.Quote(r.Owner))
	if r.PID != 0 {
		sb.WriteString(",pid=" + strconv.Itoa(r.PID))
	}
	if r.ID != 0 {
		sb.WriteString(",id=" + strconv.FormatUint(r.ID, 10))
	}
	sb.WriteString("))")
	return sb.String()
}

// details is the -i line: only what is known (non-zero) is shown.
func details(r Row) string {
	var f []string
	if r.RTT != 0 {
		f = append(f, "rtt:"+ms(r.RTT))
	}
	if r.RTO != 0 {
		f = append(f, "rto:"+ms(r.RTO))
	}
	if r.Cwnd != 0 {
		f = append(f, "cwnd:"+strconv.FormatUint(uint64(r.Cwnd), 10))
	}
	if r.Ssthresh != 0 {
		f = append(f, "ssthresh:"+strconv.FormatUint(uint64(r.Ssthresh), 10))
	}
	if r.Retrans != 0 {
		f = append(f, "retrans:"+strconv.FormatUint(r.Retrans, 10))
	}
	if r.RxPackets != 0 || r.RxBytes != 0 {
		f = append(f, "rx:"+strconv.FormatUint(r.RxPackets, 10)+"pkt/"+strconv.FormatUint(r.RxBytes, 10)+"B")
	}
	if r.TxPackets != 0 || r.TxBytes != 0 {
		f = append(f, "tx:"+strconv.FormatUint(r.TxPackets, 10)+"pkt/"+strconv.FormatUint(r.TxBytes, 10)+"B")
	}
	if r.Drops != 0 {
		f = append(f, "drops:"+strconv.FormatUint(r.Drops, 10))
	}
	return strings.Join(f, " ")
}

// ms prints d in milliseconds without trailing zeros ("0.05ms", "204ms").
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + "ms"
}
