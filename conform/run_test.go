package conform

import (
	"os"
	"strings"
	"testing"
)

// serverPrologue opens a listener and completes a handshake without
// timestamps; the connection is fd 4 at time 0.1.
const serverPrologue = `
0   socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0  setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0  bind(3, ..., ...) = 0
+0  listen(3, 1) = 0
+0  < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0  > S. 0:0(0) ack 1 <...>
+.1 < . 1:1(0) ack 1 win 257
+0  accept(3, ..., ...) = 4
`

func run(t *testing.T, src string) *Result {
	t.Helper()
	s, err := Parse(t.Name(), []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return Run(s, Options{})
}

func mustPass(t *testing.T, src string) *Result {
	t.Helper()
	res := run(t, src)
	if res.Status != Pass {
		t.Fatalf("script failed:\n%s", res)
	}
	return res
}

// mustFail checks that the script fails at line with a message containing
// each of want (which may also match the expected and actual lines).
func mustFail(t *testing.T, src string, line int, want ...string) *Result {
	t.Helper()
	res := run(t, src)
	if res.Status != Fail {
		t.Fatalf("script passed, want a failure at line %d:\n%s", line, res)
	}
	if res.Line != line {
		t.Errorf("failed at line %d, want %d:\n%s", res.Line, line, res)
	}
	text := res.String()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("report lacks %q:\n%s", w, text)
		}
	}
	return res
}

func hasNote(res *Result, kind NoteKind, text string) bool {
	for _, n := range res.Notes {
		if n.Kind == kind && strings.Contains(n.Text, text) {
			return true
		}
	}
	return false
}

func TestRun_ServerExchangePasses(t *testing.T) {
	res := mustPass(t, serverPrologue+`
+0  < P. 1:1001(1000) ack 1 win 257
+0  > . 1:1(0) ack 1001
+0  read(4, ..., 2000) = 1000
+0  write(4, ..., 10) = 10
+0  > P. 1:11(10) ack 1001
+0  close(4) = 0
+0  > F. 11:11(0) ack 1001
+0  < F. 1001:1001(0) ack 12 win 257
+0  > . 12:12(0) ack 1002
`)
	if res.Elapsed.Seconds() != 0.1 {
		t.Errorf("elapsed %v, want 100ms of virtual time", res.Elapsed)
	}
}

func TestRun_WrongAckFails(t *testing.T) {
	mustFail(t, serverPrologue+`
+0  < P. 1:1001(1000) ack 1 win 257
+0  > . 1:1(0) ack 1000
`, 12, "ack: expected 1000, berth sent 1001", "expected: 0.100000 > . 1:1(0) ack 1000", "actual:   0.100000 > . 1:1(0) ack 1001 win")
}

func TestRun_WrongFlagsFail(t *testing.T) {
	mustFail(t, serverPrologue+`
+0  write(4, ..., 10) = 10
+0  > F. 1:11(10) ack 1
`, 12, "flags: expected F., berth sent P.")
}

func TestRun_WrongOptionsFail(t *testing.T) {
	mustFail(t, `
0  socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>
`, 5, "wscale: expected 7, berth sent 8")
	mustFail(t, `
0  socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 8>
`, 5, "TCP options: expected 12 bytes", "berth sent 20 bytes")
}

func TestRun_TimestampEcrChecked(t *testing.T) {
	client := `
0  socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>
+.1 < S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 700 ecr 100,nop,wscale 7>
`
	mustPass(t, client+"+0 > . 1:1(0) ack 1 <nop,nop,TS val 200 ecr 700>\n")
	mustFail(t, client+"+0 > . 1:1(0) ack 1 <nop,nop,TS val 200 ecr 701>\n", 7, "TS ecr: expected 701, berth sent 700")
	// An inbound TS ecr must name a TS val berth sent.
	mustFail(t, client+"+0 > . 1:1(0) ack 1 <...>\n+0 < . 1:1(0) ack 1 win 257 <nop,nop,TS val 800 ecr 555>\n", 8,
		"unable to infer the live TS ecr for script TS ecr 555")
}

func TestRun_MissingPacketFails(t *testing.T) {
	mustFail(t, serverPrologue+`
+0  > P. 1:11(10) ack 1
`, 11, "berth sent nothing by 0.104000", "actual:   (no packet)")
}

func TestRun_LatePacketReported(t *testing.T) {
	// The script wants the retransmission 0.1 s after the first send;
	// berth's RTO is longer, and the report says when it came.
	mustFail(t, serverPrologue+`+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
+.1 > P. 1:11(10) ack 1
`, 12, "berth sent nothing by 0.212500", "its next packet came at", "actual:   0.", "> P. 1:11(10) ack 1 win")
}

func TestRun_TimingChecked(t *testing.T) {
	// Right after the handshake berth acknowledges every segment at once
	// (quick ACKs, as Linux); the script claims the second ACK comes
	// 0.2 s late.
	res := run(t, serverPrologue+`
+0  < P. 1:1001(1000) ack 1 win 257
+0  > . 1:1(0) ack 1001
+0  < P. 1001:2001(1000) ack 1 win 257
+.2 > . 1:1(0) ack 2001
`)
	if res.Status != Fail || res.Line != 14 || !strings.Contains(res.Msg, "timing: expected at 0.300000, berth sent it at 0.100000") {
		t.Fatalf("want a timing failure at line 14:\n%s", res)
	}
	mustFail(t, serverPrologue+"+0 write(4, ..., 10) = 10\n+.1 > P. 1:11(10) ack 1\n", 11,
		"timing: expected at 0.200000, berth sent it at 0.100000 (tolerance 0.012500)")
	mustPass(t, serverPrologue+"+0 write(4, ..., 10) = 10\n+0~+.1 > P. 1:11(10) ack 1\n")
	mustPass(t, serverPrologue+"+0 write(4, ..., 10) = 10\n* > P. 1:11(10) ack 1\n")
}

func TestRun_ToleranceFlag(t *testing.T) {
	mustPass(t, "--tolerance_usecs=150000\n"+serverPrologue+"+0 write(4, ..., 10) = 10\n+.1 > P. 1:11(10) ack 1\n")
}

func TestRun_SyscallResultsChecked(t *testing.T) {
	mustFail(t, serverPrologue+`
+0  < P. 1:6(5) ack 1 win 257
+0  read(4, ..., 100) = 4
`, 12, "read returned 5, the script expects 4")
	mustFail(t, serverPrologue+`
+0  fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0  read(4, ..., 100) = -1 ECONNRESET (Connection reset by peer)
`, 12, "read returned -1 EAGAIN, the script expects -1 ECONNRESET")
	mustFail(t, serverPrologue+"+0 frobnicate(4) = 0\n", 10, "unsupported system call frobnicate")
	mustFail(t, serverPrologue+"+0 read(9, ..., 1) = 0\n", 10, "fd 9 is not open")
	mustFail(t, serverPrologue+"+0 ioctl(4, SIOCINQ, [7]) = 0\n", 10, "0 bytes queued to read, the script expects 7")
}

func TestRun_BlockingCalls(t *testing.T) {
	// The read blocks until the data arrives 0.1 s later, as the script
	// says.
	mustPass(t, serverPrologue+`
+0...0.1 read(4, ..., 100) = 5
+.1 < P. 1:6(5) ack 1 win 257
`)
	// It returns at 0.2 while the script says 0.3.
	mustFail(t, serverPrologue+`
+0...0.2 read(4, ..., 100) = 5
+.1 < P. 1:6(5) ack 1 win 257
`, 11, "timing: the call returned at 0.200000, the script expects 0.300000")
	// A call not marked as blocking must not block.
	mustFail(t, serverPrologue+"+0 read(4, ..., 100) = 5\n", 10, "the call blocked")
	// A call still blocked at the end of the script never returned.
	mustFail(t, serverPrologue+"+0...0.1 read(4, ..., 100) = 5\n", 10, "never returned")
}

func TestRun_TSOMerge(t *testing.T) {
	res := mustPass(t, serverPrologue+`
+0 write(4, ..., 3000) = 3000
+0 > P. 1:3001(3000) ack 1
`)
	if !hasNote(res, Emulated, "TSO: merged berth's segments 1:3001 into one of 3000 bytes") {
		t.Errorf("no TSO note:\n%s", res)
	}
}

func TestRun_ShellAndPythonBlocks(t *testing.T) {
	res := mustPass(t, "`../common/defaults.sh\nsysctl -q net.ipv4.tcp_timestamps=0\necho hello`\n"+`
0  socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 8>
+.1 < S. 0:0(0) ack 1 win 65535 <mss 1000,nop,wscale 7>
+0 > . 1:1(0) ack 1
+0 %{ assert tcpi_snd_mss == 1000, tcpi_snd_mss; print(tcpi_rtt) }%
`)
	for _, n := range []struct {
		kind NoteKind
		text string
	}{
		{Emulated, "Linux profile"},
		{Emulated, "tcp.Config.Timestamps = false"},
		{Skipped, `shell command "echo hello" not run`},
		{Emulated, `"assert tcpi_snd_mss == 1000, tcpi_snd_mss" checked`},
		{Skipped, `python "print(tcpi_rtt)": only assertions`},
	} {
		if !hasNote(res, n.kind, n.text) {
			t.Errorf("no %v note %q:\n%s", n.kind, n.text, res)
		}
	}
	mustFail(t, serverPrologue+"+0 %{ assert tcpi_snd_mss == 1460 }%\n", 10, "python assertion \"assert tcpi_snd_mss == 1460\" failed: tcpi_snd_mss is 1000")
}

func TestRun_ResetWithoutAck(t *testing.T) {
	// Linux answers an ACK for no connection with a bare RST whose ACK
	// field is zero (RFC 9293 §3.10.7.1); the script's "ack 0" checks the
	// field.
	mustPass(t, `
0  socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < . 1:1(0) ack 1 win 257
+0 > R 1:1(0) ack 0 win 0
`)
	mustFail(t, `
0  socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < . 1:1(0) ack 1 win 257
+0 > R 1:1(0) ack 5 win 0
`, 6, "ack: expected 5, berth sent 0")
}

func TestRun_SyntaxErrorReportsLine(t *testing.T) {
	res := Run(&Script{Name: "empty"}, Options{})
	if res.Status != Pass {
		t.Fatalf("an empty script should pass: %s", res)
	}
	path := t.TempDir() + "/bad.pkt"
	if err := writeFile(path, "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < Q 0:0(0)\n"); err != nil {
		t.Fatal(err)
	}
	res = RunFile(path, Options{})
	if res.Status != Fail || res.Line != 2 || !strings.Contains(res.Msg, "syntax: expected TCP flags") {
		t.Fatalf("want a syntax failure at line 2, got:\n%s", res)
	}
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }
