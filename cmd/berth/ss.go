package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"berth"
	"berth/internal/hostsock"
	"berth/internal/sstable"
)

// rows turns a host's socket table into printable rows.
func rows(h *berth.Host) []sstable.Row { return rowsOf(h.Sockets()) }

// rowsOf turns socket table entries into printable rows, sorted.
func rowsOf(socks []berth.Socket) []sstable.Row {
	var out []sstable.Row
	for _, s := range socks {
		r := sstable.Row{
			Proto: s.Proto, Family: sstable.Inet, State: s.State,
			RecvQ: s.RecvQ, SendQ: s.SendQ, Local: s.Local, Remote: s.Remote,
			Owner: s.Owner, PID: s.PID, ID: s.ID, Service: s.Service, Suspicious: s.Suspicious,
			RTT: s.RTT, RTO: s.RTO, Retrans: s.Retransmits,
			RxPackets: s.RxPackets, TxPackets: s.TxPackets, RxBytes: s.RxBytes, TxBytes: s.TxBytes, Drops: s.Drops,
		}
		if s.Proto == sstable.Raw {
			r.Protocol = s.Protocol
		}
		if s.MSS > 0 {
			// Windows in segments, as Linux's tcp_info and ss show them;
			// an ssthresh not yet set by a loss is left out, as ss does.
			mss := uint32(s.MSS)
			r.Cwnd = (s.Cwnd + mss - 1) / mss
			if s.Ssthresh < 1<<30 {
				r.Ssthresh = (s.Ssthresh + mss - 1) / mss
			}
		}
		out = append(out, r)
	}
	sstable.Sort(out)
	return out
}

// controlDir holds the control sockets of this user's running berth hosts.
func controlDir() string { return filepath.Join(os.TempDir(), fmt.Sprintf("berth-%d", os.Getuid())) }

// serveControl answers "sockets" requests on a Unix socket readable by its
// owner alone, until ctx ends. It returns the socket's path.
func serveControl(ctx context.Context, h *berth.Host) (string, error) {
	dir := controlDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.sock", h.Name(), os.Getpid()))
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return "", err
	}
	go func() {
		<-ctx.Done()
		ln.Close()
		os.Remove(path)
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			switch strings.TrimSpace(line) {
			case "sockets":
				sstable.WriteJSON(c, rows(h))
			default:
				fmt.Fprintf(c, "error: unknown request %q\n", strings.TrimSpace(line))
			}
			c.Close()
		}
	}()
	return path, nil
}

// fetchRows asks a running berth host for its socket table.
func fetchRows(path string) ([]sstable.Row, error) {
	if path == "" {
		matches, _ := filepath.Glob(filepath.Join(controlDir(), "*.sock"))
		if len(matches) == 0 {
			return nil, errors.New("no running 'berth serve' found (start one, give -ctl PATH, or use -host for this machine's kernel sockets)")
		}
		sort.Slice(matches, func(i, j int) bool {
			a, _ := os.Stat(matches[i])
			b, _ := os.Stat(matches[j])
			return a != nil && b != nil && a.ModTime().After(b.ModTime())
		})
		path = matches[0]
	}
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "sockets\n"); err != nil {
		return nil, err
	}
	return sstable.ReadJSON(c)
}

func runSS(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("ss", "ss [-t] [-u] [-w] [-l] [-a] [-i] [-json] [-host | -ctl PATH]")
	var f sstable.Filter
	fs.BoolVar(&f.TCP, "t", false, "TCP sockets")
	fs.BoolVar(&f.UDP, "u", false, "UDP sockets")
	fs.BoolVar(&f.Raw, "w", false, "raw sockets")
	fs.BoolVar(&f.ListeningOnly, "l", false, "listening sockets only")
	fs.BoolVar(&f.All, "a", false, "all sockets (overrides -l)")
	details := fs.Bool("i", false, "TCP details and counters")
	asJSON := fs.Bool("json", false, "print JSON for programs instead of a table")
	host := fs.Bool("host", false, "this machine's kernel sockets, owners resolved to PID and process (sock_diag + /proc)")
	ctl := fs.String("ctl", "", "control socket of a running 'berth serve' (default: the newest)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rs []sstable.Row
	var err error
	if *host {
		rs, err = hostsock.Sockets()
	} else {
		rs, err = fetchRows(*ctl)
	}
	if err != nil {
		return err
	}
	rs = f.Apply(rs)
	if *asJSON {
		return sstable.WriteJSON(out, rs)
	}
	var opts []sstable.Option
	if *details {
		opts = append(opts, sstable.Details())
	}
	return sstable.WriteTable(out, rs, opts...)
}
