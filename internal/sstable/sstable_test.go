package sstable

import (
	"bytes"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// sample is a small berth-like table: a listener, a connection, a
// connected and an unconnected datagram socket, a raw socket, IPv6.
func sample() []Row {
	return []Row{
		{Proto: UDP, Family: Inet, State: StateUnconn, Local: ap("0.0.0.0:7"), Owner: "echo", PID: 4242, ID: 3, Service: "echo"},
		{Proto: TCP, Family: Inet, State: StateListen, SendQ: 128, Local: ap("198.18.0.1:80"), Owner: "web", PID: 4242, ID: 1, Service: "http"},
		{Proto: TCP, Family: Inet, State: StateEstablished, RecvQ: 5, SendQ: 1400, Local: ap("198.18.0.1:80"), Remote: ap("198.18.0.2:40001"), Owner: "web", PID: 4242, ID: 2, Service: "http",
			RTT: 1500 * time.Microsecond, RTO: 204 * time.Millisecond, Cwnd: 10, Retrans: 2, RxPackets: 7, RxBytes: 700, TxPackets: 9, TxBytes: 12000},
		{Proto: TCP, Family: Inet6, State: StateListen, Local: ap("[::]:7626"), Owner: "x", PID: 4242, ID: 4, Suspicious: "Glacier trojan's default port"},
		{Proto: Raw, Family: Inet, State: StateUnconn, Local: ap("0.0.0.0:0"), Protocol: 1, Owner: "ping", PID: 4242, ID: 5},
		{Proto: UDP, Family: Inet, State: StateEstab, Local: ap("198.18.0.1:33000"), Remote: ap("198.18.0.2:53"), Owner: "dns", PID: 4242, ID: 6, Drops: 3},
	}
}

func TestSortOrder(t *testing.T) {
	rows := sample()
	Sort(rows)
	var got []uint64
	for _, r := range rows {
		got = append(got, r.ID)
	}
	// tcp (v4 local before v6; listener before connection on the same
	// local address since the zero remote sorts first), then udp, then raw.
	want := []uint64{1, 2, 4, 3, 6, 5}
	if !slices.Equal(got, want) {
		t.Fatalf("order by id = %v, want %v", got, want)
	}
	// Sorting is deterministic whatever the input order.
	rev := sample()
	slices.Reverse(rev)
	Sort(rev)
	if !reflect.DeepEqual(rev, rows) {
		t.Fatalf("sort depends on input order")
	}
}

func TestWriteTable(t *testing.T) {
	rows := sample()
	Sort(rows)
	var b bytes.Buffer
	if err := WriteTable(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		`Netid State       Recv-Q Send-Q Local Address:Port Peer Address:Port Service Process`,
		`tcp   LISTEN      0      128    198.18.0.1:80      *:*               http    users:(("web",pid=4242,id=1))`,
		`tcp   ESTABLISHED 5      1400   198.18.0.1:80      198.18.0.2:40001  http    users:(("web",pid=4242,id=2))`,
		`tcp   LISTEN      0      0      [::]:7626          *:*                       users:(("x",pid=4242,id=4))    ! Glacier trojan's default port`,
		`udp   UNCONN      0      0      0.0.0.0:7          *:*               echo    users:(("echo",pid=4242,id=3))`,
		`udp   ESTAB       0      0      198.18.0.1:33000   198.18.0.2:53             users:(("dns",pid=4242,id=6))`,
		`raw   UNCONN      0      0      0.0.0.0:icmp       *:*                       users:(("ping",pid=4242,id=5))`,
	}, "\n") + "\n"
	if got := b.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTableDetailsNoHeader(t *testing.T) {
	rows := []Row{
		{Proto: TCP, Family: Inet, State: StateEstablished, Local: ap("127.0.0.1:5000"), Remote: ap("127.0.0.1:6000"),
			RTT: 50 * time.Microsecond, RTO: 204 * time.Millisecond, Cwnd: 10, Ssthresh: 7, Retrans: 1, RxPackets: 3, RxBytes: 100, TxPackets: 4, TxBytes: 200},
		{Proto: UDP, Family: Inet6, State: StateUnconn, Local: ap("[fe80::1%eth0]:546"), Remote: ap("[::ffff:198.18.0.9]:547"), Drops: 2},
		{Proto: Raw, Family: Inet, State: StateEstab, Local: ap("198.18.0.1:0"), Remote: ap("198.18.0.2:0"), Protocol: 253},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, rows, NoHeader(), Details()); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"tcp ESTABLISHED 0 0 127.0.0.1:5000     127.0.0.1:6000\n" +
		"\trtt:0.05ms rto:204ms cwnd:10 ssthresh:7 retrans:1 rx:3pkt/100B tx:4pkt/200B\n" +
		"udp UNCONN      0 0 [fe80::1%eth0]:546 [::ffff:198.18.0.9]:547\n" +
		"\tdrops:2\n" +
		"raw ESTAB       0 0 198.18.0.1:253     198.18.0.2:*\n"
	if got := b.String(); got != want {
		t.Fatalf("table:\n%q\nwant:\n%q", got, want)
	}
}

func TestWriteTableEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, nil); err != nil {
		t.Fatal(err)
	}
	if want := "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Service Process\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rows := sample()
	rows = append(rows, Row{Proto: TCP, Family: Inet6, State: StateTimeWait,
		Local: ap("[fe80::1%lo]:22"), Remote: ap("[::ffff:198.18.0.2]:50000"), Inode: 1 << 40, Ssthresh: 1})
	var b bytes.Buffer
	if err := WriteJSON(&b, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, rows)
	}
}

func TestJSONFieldNames(t *testing.T) {
	rows := []Row{
		{Proto: UDP, Family: Inet, State: StateUnconn, Local: ap("0.0.0.0:7")},
		{Proto: TCP, Family: Inet, State: StateEstablished, RecvQ: 1, SendQ: 2, Local: ap("198.18.0.1:80"), Remote: ap("198.18.0.2:1024"),
			Owner: "web", PID: 9, ID: 2, Service: "http", Suspicious: "Yai", RTT: time.Millisecond, Cwnd: 10},
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, rows); err != nil {
		t.Fatal(err)
	}
	want := `[
{"proto":"udp","family":"inet","state":"UNCONN","recv_q":0,"send_q":0,"local":"0.0.0.0:7","remote":""},
{"proto":"tcp","family":"inet","state":"ESTABLISHED","recv_q":1,"send_q":2,"local":"198.18.0.1:80","remote":"198.18.0.2:1024","owner":"web","pid":9,"id":2,"service":"http","suspicious":"Yai","rtt_ns":1000000,"cwnd":10}
]
`
	if b.String() != want {
		t.Fatalf("json:\n%s\nwant:\n%s", b.String(), want)
	}

	b.Reset()
	if err := WriteJSON(&b, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[]\n" {
		t.Fatalf("empty json = %q", b.String())
	}
}

func TestReadJSONRejectsBadAddress(t *testing.T) {
	for _, in := range []string{
		`[{"proto":"tcp","local":"198.18.0.1"}]`,
		`[{"proto":"tcp","local":"198.18.0.1:80","remote":"[::1]"}]`,
		`[{"proto":"tcp","local":"198.18.0.1:99999"}]`,
		`{"proto":"tcp"}`,
	} {
		if rows, err := ReadJSON(strings.NewReader(in)); err == nil {
			t.Errorf("ReadJSON(%s) = %+v, want error", in, rows)
		}
	}
}

func TestFilter(t *testing.T) {
	rows := sample()
	Sort(rows) // ids: 1 tcp LISTEN, 2 tcp ESTABLISHED, 4 tcp LISTEN v6, 3 udp UNCONN, 6 udp ESTAB, 5 raw UNCONN
	cases := []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"zero filter shows every socket", Filter{}, []uint64{1, 2, 4, 3, 6, 5}},
		{"-t", Filter{TCP: true}, []uint64{1, 2, 4}},
		{"-u", Filter{UDP: true}, []uint64{3, 6}},
		{"-w", Filter{Raw: true}, []uint64{5}},
		{"-t -u", Filter{TCP: true, UDP: true}, []uint64{1, 2, 4, 3, 6}},
		{"-l", Filter{ListeningOnly: true}, []uint64{1, 4, 3, 5}},
		{"-t -l", Filter{TCP: true, ListeningOnly: true}, []uint64{1, 4}},
		{"-u -l: unconnected only", Filter{UDP: true, ListeningOnly: true}, []uint64{3}},
		{"-a overrides -l", Filter{ListeningOnly: true, All: true}, []uint64{1, 2, 4, 3, 6, 5}},
	}
	for _, c := range cases {
		var got []uint64
		for _, r := range c.f.Apply(rows) {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: ids %v, want %v", c.name, got, c.want)
		}
	}
	// An unknown protocol matches only when no protocol is selected.
	odd := Row{Proto: "sctp", State: StateListen}
	if !(Filter{}).Match(odd) || (Filter{TCP: true, UDP: true, Raw: true}).Match(odd) {
		t.Errorf("unknown protocol filtering wrong")
	}
	// TCP sockets in CLOSED or TIME-WAIT do not listen.
	for _, st := range []string{StateClosed, StateTimeWait, StateSynSent} {
		if (Row{Proto: TCP, State: st}).Listening() {
			t.Errorf("tcp %s counted as listening", st)
		}
	}
}

func TestAnnotate(t *testing.T) {
	rows := sample()
	for i := range rows {
		rows[i].Service, rows[i].Suspicious = "", ""
	}
	// A client connection whose ephemeral local port is on the list, and
	// an accepted connection on a listener's suspicious port.
	rows = append(rows,
		Row{Proto: TCP, State: StateEstablished, Local: ap("198.18.0.1:40421"), Remote: ap("198.18.0.2:80"), ID: 7},
		Row{Proto: TCP, State: StateEstablished, Local: ap("[::]:7626"), Remote: ap("[::1]:50000"), ID: 8})
	var asked []string
	Annotate(rows, func(proto string, port uint16) (string, string) {
		asked = append(asked, proto+"/"+portString(port))
		switch {
		case proto == TCP && port == 80:
			return "http", ""
		case port == 7626 || port == 40421:
			return "", "trojan"
		case proto == UDP && port == 7:
			return "echo", ""
		}
		return "", ""
	})
	want := []string{"udp/7", "tcp/80", "tcp/80", "tcp/7626", "udp/33000", "tcp/40421", "tcp/7626"} // the raw row is skipped
	if !slices.Equal(asked, want) {
		t.Fatalf("lookups %v, want %v", asked, want)
	}
	type ann struct{ svc, note string }
	got := map[uint64]ann{}
	for _, r := range rows {
		got[r.ID] = ann{r.Service, r.Suspicious}
	}
	wantAnn := map[uint64]ann{
		1: {"http", ""}, 2: {"http", ""}, 3: {"echo", ""}, 4: {"", "trojan"}, 5: {"", ""}, 6: {"", ""},
		7: {"", ""},       // outbound: the port is not served here
		8: {"", "trojan"}, // accepted on the listener's port
	}
	if !reflect.DeepEqual(got, wantAnn) {
		t.Fatalf("annotations %v, want %v", got, wantAnn)
	}
}

func TestRegistryLookup(t *testing.T) {
	for _, c := range []struct {
		proto      string
		port       uint16
		svc        string
		suspicious bool
	}{
		{TCP, 80, "http", false},
		{UDP, 53, "domain", false},
		{TCP, 7626, "", true}, // the seed's Glacier
		{UDP, 7626, "", false},
		{Raw, 1, "", false},
	} {
		svc, note := RegistryLookup(c.proto, c.port)
		if c.svc != "" && svc != c.svc {
			t.Errorf("%s/%d: service %q, want %q", c.proto, c.port, svc, c.svc)
		}
		if (note != "") != c.suspicious {
			t.Errorf("%s/%d: suspicious %q, want %v", c.proto, c.port, note, c.suspicious)
		}
	}
	if _, note := RegistryLookup(TCP, 7626); note != "default port of Glacier (Bingshe)" {
		t.Errorf("7626 note %q", note)
	}
}
