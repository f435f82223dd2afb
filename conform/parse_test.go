package conform

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"berth/wire"
)

// suiteFiles returns the conformance scripts, or skips the test when the
// directory is absent (it lives outside the repository).
func suiteFiles(t testing.TB) []string {
	t.Helper()
	dir := SuiteDir()
	files, err := ScriptFiles(dir)
	if err != nil {
		if os.IsNotExist(err) {
			t.Skipf("conformance scripts not found at %s (set %s to their directory): %v", dir, EnvDir, err)
		}
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no *.pkt scripts in %s (set %s to their directory)", dir, EnvDir)
	}
	return files
}

func mustParse(t *testing.T, src string) *Script {
	t.Helper()
	s, err := Parse("test", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func TestParse_SuiteRoundTrip(t *testing.T) {
	for _, f := range suiteFiles(t) {
		t.Run(ScriptName(f), func(t *testing.T) {
			s, err := ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Events) == 0 {
				t.Fatal("no events")
			}
			text := s.String()
			again, err := Parse(s.Name, []byte(text))
			if err != nil {
				t.Fatalf("reparse of\n%s: %v", text, err)
			}
			if again.String() != text {
				t.Fatalf("round trip changed the script:\n%s\nvs\n%s", text, again.String())
			}
		})
	}
}

func TestParse_Times(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want Time
	}{
		{"0 close(3) = 0", Time{Kind: TimeAbsolute}},
		{"0.250 close(3) = 0", Time{Kind: TimeAbsolute, Start: 250 * time.Millisecond}},
		{"+.1 close(3) = 0", Time{Kind: TimeRelative, Start: 100 * time.Millisecond}},
		{"+2 close(3) = 0", Time{Kind: TimeRelative, Start: 2 * time.Second}},
		{"* close(3) = 0", Time{Kind: TimeAny}},
		{"+0~+.04 close(3) = 0", Time{Kind: TimeRelative, Range: true, End: 40 * time.Millisecond}},
		{"+.3~+.400 close(3) = 0", Time{Kind: TimeRelative, Start: 300 * time.Millisecond, Range: true, End: 400 * time.Millisecond}},
		{"0.1~0.2 close(3) = 0", Time{Kind: TimeAbsolute, Start: 100 * time.Millisecond, Range: true, End: 200 * time.Millisecond}},
		{"+0...0.300 write(4, ..., 61000) = 61000", Time{Kind: TimeRelative, Blocking: true, BlockEnd: 300 * time.Millisecond}},
		{"+.1...0.200 connect(3, ..., ...) = 0", Time{Kind: TimeRelative, Start: 100 * time.Millisecond, Blocking: true, BlockEnd: 200 * time.Millisecond}},
		{"+0.000001 close(3) = 0", Time{Kind: TimeRelative, Start: time.Microsecond}},
	} {
		s := mustParse(t, tc.src)
		if got := s.Events[0].Time; got != tc.want {
			t.Errorf("%q: time %+v, want %+v", tc.src, got, tc.want)
		}
	}
}

func TestParse_Packets(t *testing.T) {
	s := mustParse(t, `
0 < S 0:0(0) win 32792 <mss 1460,sackOK,nop,nop,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <...>
+0 > P. 1:1001(1000) ack 1
+0 < - 1:1001(1000) win 20000
+0 > R 1:1(0) ack 0 win 0
+0 > FP. 13001:20001(7000) ack 1
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
+0 < . 1:1(0) ack 5 win 257 <nop,nop,sack 10:20 30:40>
`)
	want := []Packet{
		{Dir: Inbound, Flags: wire.FlagSYN, HasWin: true, Win: 32792, Options: []Option{
			{Kind: OptMSS, Value: 1460}, {Kind: OptSACKOK}, {Kind: OptNOP}, {Kind: OptNOP}, {Kind: OptNOP}, {Kind: OptWScale, Value: 7}}},
		{Dir: Outbound, Flags: wire.FlagSYN | wire.FlagACK, HasAck: true, Ack: 1, AnyOptions: true},
		{Dir: Outbound, Flags: wire.FlagPSH | wire.FlagACK, Seq: 1, End: 1001, Len: 1000, HasAck: true, Ack: 1},
		{Dir: Inbound, Seq: 1, End: 1001, Len: 1000, HasWin: true, Win: 20000},
		{Dir: Outbound, Flags: wire.FlagRST, Seq: 1, End: 1, HasAck: true, HasWin: true},
		{Dir: Outbound, Flags: wire.FlagFIN | wire.FlagPSH | wire.FlagACK, Seq: 13001, End: 20001, Len: 7000, HasAck: true, Ack: 1},
		{Dir: Outbound, Flags: wire.FlagSYN, Options: []Option{
			{Kind: OptMSS, Value: 1460}, {Kind: OptSACKOK}, {Kind: OptTimestamp, Val: 100}, {Kind: OptNOP}, {Kind: OptWScale, Value: 8}}},
		{Dir: Inbound, Flags: wire.FlagACK, Seq: 1, End: 1, HasAck: true, Ack: 5, HasWin: true, Win: 257, Options: []Option{
			{Kind: OptNOP}, {Kind: OptNOP}, {Kind: OptSACK, Blocks: []SACKBlock{{10, 20}, {30, 40}}}}},
	}
	if len(s.Events) != len(want) {
		t.Fatalf("%d events, want %d", len(s.Events), len(want))
	}
	for i, w := range want {
		if got := s.Events[i].Packet; got == nil || !reflect.DeepEqual(*got, w) {
			t.Errorf("event %d (line %d): %+v, want %+v", i, s.Events[i].Line, got, w)
		}
	}
}

func TestParse_Syscalls(t *testing.T) {
	s := mustParse(t, `
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 getsockopt(4, SOL_SOCKET, SO_SNDBUF,  [42000], [4]) = 0
+0 read(4,..., 4) = -1 ECONNRESET (Connection Reset by Peer)
+0 write(4, ..., 1000) = -1 EPIPE
+0 accept(3, ..., ...) = 4    // trailing comment
`)
	want := []Syscall{
		{Name: "socket", Args: []Expr{{Kind: ExprEllipsis}, {Kind: ExprName, Name: "SOCK_STREAM"}, {Kind: ExprName, Name: "IPPROTO_TCP"}}, Ret: 3},
		{Name: "fcntl", Args: []Expr{{Kind: ExprInt, Int: 3}, {Kind: ExprName, Name: "F_SETFL"},
			{Kind: ExprOr, Elems: []Expr{{Kind: ExprName, Name: "O_RDWR"}, {Kind: ExprName, Name: "O_NONBLOCK"}}}}},
		{Name: "connect", Args: []Expr{{Kind: ExprInt, Int: 3}, {Kind: ExprEllipsis}, {Kind: ExprEllipsis}}, Ret: -1,
			Errno: "EINPROGRESS", ErrText: "Operation now in progress"},
		{Name: "getsockopt", Args: []Expr{{Kind: ExprInt, Int: 4}, {Kind: ExprName, Name: "SOL_SOCKET"}, {Kind: ExprName, Name: "SO_SNDBUF"},
			{Kind: ExprArray, Elems: []Expr{{Kind: ExprInt, Int: 42000}}}, {Kind: ExprArray, Elems: []Expr{{Kind: ExprInt, Int: 4}}}}},
		{Name: "read", Args: []Expr{{Kind: ExprInt, Int: 4}, {Kind: ExprEllipsis}, {Kind: ExprInt, Int: 4}}, Ret: -1,
			Errno: "ECONNRESET", ErrText: "Connection Reset by Peer"},
		{Name: "write", Args: []Expr{{Kind: ExprInt, Int: 4}, {Kind: ExprEllipsis}, {Kind: ExprInt, Int: 1000}}, Ret: -1, Errno: "EPIPE"},
		{Name: "accept", Args: []Expr{{Kind: ExprInt, Int: 3}, {Kind: ExprEllipsis}, {Kind: ExprEllipsis}}, Ret: 4},
	}
	for i, w := range want {
		if got := s.Events[i].Syscall; got == nil || !reflect.DeepEqual(*got, w) {
			t.Errorf("event %d: %+v, want %+v", i, got, w)
		}
	}
	if s.Events[6].Line != 8 {
		t.Errorf("accept on line %d, want 8", s.Events[6].Line)
	}
}

func TestParse_FlagsCommandsCode(t *testing.T) {
	s := mustParse(t, "// header\n--tolerance_usecs=10000\n--mss=1000\n\n`../common/defaults.sh\n ../common/set_sysctls.py /proc/sys/net/ipv4/tcp_min_tso_segs=10\n`\n"+
		"0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+.1 %{ assert tcpi_advmss == 1100, tcpi_advmss }%\n+0 `sleep 1`\n`/tmp/sysctl_restore_${PPID}.sh`\n")
	if want := []Flag{{2, "tolerance_usecs", "10000"}, {3, "mss", "1000"}}; !reflect.DeepEqual(s.Flags, want) {
		t.Errorf("flags %+v, want %+v", s.Flags, want)
	}
	if len(s.Init) != 1 || s.Init[0].Line != 5 || !strings.Contains(s.Init[0].Text, "tcp_min_tso_segs=10") {
		t.Errorf("init %+v", s.Init)
	}
	if len(s.Cleanup) != 1 || s.Cleanup[0].Text != "/tmp/sysctl_restore_${PPID}.sh" {
		t.Errorf("cleanup %+v", s.Cleanup)
	}
	if len(s.Events) != 3 || s.Events[1].Code == nil || !strings.Contains(s.Events[1].Code.Text, "tcpi_advmss == 1100") ||
		s.Events[2].Command == nil || s.Events[2].Command.Text != "sleep 1" {
		t.Errorf("events %+v", s.Events)
	}
}

func TestParse_Errors(t *testing.T) {
	for _, tc := range []struct{ src, msg string }{
		{"0 < S 0:10(0) win 1", "inconsistent segment"},
		{"0 < SS 0:0(0)", "given twice"},
		{"0 < X 0:0(0)", "expected TCP flags"},
		{"0 < S 0:0(0) <mss 1460,foo>", `unsupported TCP option "foo"`},
		{"0 < S 0:0(0) <TS 1 ecr 2>", `expected "val"`},
		{"0 close(3) = 0 EBADF", "errno goes with a return value of -1"},
		{"0 close(3 = 0", `expected ")"`},
		{"0 `never closed", "unterminated shell"},
		{"0 %{ assert 1", "unterminated %{"},
		{"+0...0.1 < S 0:0(0)", "only a system call can block"},
		{"0 close(3) = 0\n--mss=1000", "flag after the first event"},
		{"0 close(3) = 0\n`restore`\n+0 close(4) = 0", "after the cleanup"},
		{"+0~0.3 close(3) = 0", "mixes absolute and relative"},
		{"0.0000001 close(3) = 0", "finer than a microsecond"},
		{"0 < . 1:1(0) win 70000", "out of range"},
		{"0 < . 1:1(0) <sack 1:2 3:4 5:6 7:8 9:10>", "1 to 4 blocks"},
		{"0 f([[[[[[[[[[1]]]]]]]]]]) = 0", "nested too deeply"},
		{"/* open", "unterminated /*"},
		{"0 ?", "expected a packet"},
	} {
		_, err := Parse("bad", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.src, err, tc.msg)
		}
		if pe, ok := err.(*ParseError); err != nil && (!ok || pe.Line < 1) {
			t.Errorf("Parse(%q): error %T %v has no line", tc.src, err, err)
		}
	}
}
