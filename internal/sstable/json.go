package sstable

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// jsonRow is Row's wire form. The names are part of berth's interface
// (`berth ss -json`, the control socket): add fields, never rename them.
// Addresses are "host:port" strings ("[::1]:53" for IPv6), "" when none.
type jsonRow struct {
	Proto      string `json:"proto"`
	Family     string `json:"family"`
	State      string `json:"state"`
	RecvQ      int    `json:"recv_q"`
	SendQ      int    `json:"send_q"`
	Local      string `json:"local"`
	Remote     string `json:"remote"`
	Protocol   uint8  `json:"protocol,omitempty"`
	Owner      string `json:"owner,omitempty"`
	PID        int    `json:"pid,omitempty"`
	Inode      uint64 `json:"inode,omitempty"`
	ID         uint64 `json:"id,omitempty"`
	Service    string `json:"service,omitempty"`
	Suspicious string `json:"suspicious,omitempty"`
	RTTNs      int64  `json:"rtt_ns,omitempty"`
	RTONs      int64  `json:"rto_ns,omitempty"`
	Cwnd       uint32 `json:"cwnd,omitempty"`
	Ssthresh   uint32 `json:"ssthresh,omitempty"`
	Retrans    uint64 `json:"retrans,omitempty"`
	RxPackets  uint64 `json:"rx_packets,omitempty"`
	TxPackets  uint64 `json:"tx_packets,omitempty"`
	RxBytes    uint64 `json:"rx_bytes,omitempty"`
	TxBytes    uint64 `json:"tx_bytes,omitempty"`
	Drops      uint64 `json:"drops,omitempty"`
}

func addrPortJSON(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func parseAddrPortJSON(field, s string) (netip.AddrPort, error) {
	if s == "" {
		return netip.AddrPort{}, nil
	}
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("sstable: %s: %w", field, err)
	}
	return a, nil
}

// MarshalJSON encodes r with the stable snake_case field names.
func (r Row) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonRow{
		Proto: r.Proto, Family: r.Family, State: r.State,
		RecvQ: r.RecvQ, SendQ: r.SendQ,
		Local: addrPortJSON(r.Local), Remote: addrPortJSON(r.Remote),
		Protocol: r.Protocol,
		Owner:    r.Owner, PID: r.PID, Inode: r.Inode, ID: r.ID,
		Service: r.Service, Suspicious: r.Suspicious,
		RTTNs: int64(r.RTT), RTONs: int64(r.RTO),
		Cwnd: r.Cwnd, Ssthresh: r.Ssthresh, Retrans: r.Retrans,
		RxPackets: r.RxPackets, TxPackets: r.TxPackets,
		RxBytes: r.RxBytes, TxBytes: r.TxBytes, Drops: r.Drops,
	})
}

// UnmarshalJSON decodes what MarshalJSON encodes. Unknown fields are
// ignored so an older berth reads a newer one's table.
func (r *Row) UnmarshalJSON(b []byte) error {
	var j jsonRow
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	local, err := parseAddrPortJSON("local", j.Local)
	if err != nil {
		return err
	}
	remote, err := parseAddrPortJSON("remote", j.Remote)
	if err != nil {
		return err
	}
	*r = Row{
		Proto: j.Proto, Family: j.Family, State: j.State,
		RecvQ: j.RecvQ, SendQ: j.SendQ,
		Local: local, Remote: remote,
		Protocol: j.Protocol,
		Owner:    j.Owner, PID: j.PID, Inode: j.Inode, ID: j.ID,
		Service: j.Service, Suspicious: j.Suspicious,
		RTT: time.Duration(j.RTTNs), RTO: time.Duration(j.RTONs),
		Cwnd: j.Cwnd, Ssthresh: j.Ssthresh, Retrans: j.Retrans,
		RxPackets: j.RxPackets, TxPackets: j.TxPackets,
		RxBytes: j.RxBytes, TxBytes: j.TxBytes, Drops: j.Drops,
	}
	return nil
}

// WriteJSON writes rows as one JSON array, one row per line so the output
// reads with grep as well as jq. No rows is "[]".
func WriteJSON(w io.Writer, rows []Row) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for i, r := range rows {
		b, err := r.MarshalJSON()
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
		bw.Write(b)
	}
	if len(rows) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// ReadJSON reads the array WriteJSON writes.
func ReadJSON(r io.Reader) ([]Row, error) {
	var rows []Row
	if err := json.NewDecoder(r).Decode(&rows); err != nil {
		return nil, fmt.Errorf("sstable: %w", err)
	}
	return rows, nil
}
