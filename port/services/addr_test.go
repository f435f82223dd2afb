package services

import (
	"net/netip"
	"strings"
	"testing"

	"berth/port"
)

func TestParseAddrPort(t *testing.T) {
	r := New()
	tests := []struct {
		in    string
		proto port.Protocol
		want  string // AddrPort, or the error text
		err   bool
	}{
		{"198.18.0.2:http", port.TCP, "198.18.0.2:80", false},
		{"198.18.0.2:HTTP", port.TCP, "198.18.0.2:80", false},
		{":domain", port.UDP, "0.0.0.0:53", false},
		{"[::1]:80", port.TCP, "[::1]:80", false},
		{"198.18.0.2:8080", port.TCP, "198.18.0.2:8080", false},
		{"[fe80::1%eth0]:echo", port.UDP, "[fe80::1%eth0]:7", false},
		{"[::ffff:198.18.0.1]:53", port.UDP, "[::ffff:198.18.0.1]:53", false},
		{"198.18.0.2:", port.TCP, "198.18.0.2:0", false},
		{":0", port.TCP, "0.0.0.0:0", false},
		{"198.18.0.2:065535", port.TCP, "198.18.0.2:65535", false},
		{"198.18.0.2:3com-tsmux", port.UDP, "198.18.0.2:106", false}, // a name that starts with digits

		{"198.18.0.2", port.TCP, "address 198.18.0.2: missing port in address", true},
		{"::1:80", port.TCP, "address ::1:80: too many colons in address", true},
		{"[::1]80", port.TCP, "address [::1]80: missing port in address", true},
		{"[::1", port.TCP, "address [::1: missing ']' in address", true},
		{"[::1]:80]", port.TCP, "address [::1]:80]: unexpected ']' in address", true},
		{"a[b:80", port.TCP, "address a[b:80: unexpected '[' in address", true},
		{"host:8080", port.TCP, "address host: not an IP address (berth resolves no host names)", true},
		{"198.18.0.2:nosuch", port.UDP, "address udp/nosuch: unknown port", true},
		{"198.18.0.2:telnet", port.SCTP, "address sctp/telnet: unknown port", true},
		{"198.18.0.2:70000", port.TCP, "address 70000: invalid port", true},
		{"198.18.0.2:99999999999999999999", port.TCP, "address 99999999999999999999: invalid port", true},
	}
	for _, tt := range tests {
		got, err := ParseAddrPort(tt.in, tt.proto, r)
		if tt.err {
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseAddrPort(%q) = %v, %v; want error %q", tt.in, got, err, tt.want)
			}
			if _, ok := err.(*AddrError); !ok {
				t.Errorf("ParseAddrPort(%q) error is %T", tt.in, err)
			}
			continue
		}
		if err != nil || got != netip.MustParseAddrPort(tt.want) {
			t.Errorf("ParseAddrPort(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	// A nil registry means Default.
	if got, err := ParseAddrPort(":https", port.TCP, nil); err != nil || got.Port() != 443 {
		t.Errorf("nil registry: %v %v", got, err)
	}
	// A registry loaded at run time serves addresses too.
	var local Registry
	_ = local.LoadServices(strings.NewReader("berth-demo 40000/udp\n"))
	if got, err := ParseAddrPort("198.18.0.1:berth-demo", port.UDP, &local); err != nil || got.Port() != 40000 {
		t.Errorf("loaded name: %v %v", got, err)
	}
}
