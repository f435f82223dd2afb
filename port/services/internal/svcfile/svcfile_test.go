package svcfile

import (
	"bufio"
	"errors"
	"slices"
	"strings"
	"testing"

	"berth/port"
)

func TestParse(t *testing.T) {
	in := "echo 7/tcp/udp ping # Echo\nbad\nlong " + strings.Repeat("x", 70000) + "\nnever 1/tcp\n"
	var got []Entry
	err := Parse(strings.NewReader(in), func(e Entry) { got = append(got, e) })
	if len(got) != 1 {
		t.Fatalf("entries %+v", got)
	}
	e := got[0]
	if e.Line != 1 || e.Name != "echo" || e.Port != 7 || !slices.Equal(e.Protos, []port.Protocol{port.TCP, port.UDP}) ||
		!slices.Equal(e.Aliases, []string{"ping"}) || e.Comment != "Echo" {
		t.Fatalf("entry %+v", e)
	}
	var se *SyntaxError
	if !errors.As(err, &se) || se.Error() != `services line 2: missing port/protocol: "bad"` {
		t.Errorf("error %v", err)
	}
	if !errors.Is(err, bufio.ErrTooLong) {
		t.Errorf("over-long line not reported: %v", err)
	}
	// At most ten syntax errors are reported.
	err = Parse(strings.NewReader(strings.Repeat("bad\n", 50)), func(Entry) { t.Fatal("accepted bad") })
	if n := strings.Count(err.Error(), "services line"); n != maxErrors {
		t.Errorf("%d errors reported", n)
	}
}

func TestCheckName(t *testing.T) {
	for s, ok := range map[string]bool{
		"http": true, "sql*net": true, "cl/1": true, "3com-tsmux": true, "CAIlic": true,
		"": false, "80": false, "a b": false, "a#b": false, "caf\u00e9": false, strings.Repeat("a", MaxName+1): false,
	} {
		if got := CheckName(s) == ""; got != ok {
			t.Errorf("CheckName(%q) = %q", s, CheckName(s))
		}
	}
}
