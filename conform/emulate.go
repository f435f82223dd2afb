package conform

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"berth/stack"
	"berth/tcp"
)

// hostEmulation says how socket options the stack has no per-socket setter
// for were emulated host-wide (empty: not needed or not possible). A
// script drives one connection, so a host-wide value set before the host
// starts is the socket's value; prescan sets them.
type hostEmulation struct {
	maxSeg, sndBuf, rcvBuf, linger2 string
}

// hasMethod reports whether the stack's connections have a setter.
func hasMethod[T any]() bool {
	_, ok := any((*stack.TCPConn)(nil)).(T)
	return ok
}

// prescan looks ahead for socket options that need host-wide emulation and
// applies them to the configuration before the host starts (a Config must
// not change once in use).
func (r *runner) prescan() {
	seen := map[string]int64{}
	for i := range r.s.Events {
		ev := &r.s.Events[i]
		c := ev.Syscall
		if c == nil || c.Name != "setsockopt" || len(c.Args) < 4 {
			continue
		}
		name := r.argName(c, 2)
		a := c.Args[3]
		if a.Kind == ExprArray && len(a.Elems) == 1 {
			a = a.Elems[0]
		}
		v, ok := symbolValue(a)
		if !ok {
			continue
		}
		switch name {
		case "TCP_MAXSEG", "SO_SNDBUF", "SO_RCVBUF", "TCP_LINGER2":
		default:
			continue
		}
		if old, dup := seen[name]; dup {
			if old != v {
				r.note(ev.Line, Skipped, "%s set again to another value: host-wide emulation keeps %d", name, old)
			}
			continue
		}
		seen[name] = v
		switch name {
		case "TCP_MAXSEG":
			// No per-socket MSS clamp in the stack: berth advertises and
			// uses its route MTU less 40 bytes (RFC 6691), so the link's
			// MTU stands in for the clamp.
			if v >= 88 && v <= 32767 {
				r.link.SetMTU(int(v) + 40)
				r.host.maxSeg = fmt.Sprintf("emulated host-wide: the stack has no per-socket MSS clamp, so the link MTU is %d and berth's MSS %d", v+40, v)
			}
		case "SO_SNDBUF":
			if !hasMethod[sendBufferSetter]() && v > 0 {
				r.cfg.SndBuf = 2 * int(v)
				r.host.sndBuf = fmt.Sprintf("emulated host-wide: the stack has no per-socket setter, so tcp.Config.SndBuf = %d (Linux doubles the value)", 2*v)
			}
		case "SO_RCVBUF":
			if !hasMethod[receiveBufferSetter]() && v > 0 {
				r.cfg.RcvBuf = 2 * int(v)
				r.host.rcvBuf = fmt.Sprintf("emulated host-wide: the stack has no per-socket setter, so tcp.Config.RcvBuf = %d (Linux doubles the value)", 2*v)
			}
		case "TCP_LINGER2":
			if !hasMethod[finWait2Setter]() && v > 0 {
				r.cfg.FinWait2Timeout = time.Duration(v) * time.Second
				r.host.linger2 = fmt.Sprintf("emulated host-wide: the stack has no per-socket setter, so tcp.Config.FinWait2Timeout = %ds", v)
			}
		}
	}
}

// harnesses are the command-line flags each suite's maintainers run their
// scripts with, by the prefix the conformance folder gives their scripts.
// A run starts from these, as the script's own flags would on that
// harness's command line.
var harnesses = []struct {
	prefix, source string
	flags          []Flag
}{
	// gVisor runs its scripts in two containers, packetdrill's wire
	// client and server over a docker network, with a 100 ms tolerance
	// (test/packetdrill/packetdrill_test.sh: tolerance_usecs=100000).
	{"gvisor__", "gVisor's runner (test/packetdrill/packetdrill_test.sh)", []Flag{{Name: "tolerance_usecs", Value: "100000"}}},
}

// applyFlags takes the flags of the script's harness, then the script's own.
func (r *runner) applyFlags() {
	flags := r.s.Flags
	for _, h := range harnesses {
		if strings.HasPrefix(r.s.Name, h.prefix) {
			for _, f := range h.flags {
				r.note(0, Emulated, "--%s=%s, as %s passes it", f.Name, f.Value, h.source)
			}
			flags = append(append([]Flag(nil), h.flags...), flags...)
		}
	}
	for _, f := range flags {
		switch f.Name {
		case "tolerance_usecs":
			v, err := strconv.ParseInt(f.Value, 10, 64)
			if err != nil || v <= 0 {
				r.note(f.Line, Skipped, "--tolerance_usecs=%s is not a positive number", f.Value)
				continue
			}
			r.tol = time.Duration(v) * time.Microsecond
		case "tolerance_percent":
			v, err := strconv.ParseFloat(f.Value, 64)
			if err != nil || v < 0 || v > 100 {
				r.note(f.Line, Skipped, "--tolerance_percent=%s is not a percentage", f.Value)
				continue
			}
			r.tolPct = v
		case "mss":
			r.note(f.Line, Skipped, "--mss=%s: packetdrill injects larger packets as GSO of this size; the script's packets all fit berth's MSS, so it has no effect here", f.Value)
		case "ip_version":
			if f.Value != "ipv4" {
				r.note(f.Line, Skipped, "--ip_version=%s: berth runs these scripts over IPv4", f.Value)
			}
		default:
			r.note(f.Line, Skipped, "--%s=%s: flag not interpreted", f.Name, f.Value)
		}
	}
}

// command emulates a shell block, line by line.
func (r *runner) command(line int, text string) {
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		fields := strings.Fields(l)
		switch {
		case strings.HasSuffix(fields[0], "defaults.sh"):
			r.note(line, Emulated, "%s: the Linux profile (conform.LinuxProfile) stands for packetdrill's default sysctls", l)
		case strings.HasSuffix(fields[0], "set_sysctls.py"):
			for _, a := range fields[1:] {
				name, val, ok := strings.Cut(a, "=")
				if !ok {
					r.note(line, Skipped, "%s: not a sysctl setting", a)
					continue
				}
				r.sysctl(line, strings.ReplaceAll(strings.TrimPrefix(name, "/proc/sys/"), "/", "."), val)
			}
		case fields[0] == "sysctl":
			for _, a := range fields[1:] {
				if strings.HasPrefix(a, "-") {
					continue
				}
				name, val, ok := strings.Cut(a, "=")
				if !ok {
					r.note(line, Skipped, "sysctl %s: reading a sysctl is not emulated", a)
					continue
				}
				r.sysctl(line, name, strings.Trim(val, `"`))
			}
		case fields[0] == "ethtool" && strings.Contains(l, "tso off"):
			r.note(line, Emulated, "%s: berth has no segmentation offload to turn off", l)
		case strings.Contains(l, "sysctl_restore"):
			r.note(line, Emulated, "%s: every script runs on a fresh host, there is nothing to restore", l)
		default:
			r.note(line, Skipped, "shell command %q not run", l)
		}
	}
}

// sysctl applies a net.ipv4.* setting that maps onto tcp.Config.
func (r *runner) sysctl(line int, name, val string) {
	if r.st != nil {
		r.note(line, Skipped, "sysctl %s=%s after the host started: a tcp.Config cannot change once in use", name, val)
		return
	}
	c := r.cfg
	num, err := strconv.ParseInt(val, 10, 64)
	isNum := err == nil
	set := func(desc string) { r.note(line, Emulated, "sysctl %s=%s: %s", name, val, desc) }
	switch strings.TrimPrefix(name, "net.ipv4.") {
	case "tcp_timestamps":
		if !isNum {
			break
		}
		c.Timestamps = num != 0
		set(fmt.Sprintf("tcp.Config.Timestamps = %v", c.Timestamps))
		return
	case "tcp_sack":
		if !isNum {
			break
		}
		c.SACKPermitted = num != 0
		set(fmt.Sprintf("tcp.Config.SACKPermitted = %v", c.SACKPermitted))
		return
	case "tcp_window_scaling":
		if !isNum {
			break
		}
		if num == 0 {
			c.WindowScale = -1
		}
		set(fmt.Sprintf("tcp.Config.WindowScale = %d", c.WindowScale))
		return
	case "tcp_syncookies":
		if !isNum {
			break
		}
		c.SynCookies = num != 0
		set(fmt.Sprintf("tcp.Config.SynCookies = %v", c.SynCookies))
		return
	case "tcp_syn_retries":
		if isNum {
			c.SynRetries = int(num)
			set(fmt.Sprintf("tcp.Config.SynRetries = %d", num))
			return
		}
	case "tcp_synack_retries":
		if isNum {
			c.SynAckRetries = int(num)
			set(fmt.Sprintf("tcp.Config.SynAckRetries = %d", num))
			return
		}
	case "tcp_retries2":
		if isNum {
			c.Retries = int(num)
			set(fmt.Sprintf("tcp.Config.Retries = %d", num))
			return
		}
	case "tcp_fin_timeout":
		if isNum && num > 0 {
			c.FinWait2Timeout = time.Duration(num) * time.Second
			set(fmt.Sprintf("tcp.Config.FinWait2Timeout = %ds", num))
			return
		}
	case "tcp_keepalive_time":
		if isNum && num > 0 {
			c.KeepIdle = time.Duration(num) * time.Second
			set(fmt.Sprintf("tcp.Config.KeepIdle = %ds", num))
			return
		}
	case "tcp_keepalive_intvl":
		if isNum && num > 0 {
			c.KeepIntvl = time.Duration(num) * time.Second
			set(fmt.Sprintf("tcp.Config.KeepIntvl = %ds", num))
			return
		}
	case "tcp_keepalive_probes":
		if isNum && num > 0 {
			c.KeepCount = int(num)
			set(fmt.Sprintf("tcp.Config.KeepCount = %d", num))
			return
		}
	case "tcp_min_tso_segs", "tcp_tso_win_divisor":
		r.note(line, Skipped, "sysctl %s=%s: berth does not use TSO (segments are merged when a script expects one)", name, val)
		return
	}
	r.note(line, Skipped, "sysctl %s=%s has no tcp.Config equivalent", name, val)
}

// code emulates a Python block: assertions on tcp_info fields of the
// connection under test ("assert tcpi_snd_mss == 1100, tcpi_snd_mss").
// Statements it does not understand are reported as skipped.
func (r *runner) code(ev *Event, text string) {
	for _, stmt := range strings.FieldsFunc(text, func(c rune) bool { return c == ';' || c == '\n' }) {
		stmt = strings.TrimSpace(stmt)
		if stmt == "" {
			continue
		}
		ok, msg := r.assert(ev, stmt)
		switch {
		case msg != "":
			r.note(ev.Line, Skipped, "python %q: %s", stmt, msg)
		case !ok:
			return // assert failed the run
		default:
			r.note(ev.Line, Emulated, "python %q checked against tcp.Info", stmt)
		}
		if r.err != nil {
			return
		}
	}
}

// tcpInfo maps tcp_info fields onto tcp.Info.
var tcpInfo = map[string]func(in tcp.Info) int64{
	"tcpi_advmss":  func(in tcp.Info) int64 { return int64(in.AdvMSS) },
	"tcpi_snd_mss": func(in tcp.Info) int64 { return int64(in.SndMSS) },
	"tcpi_rcv_mss": func(in tcp.Info) int64 { return int64(in.RcvMSS) },
	"tcpi_rto":     func(in tcp.Info) int64 { return in.RTO.Microseconds() },
	"tcpi_rtt":     func(in tcp.Info) int64 { return in.RTT.Microseconds() },
	"tcpi_rttvar":  func(in tcp.Info) int64 { return in.RTTVar.Microseconds() },
	"tcpi_backoff": func(in tcp.Info) int64 { return int64(in.Backoff) },
	"tcpi_snd_wscale": func(in tcp.Info) int64 {
		return int64(max(in.SndWScale, 0))
	},
	"tcpi_rcv_wscale": func(in tcp.Info) int64 { return int64(max(in.RcvWScale, 0)) },
	"tcpi_snd_cwnd": func(in tcp.Info) int64 {
		if in.SndMSS == 0 {
			return 0
		}
		return int64(in.Cwnd) / int64(in.SndMSS)
	},
	"tcpi_snd_ssthresh": func(in tcp.Info) int64 {
		if in.SndMSS == 0 {
			return 0
		}
		return int64(in.Ssthresh) / int64(in.SndMSS)
	},
}

// assert checks "assert FIELD OP NUMBER[, message]". It returns ok false
// after failing the run, and a non-empty msg when it cannot check stmt.
func (r *runner) assert(ev *Event, stmt string) (ok bool, msg string) {
	rest, found := strings.CutPrefix(stmt, "assert ")
	if !found {
		return true, "only assertions on tcp_info are emulated"
	}
	if i := strings.IndexByte(rest, ','); i >= 0 {
		rest = rest[:i]
	}
	f := strings.Fields(rest)
	if len(f) != 3 {
		return true, "only FIELD OP NUMBER is emulated"
	}
	get, known := tcpInfo[f[0]]
	if !known {
		return true, fmt.Sprintf("%s has no tcp.Info equivalent", f[0])
	}
	want, err := strconv.ParseInt(f[2], 0, 64)
	if err != nil {
		return true, "only comparisons with a number are emulated"
	}
	if r.under == nil || r.under.conn == nil {
		return true, "no connection to take tcp_info from"
	}
	got := get(r.under.conn.Info())
	var holds bool
	switch f[1] {
	case "==":
		holds = got == want
	case "!=":
		holds = got != want
	case "<":
		holds = got < want
	case "<=":
		holds = got <= want
	case ">":
		holds = got > want
	case ">=":
		holds = got >= want
	default:
		return true, fmt.Sprintf("operator %s not emulated", f[1])
	}
	if !holds {
		r.fail(ev, "python assertion %q failed: %s is %d", stmt, f[0], got)
		return false, ""
	}
	return true, ""
}
