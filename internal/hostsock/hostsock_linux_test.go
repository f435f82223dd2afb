//go:build linux

package hostsock

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"berth/internal/sstable"
)

// source is one way of reading the host's table: all of Sockets, or the
// /proc/net fallback alone.
type source struct {
	name    string
	details bool // TCP details and a listener's backlog come with sock_diag only
	read    func(t *testing.T) []sstable.Row
}

var sources = []source{
	{"sock_diag", true, func(t *testing.T) []sstable.Row {
		t.Helper()
		if _, err := diagRows(sstable.TCP, families[0]); err != nil {
			t.Skipf("netlink sock_diag unavailable: %v", err)
		}
		if _, err := diagRows(sstable.UDP, families[0]); err != nil {
			t.Skipf("netlink sock_diag for udp unavailable: %v", err)
		}
		rows, err := Sockets()
		if err != nil {
			t.Fatalf("Sockets: %v", err)
		}
		return rows
	}},
	{"proc", false, func(t *testing.T) []sstable.Row {
		t.Helper()
		var rows []sstable.Row
		for _, fam := range families {
			for _, p := range []string{sstable.TCP, sstable.UDP, sstable.Raw} {
				r, err := procRows(p, fam, procRoot)
				if errors.Is(err, os.ErrNotExist) && fam.name == sstable.Inet6 {
					continue
				}
				if err != nil {
					t.Fatalf("procRows(%s, %s): %v", p, fam.name, err)
				}
				rows = append(rows, r...)
			}
		}
		resolveOwners(rows, procRoot)
		sstable.Sort(rows)
		return rows
	}},
}

func myComm(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func addrPort(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	t.Fatalf("unexpected address type %T", a)
	return netip.AddrPort{}
}

// find returns the one row of proto with these addresses.
func find(t *testing.T, rows []sstable.Row, proto string, local, remote netip.AddrPort) sstable.Row {
	t.Helper()
	var found []sstable.Row
	for _, r := range rows {
		if r.Proto == proto && r.Local == local && r.Remote == remote {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		var b strings.Builder
		sstable.WriteTable(&b, rows)
		t.Fatalf("%d %s rows %s -> %s, want 1; table:\n%s", len(found), proto, local, remote, b.String())
	}
	return found[0]
}

// checkMine asserts the row belongs to this test process.
func checkMine(t *testing.T, r sstable.Row, state, family string) {
	t.Helper()
	if r.State != state || r.Family != family {
		t.Errorf("%s %s: state %s family %s, want %s %s", r.Proto, sstable.LocalString(r), r.State, r.Family, state, family)
	}
	if r.PID != os.Getpid() || r.Owner != myComm(t) {
		t.Errorf("%s %s: owner %q pid %d, want %q pid %d", r.Proto, sstable.LocalString(r), r.Owner, r.PID, myComm(t), os.Getpid())
	}
	if r.Inode == 0 {
		t.Errorf("%s %s: no inode", r.Proto, sstable.LocalString(r))
	}
}

func TestListenerAndDatagramSockets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cu, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cu.Close()
	lnAddr, pcAddr := addrPort(t, ln.Addr()), addrPort(t, pc.LocalAddr())

	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			rows := src.read(t)
			l := find(t, rows, sstable.TCP, lnAddr, netip.AddrPort{})
			checkMine(t, l, sstable.StateListen, sstable.Inet)
			// Through sock_diag a listener's Send-Q is its backlog bound
			// (Go asks for somaxconn, never zero); /proc/net/tcp prints 0.
			if src.details && l.SendQ == 0 {
				t.Errorf("listener backlog bound 0")
			}
			if src.name == "sock_diag" {
				if svc, _ := sstable.RegistryLookup(sstable.TCP, lnAddr.Port()); l.Service != svc {
					t.Errorf("listener service %q, registry says %q", l.Service, svc)
				}
			}
			u := find(t, rows, sstable.UDP, pcAddr, netip.AddrPort{})
			checkMine(t, u, sstable.StateUnconn, sstable.Inet)
			c := find(t, rows, sstable.UDP, addrPort(t, cu.LocalAddr()), pcAddr)
			checkMine(t, c, sstable.StateEstab, sstable.Inet)
		})
	}
}

// peek waits, without consuming, until n bytes can be read from c, so the
// kernel's receive queue holds them when the table is read.
func peek(t *testing.T, c net.Conn, n int) {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	for got := 0; got < n; {
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			got, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
			return rerr != syscall.EAGAIN
		}); err != nil {
			t.Fatal(err)
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
	}
}

func TestEstablishedPair(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			host, fam := "127.0.0.1", sstable.Inet
			if network == "tcp6" {
				host, fam = "[::1]", sstable.Inet6
			}
			ln, err := net.Listen(network, host+":0")
			if err != nil {
				if network == "tcp6" {
					t.Skipf("no IPv6 loopback: %v", err)
				}
				t.Fatal(err)
			}
			defer ln.Close()
			client, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			server, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			msg := []byte("hello")
			if _, err := server.Write(msg); err != nil {
				t.Fatal(err)
			}
			peek(t, client, len(msg))
			ca, sa := addrPort(t, client.LocalAddr()), addrPort(t, server.LocalAddr())

			for _, src := range sources {
				t.Run(src.name, func(t *testing.T) {
					rows := src.read(t)
					c := find(t, rows, sstable.TCP, ca, sa)
					checkMine(t, c, sstable.StateEstablished, fam)
					if c.RecvQ != len(msg) {
						t.Errorf("client Recv-Q %d, want %d unread bytes", c.RecvQ, len(msg))
					}
					s := find(t, rows, sstable.TCP, sa, ca)
					checkMine(t, s, sstable.StateEstablished, fam)
					if !src.details {
						return
					}
					if c.RxBytes != uint64(len(msg)) || s.TxBytes != uint64(len(msg)) {
						t.Errorf("bytes: client rx %d, server tx %d, want %d", c.RxBytes, s.TxBytes, len(msg))
					}
					for _, r := range []sstable.Row{c, s} {
						if r.Cwnd == 0 || r.RTO == 0 || r.RxPackets == 0 || r.TxPackets == 0 {
							t.Errorf("%s: tcp_info missing: %+v", sstable.LocalString(r), r)
						}
					}
				})
			}
		})
	}
}

func TestRawSocket(t *testing.T) {
	c, err := net.ListenPacket("ip4:253", "127.0.0.1")
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			t.Skipf("raw sockets need CAP_NET_RAW: %v", err)
		}
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := Sockets()
	if err != nil {
		t.Fatal(err)
	}
	var mine []sstable.Row
	for _, r := range rows {
		if r.Proto == sstable.Raw && r.Protocol == 253 && r.Local == netip.MustParseAddrPort("127.0.0.1:0") {
			mine = append(mine, r)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d raw rows for protocol 253 on 127.0.0.1, want 1: %+v", len(mine), mine)
	}
	checkMine(t, mine[0], sstable.StateUnconn, sstable.Inet)
	if mine[0].Remote.IsValid() {
		t.Errorf("unconnected raw socket has peer %s", mine[0].Remote)
	}
	var b strings.Builder
	sstable.WriteTable(&b, mine, sstable.NoHeader())
	if !strings.HasPrefix(b.String(), "raw UNCONN 0 0 127.0.0.1:253 *:*") {
		t.Errorf("raw row prints %q", b.String())
	}
}

// The seed's question, with its own example: a kernel socket on Glacier's
// default port is flagged, and an outbound connection is not.
func TestSuspiciousListener(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:7626")
	if err != nil {
		t.Skipf("127.0.0.1:7626 unavailable: %v", err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := Sockets()
	if err != nil {
		t.Fatal(err)
	}
	lnAddr, ca := addrPort(t, ln.Addr()), addrPort(t, c.LocalAddr())
	const note = "default port of Glacier (Bingshe)"
	if r := find(t, rows, sstable.TCP, lnAddr, netip.AddrPort{}); r.Suspicious != note {
		t.Errorf("listener on 7626: suspicious %q, want %q", r.Suspicious, note)
	}
	if r := find(t, rows, sstable.TCP, lnAddr, ca); r.Suspicious != note {
		t.Errorf("accepted connection on 7626: suspicious %q, want %q", r.Suspicious, note)
	}
	if r := find(t, rows, sstable.TCP, ca, lnAddr); r.Suspicious != "" {
		t.Errorf("client side flagged: %q", r.Suspicious)
	}
	var b strings.Builder
	sstable.WriteTable(&b, rows)
	if !strings.Contains(b.String(), "127.0.0.1:7626") || !strings.Contains(b.String(), "! "+note) {
		t.Errorf("table does not show the flag:\n%s", b.String())
	}
}

func TestTCPStateNames(t *testing.T) {
	want := map[uint8]string{
		1: "ESTABLISHED", 2: "SYN-SENT", 3: "SYN-RECEIVED", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2", 6: "TIME-WAIT",
		7: "CLOSED", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING", 12: "SYN-RECEIVED",
		0: "UNKNOWN-0", 13: "UNKNOWN-13", 255: "UNKNOWN-255",
	}
	for s, name := range want {
		if got := tcpState(s); got != name {
			t.Errorf("tcpState(%d) = %q, want %q", s, got, name)
		}
	}
	if datagramState(1) != sstable.StateEstab || datagramState(7) != sstable.StateUnconn {
		t.Errorf("datagram states wrong")
	}
}

func TestProcRowsFromFakeTree(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(root+"/net", 0o755); err != nil {
		t.Fatal(err)
	}
	raw := procEntry{Local: netip.MustParseAddrPort("198.18.0.1:1"), Remote: netip.MustParseAddrPort("198.18.0.2:0"), State: 1, RxQueue: 64, Inode: 41, Drops: 2}
	if err := os.WriteFile(root+"/net/raw", formatProcNet([]procEntry{raw}, true), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := procEntry{Local: netip.MustParseAddrPort("198.18.0.1:300"), Remote: netip.MustParseAddrPort("0.0.0.0:0"), State: 7}
	if err := os.WriteFile(root+"/net/raw6", formatProcNet([]procEntry{bad}, true), 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := procRows(sstable.Raw, families[0], root)
	if err != nil {
		t.Fatal(err)
	}
	want := sstable.Row{Proto: sstable.Raw, Family: sstable.Inet, State: sstable.StateEstab, RecvQ: 64,
		Local: netip.MustParseAddrPort("198.18.0.1:0"), Remote: netip.MustParseAddrPort("198.18.0.2:0"), Protocol: 1, Inode: 41, Drops: 2}
	if len(rows) != 1 || rows[0] != want {
		t.Fatalf("raw rows %+v, want %+v", rows, want)
	}
	if _, err := procRows(sstable.Raw, families[0], root+"/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing table: %v, want ErrNotExist", err)
	}
	// A "protocol" above 255 cannot be one: refuse rather than truncate.
	if rows, err := procRows(sstable.Raw, family{name: sstable.Inet6, suffix: "6"}, root); err == nil {
		t.Errorf("raw protocol 300 accepted: %+v", rows)
	}
}
