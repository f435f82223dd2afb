package stack

import (
	"fmt"
	"io"
	"reflect"

	"berth/ip"
	"berth/tcp"
	"berth/udp"
)

// Stats is a snapshot of a host's counters, grouped as `netstat -s` groups them.
type Stats struct {
	Ip    ip.Stats
	Icmp  ip.ICMPStats
	Ip6   ip.Stats6
	Icmp6 ip.ICMP6Stats
	Tcp   tcp.Stats
	Udp   udp.Stats
	Raw   RawStats
}

// RawStats counts raw-socket traffic.
type RawStats struct {
	InDelivers   uint64 // copies queued to raw sockets
	RcvbufErrors uint64 // copies dropped on a full receive queue
	OutRequests  uint64
}

// Stats returns a snapshot of the counters.
func (s *Stack) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Ip: s.ip.Stats, Icmp: s.ip.ICMP, Ip6: s.ip.Stats6, Icmp6: s.ip.ICMP6, Tcp: s.tcp.stats, Udp: s.udp.stats, Raw: s.raw.stats}
}

// WriteTo prints the counters like `netstat -s`: one group a paragraph,
// "Name: value" lines, zero counters included so a reader sees them all.
func (st Stats) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, g := range []struct {
		name string
		v    any
	}{{"Ip", st.Ip}, {"Icmp", st.Icmp}, {"Ip6", st.Ip6}, {"Icmp6", st.Icmp6}, {"Tcp", st.Tcp}, {"Udp", st.Udp}, {"Raw", st.Raw}} {
		c, err := fmt.Fprintf(w, "%s:\n", g.name)
		n += int64(c)
		if err != nil {
			return n, err
		}
		v := reflect.ValueOf(g.v)
		for i := range v.NumField() {
			c, err = fmt.Fprintf(w, "    %s: %d\n", v.Type().Field(i).Name, v.Field(i).Uint())
			n += int64(c)
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
