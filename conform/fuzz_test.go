package conform

import (
	"testing"
)

// FuzzParse checks that Parse never panics on hostile input and that what
// it accepts survives a round trip: String's output parses back to a script
// that prints the same.
func FuzzParse(f *testing.F) {
	f.Add([]byte("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n"))
	f.Add([]byte("--tolerance_usecs=10000\n`../common/defaults.sh`\n0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>\n* > S. 0:0(0) ack 1 <...>\n"))
	f.Add([]byte("+.1...0.200 connect(3, ..., ...) = 0\n+0 > S 0:0(0) <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 8>\n"))
	f.Add([]byte("+.3~+.400 > F. 1:1(0) ack 1\n+0 < . 1:2(1) ack 1 win 32792 <nop,nop,sack 1:2>\n+0 > R 1:1(0)\n"))
	f.Add([]byte("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)\n+.1 %{ assert tcpi_snd_mss == 1100 }%\n`restore`\n"))
	f.Add([]byte("0 setsockopt(3, SOL_SOCKET, SO_SNDBUF, [21000], 4) = 0 /* c */ +0 f(\"s\\n\", [1, [2]], A|B|3) = ...\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("fuzz", src)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			return
		}
		text := s.String()
		again, err := Parse("fuzz", []byte(text))
		if err != nil {
			t.Fatalf("String output does not parse: %v\n%s", err, text)
		}
		if got := again.String(); got != text {
			t.Fatalf("round trip changed the script:\n%s\nvs\n%s", text, got)
		}
	})
}
