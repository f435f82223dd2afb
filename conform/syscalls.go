package conform

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"syscall"
	"time"

	"berth/stack"
	"berth/tcp"
)

// sock is a file descriptor of the script: a socket not yet listening or
// connected keeps its options here until listen or connect makes it real.
type sock struct {
	fd        int
	nonblock  bool
	reuseAddr bool
	noDelay   bool
	bound     bool
	local     netip.AddrPort
	userMSS   int           // TCP_MAXSEG as set; 0 if never
	sndBuf    int           // SO_SNDBUF as getsockopt reports it (doubled, as Linux does); 0 if never set
	rcvBuf    int           // SO_RCVBUF likewise
	userTO    time.Duration // TCP_USER_TIMEOUT to apply once connected
	linger2   time.Duration // TCP_LINGER2 to apply once connected; 0 if never

	ln   *stack.TCPListener
	conn *stack.TCPConn
}

// op performs a system call, or tries to: done is false while the call
// would block, and then it is tried again whenever the host's state may have
// changed. ret is what the call returns; err its errno (or another error).
type op func() (ret int64, err error, done bool)

// pendingCall is a blocked system call.
type pendingCall struct {
	ev       *Event
	call     *Syscall
	sock     *sock
	op       op
	endAt    time.Duration // when the script wants it to return
	deadline time.Duration // endAt plus the tolerance
	tol      time.Duration
	any      bool
}

// syscall starts the call of ev at the current time. A call the script
// does not mark as blocking ("+0...0.1") must return within the tolerance.
func (r *runner) syscall(ev *Event, endAt, tol time.Duration) {
	c := ev.Syscall
	if r.pending != nil {
		r.fail(ev, "system call while the blocking call of line %d has not returned", r.pending.ev.Line)
		return
	}
	o := r.prepare(ev, c)
	if o == nil || r.err != nil {
		return
	}
	p := &pendingCall{ev: ev, call: c, op: o, endAt: endAt, deadline: endAt + tol, tol: tol, any: ev.Time.Kind == TimeAny}
	if len(c.Args) > 0 && c.Name != "socket" {
		if fd, ok := symbolValue(c.Args[0]); ok {
			p.sock = r.socks[int(fd)]
		}
	}
	if p.any {
		p.deadline = r.now() + maxAnyWait
	}
	r.pending = p
	r.poll()
	if !ev.Time.Blocking && r.pending == p {
		r.stepUntil(p.deadline, func() bool { return r.pending != p })
		if r.pending == p && r.err == nil {
			r.fail(ev, "the call blocked; the script expects it to return at %s%s", fmtTime(endAt), connState(p.sock))
		}
	}
}

// poll tries the blocked call again, and checks it once it returns.
func (r *runner) poll() {
	p := r.pending
	if p == nil || r.err != nil {
		return
	}
	ret, err, done := p.op()
	if r.err != nil {
		return
	}
	if !done {
		if r.now() > p.deadline {
			r.fail(p.ev, "the call had not returned by %s (the script expects it at %s)%s", fmtTime(r.now()), fmtTime(p.endAt), connState(p.sock))
		}
		return
	}
	r.pending = nil
	now := r.now()
	if !p.any && (now < p.endAt-p.tol || now > p.deadline) {
		r.fail(p.ev, "timing: the call returned at %s, the script expects %s (tolerance %s)", fmtTime(now), fmtTime(p.endAt), fmtTime(p.tol))
		return
	}
	r.checkReturn(p.ev, p.call, ret, err)
}

// checkReturn compares a call's outcome with the script's "= ret [ERRNO]".
func (r *runner) checkReturn(ev *Event, c *Syscall, ret int64, err error) {
	if c.AnyRet {
		return
	}
	got := fmt.Sprint(ret)
	if err != nil {
		ret, got = -1, "-1 "+errName(err)
	}
	want := fmt.Sprint(c.Ret)
	if c.Errno != "" {
		want += " " + c.Errno
	}
	switch {
	case ret != c.Ret:
	case c.Errno == "" && err == nil:
		return
	case c.Errno != "" && err != nil && sameErrno(c.Errno, err):
		return
	}
	r.fail(ev, "%s returned %s, the script expects %s", c.Name, got, want)
}

var errnoNames = map[syscall.Errno]string{
	syscall.EAGAIN: "EAGAIN", syscall.EINPROGRESS: "EINPROGRESS", syscall.EALREADY: "EALREADY",
	syscall.ECONNRESET: "ECONNRESET", syscall.ECONNREFUSED: "ECONNREFUSED", syscall.ECONNABORTED: "ECONNABORTED",
	syscall.EPIPE: "EPIPE", syscall.ENOTCONN: "ENOTCONN", syscall.EISCONN: "EISCONN", syscall.ETIMEDOUT: "ETIMEDOUT",
	syscall.EBADF: "EBADF", syscall.EINVAL: "EINVAL", syscall.EADDRINUSE: "EADDRINUSE",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL", syscall.EHOSTUNREACH: "EHOSTUNREACH", syscall.ENETUNREACH: "ENETUNREACH",
	syscall.EMSGSIZE: "EMSGSIZE", syscall.EOPNOTSUPP: "EOPNOTSUPP", syscall.ENOPROTOOPT: "ENOPROTOOPT",
	syscall.EPERM: "EPERM", syscall.EACCES: "EACCES", syscall.ENOBUFS: "ENOBUFS",
}

// errName names err as the script would: "ECONNRESET".
func errName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if n, ok := errnoNames[e]; ok {
			return n
		}
		return fmt.Sprintf("errno %d (%v)", int(e), e)
	}
	return fmt.Sprintf("(error %q)", err)
}

// sameErrno reports whether err is the errno the script names;
// EWOULDBLOCK is EAGAIN on Linux.
func sameErrno(name string, err error) bool {
	if name == "EWOULDBLOCK" {
		name = "EAGAIN"
	}
	return errName(err) == name
}

// argument helpers

func (r *runner) argInt(ev *Event, c *Syscall, i int) (int64, bool) {
	if i >= len(c.Args) {
		r.fail(ev, "%s needs argument %d", c.Name, i+1)
		return 0, false
	}
	a := c.Args[i]
	if a.Kind == ExprArray && len(a.Elems) == 1 {
		a = a.Elems[0]
	}
	v, ok := symbolValue(a)
	if !ok {
		r.fail(ev, "%s: argument %d (%s) is not a number this interpreter knows", c.Name, i+1, a)
		return 0, false
	}
	return v, true
}

func (r *runner) argName(c *Syscall, i int) string {
	if i >= len(c.Args) {
		return ""
	}
	if a := c.Args[i]; a.Kind == ExprName {
		return a.Name
	}
	return c.Args[i].String()
}

// symbols are the constants the scripts or-together (Linux values).
var symbols = map[string]int64{
	"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2, "O_NONBLOCK": 0x800,
	"MSG_PEEK": 2, "MSG_DONTWAIT": 0x40,
	"SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
	"AF_INET": 2, "AF_INET6": 10, "SOCK_STREAM": 1, "IPPROTO_TCP": 6,
}

func symbolValue(e Expr) (int64, bool) {
	switch e.Kind {
	case ExprInt:
		return e.Int, true
	case ExprName:
		v, ok := symbols[e.Name]
		return v, ok
	case ExprOr:
		var v int64
		for _, x := range e.Elems {
			y, ok := symbolValue(x)
			if !ok {
				return 0, false
			}
			v |= y
		}
		return v, true
	}
	return 0, false
}

// sockArg finds the socket of argument 0.
func (r *runner) sockArg(ev *Event, c *Syscall) *sock {
	fd, ok := r.argInt(ev, c, 0)
	if !ok {
		return nil
	}
	s := r.socks[int(fd)]
	if s == nil {
		r.fail(ev, "%s: fd %d is not open", c.Name, fd)
	}
	return s
}

// done wraps a call that never blocks.
func done(ret int64, err error) op {
	return func() (int64, error, bool) { return ret, err, true }
}

// prepare maps a system call onto the host's callback API. It returns nil
// after failing the run when the call cannot be made.
func (r *runner) prepare(ev *Event, c *Syscall) op {
	switch c.Name {
	case "socket":
		return r.sysSocket(ev, c)
	case "bind":
		s := r.sockArg(ev, c)
		if s == nil {
			return nil
		}
		if s.ln != nil || s.conn != nil {
			return done(-1, syscall.EINVAL)
		}
		s.bound, s.local = true, netip.AddrPortFrom(HostAddr, ScriptPort)
		if r.opt.BindAny {
			s.local = netip.AddrPortFrom(netip.IPv4Unspecified(), ScriptPort)
		}
		return done(0, nil)
	case "listen":
		return r.sysListen(ev, c)
	case "accept":
		return r.sysAccept(ev, c)
	case "connect":
		return r.sysConnect(ev, c)
	case "setsockopt":
		return r.sysSetsockopt(ev, c)
	case "getsockopt":
		return r.sysGetsockopt(ev, c)
	case "fcntl":
		return r.sysFcntl(ev, c)
	case "read", "recv":
		return r.sysRead(ev, c)
	case "write", "send":
		return r.sysWrite(ev, c)
	case "close":
		return r.sysClose(ev, c)
	case "shutdown":
		return r.sysShutdown(ev, c)
	case "ioctl":
		return r.sysIoctl(ev, c)
	}
	r.fail(ev, "unsupported system call %s", c.Name)
	return nil
}

func (r *runner) sysSocket(ev *Event, c *Syscall) op {
	if len(c.Args) != 3 {
		r.fail(ev, "socket takes 3 arguments")
		return nil
	}
	if d := c.Args[0]; d.Kind != ExprEllipsis && (d.Kind != ExprName || d.Name != "AF_INET") {
		r.fail(ev, "socket: only AF_INET (or ...) is supported, not %s", d)
		return nil
	}
	if t := r.argName(c, 1); t != "SOCK_STREAM" {
		r.fail(ev, "socket: only SOCK_STREAM is supported, not %s", t)
		return nil
	}
	if p := c.Args[2]; p.Kind != ExprEllipsis && !(p.Kind == ExprName && p.Name == "IPPROTO_TCP") && !(p.Kind == ExprInt && p.Int == 0) {
		r.fail(ev, "socket: only IPPROTO_TCP is supported, not %s", p)
		return nil
	}
	// packetdrill maps the script's descriptor numbers onto live ones:
	// the script's return value is the descriptor's name from now on.
	if c.Ret < 0 || c.AnyRet {
		r.fail(ev, "socket: the script must name the descriptor it expects")
		return nil
	}
	if r.socks[int(c.Ret)] != nil {
		r.fail(ev, "socket: fd %d is already open", c.Ret)
		return nil
	}
	r.socks[int(c.Ret)] = &sock{fd: int(c.Ret)}
	return done(c.Ret, nil)
}

func (r *runner) sysListen(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	backlog, ok := r.argInt(ev, c, 1)
	if !ok {
		return nil
	}
	if s.conn != nil {
		return done(-1, syscall.EINVAL)
	}
	if s.ln != nil {
		return done(0, nil) // listen again: Linux changes the backlog only
	}
	local := s.local
	if !s.bound {
		local = netip.AddrPortFrom(HostAddr, ScriptPort)
	}
	ln, err := r.st.ListenTCP(local, stack.TCPOptions{Owner: "packetdrill", ReuseAddr: s.reuseAddr, NoDelay: s.noDelay, Backlog: int(backlog)})
	if err != nil {
		return done(-1, err)
	}
	s.ln = ln
	r.localPort, r.peerPort = local.Port(), PeerPort
	return done(0, nil)
}

func (r *runner) sysAccept(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	if s.ln == nil {
		return done(-1, syscall.EINVAL)
	}
	if !c.AnyRet && c.Ret >= 0 && r.socks[int(c.Ret)] != nil {
		r.fail(ev, "accept: fd %d is already open", c.Ret)
		return nil
	}
	return func() (int64, error, bool) {
		tc, err := s.ln.TryAccept()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if s.nonblock {
				return -1, syscall.EAGAIN, true
			}
			return 0, nil, false
		}
		if err != nil {
			return -1, err, true
		}
		fd := int(c.Ret)
		if c.AnyRet || fd < 0 {
			fd = r.freeFD()
		}
		// An accepted socket inherits its listener's options, as in Linux.
		ns := &sock{fd: fd, conn: tc, reuseAddr: s.reuseAddr, noDelay: s.noDelay, userMSS: s.userMSS,
			sndBuf: s.sndBuf, rcvBuf: s.rcvBuf, userTO: s.userTO, linger2: s.linger2}
		r.socks[fd] = ns
		r.under = ns
		r.applyConnOptions(ev, ns)
		return int64(fd), nil, true
	}
}

func (r *runner) freeFD() int {
	fd := 3
	for r.socks[fd] != nil {
		fd++
	}
	return fd
}

func (r *runner) sysConnect(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	if s.ln != nil {
		return done(-1, syscall.EISCONN)
	}
	if s.conn == nil {
		opts := stack.TCPOptions{Owner: "packetdrill", ReuseAddr: s.reuseAddr, NoDelay: s.noDelay}
		if s.bound {
			opts.Local = s.local
		}
		tc, err := r.st.DialTCP(netip.AddrPortFrom(PeerAddr, ScriptPort), opts)
		if err != nil {
			return done(-1, err)
		}
		s.conn = tc
		r.under = s
		r.localPort, r.peerPort = tc.LocalAddr().Port(), ScriptPort
		r.applyConnOptions(ev, s)
		if s.nonblock {
			return done(-1, syscall.EINPROGRESS)
		}
	} else if s.nonblock {
		switch st := s.conn.State(); {
		case st == tcp.StateSynSent || st == tcp.StateSynReceived:
			return done(-1, syscall.EALREADY)
		case s.conn.Err() != nil:
			return done(-1, s.conn.Err())
		default:
			return done(-1, syscall.EISCONN)
		}
	}
	tc := s.conn
	return func() (int64, error, bool) {
		switch st := tc.State(); {
		case st == tcp.StateSynSent || st == tcp.StateSynReceived:
			return 0, nil, false
		case tc.Err() != nil:
			return -1, tc.Err(), true
		case st == tcp.StateClosed:
			return -1, syscall.ECONNREFUSED, true
		}
		return 0, nil, true
	}
}

// applyConnOptions gives a new connection the options set on its socket
// before it existed.
func (r *runner) applyConnOptions(ev *Event, s *sock) {
	if s.userTO != 0 {
		s.conn.SetUserTimeout(s.userTO)
	}
	if s.linger2 != 0 {
		r.setLinger2(ev, s, s.linger2)
	}
	if s.sndBuf != 0 {
		r.setBuffer(ev, s, "SO_SNDBUF")
	}
	if s.rcvBuf != 0 {
		r.setBuffer(ev, s, "SO_RCVBUF")
	}
}

type sendBufferSetter interface{ SetSendBuffer(int) error }
type receiveBufferSetter interface{ SetReceiveBuffer(int) error }

// setBuffer applies SO_SNDBUF or SO_RCVBUF through the stack's per-socket
// setter when it has one (once the connection exists); otherwise prescan
// set it host-wide before the host started.
func (r *runner) setBuffer(ev *Event, s *sock, opt string) {
	var err error
	switch opt {
	case "SO_SNDBUF":
		f, ok := any(s.conn).(sendBufferSetter)
		if !ok || s.conn == nil {
			if !ok {
				r.noteHostWide(ev, opt, r.host.sndBuf)
			}
			return
		}
		err = f.SetSendBuffer(s.sndBuf)
	case "SO_RCVBUF":
		f, ok := any(s.conn).(receiveBufferSetter)
		if !ok || s.conn == nil {
			if !ok {
				r.noteHostWide(ev, opt, r.host.rcvBuf)
			}
			return
		}
		err = f.SetReceiveBuffer(s.rcvBuf)
	}
	if err != nil {
		r.fail(ev, "%s: %v", opt, err)
	}
}

func (r *runner) sysFcntl(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	switch cmd := r.argName(c, 1); cmd {
	case "F_SETFL":
		flags, ok := r.argInt(ev, c, 2)
		if !ok {
			return nil
		}
		s.nonblock = flags&symbols["O_NONBLOCK"] != 0
		return done(0, nil)
	case "F_GETFL":
		flags := symbols["O_RDWR"]
		if s.nonblock {
			flags |= symbols["O_NONBLOCK"]
		}
		return done(flags, nil)
	default:
		r.fail(ev, "fcntl: unsupported command %s", cmd)
		return nil
	}
}

// ioArgs reads the socket and length of read/recv/write/send, and checks
// that recv's and send's flags (withFlags names the call that has them)
// are zero, the only value the scripts use.
func (r *runner) ioArgs(ev *Event, c *Syscall, withFlags string) (*sock, int64, bool) {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil, 0, false
	}
	n, ok := r.argInt(ev, c, 2)
	if !ok {
		return nil, 0, false
	}
	if c.Name == withFlags {
		if flags, ok := r.argInt(ev, c, 3); !ok {
			return nil, 0, false
		} else if flags != 0 {
			r.fail(ev, "%s: flags %s are not supported", c.Name, c.Args[3])
			return nil, 0, false
		}
	}
	return s, n, true
}

func (r *runner) sysRead(ev *Event, c *Syscall) op {
	s, n, ok := r.ioArgs(ev, c, "recv")
	if !ok {
		return nil
	}
	if s.conn == nil {
		return done(-1, syscall.ENOTCONN)
	}
	buf := make([]byte, n)
	return func() (int64, error, bool) {
		m, err := s.conn.TryRead(buf)
		switch {
		case m > 0:
			return int64(m), nil, true
		case err == io.EOF:
			return 0, nil, true
		case errors.Is(err, syscall.EWOULDBLOCK):
			if s.nonblock {
				return -1, syscall.EAGAIN, true
			}
			return 0, nil, false
		case err != nil:
			return -1, err, true
		}
		return 0, nil, true
	}
}

func (r *runner) sysWrite(ev *Event, c *Syscall) op {
	s, n, ok := r.ioArgs(ev, c, "send")
	if !ok {
		return nil
	}
	if s.conn == nil {
		return done(-1, syscall.EPIPE)
	}
	// packetdrill writes zeros; outbound payloads are checked against that.
	buf := make([]byte, n)
	written := 0
	return func() (int64, error, bool) {
		for written < len(buf) {
			m, err := s.conn.TryWrite(buf[written:])
			written += m
			if errors.Is(err, syscall.EWOULDBLOCK) || (err == nil && m == 0) {
				if s.nonblock {
					if written > 0 {
						return int64(written), nil, true
					}
					return -1, syscall.EAGAIN, true
				}
				return 0, nil, false // a blocking write waits for all of it
			}
			if err != nil {
				if written > 0 {
					return int64(written), nil, true
				}
				return -1, err, true
			}
			if s.nonblock && m < len(buf) {
				return int64(written), nil, true
			}
		}
		return int64(written), nil, true
	}
}

func (r *runner) sysClose(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	delete(r.socks, s.fd)
	var err error
	switch {
	case s.ln != nil:
		err = s.ln.Close()
	case s.conn != nil:
		err = s.conn.Close()
	}
	if err != nil {
		return done(-1, err)
	}
	return done(0, nil)
}

func (r *runner) sysShutdown(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	how, ok := r.argInt(ev, c, 1)
	if !ok {
		return nil
	}
	if s.conn == nil {
		return done(-1, syscall.ENOTCONN)
	}
	var err error
	switch how {
	case 0:
		err = s.conn.CloseRead()
	case 1:
		err = s.conn.CloseWrite()
	case 2:
		if err = s.conn.CloseRead(); err == nil {
			err = s.conn.CloseWrite()
		}
	default:
		return done(-1, syscall.EINVAL)
	}
	if err != nil {
		return done(-1, err)
	}
	return done(0, nil)
}

func (r *runner) sysIoctl(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	switch req := r.argName(c, 1); req {
	case "SIOCINQ", "FIONREAD":
		want, ok := r.argInt(ev, c, 2)
		if !ok {
			return nil
		}
		if s.conn == nil {
			return done(-1, syscall.EINVAL)
		}
		if got := s.conn.Info().RecvQueue; int64(got) != want {
			r.fail(ev, "ioctl %s: %d bytes queued to read, the script expects %d", req, got, want)
			return nil
		}
		return done(0, nil)
	default:
		r.fail(ev, "ioctl: unsupported request %s", req)
		return nil
	}
}

// levels: Linux's SOL_TCP is IPPROTO_TCP.
func isTCPLevel(l string) bool { return l == "SOL_TCP" || l == "IPPROTO_TCP" }

func (r *runner) sysSetsockopt(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	level, name := r.argName(c, 1), r.argName(c, 2)
	v, ok := r.argInt(ev, c, 3)
	if !ok {
		return nil
	}
	switch {
	case level == "SOL_SOCKET" && name == "SO_REUSEADDR":
		s.reuseAddr = v != 0
	case isTCPLevel(level) && name == "TCP_NODELAY":
		s.noDelay = v != 0
		if s.conn != nil {
			if err := s.conn.SetNoDelay(v != 0); err != nil {
				return done(-1, err)
			}
		}
	case isTCPLevel(level) && name == "TCP_USER_TIMEOUT":
		if v < 0 {
			return done(-1, syscall.EINVAL)
		}
		s.userTO = time.Duration(v) * time.Millisecond
		if s.conn != nil {
			if err := s.conn.SetUserTimeout(s.userTO); err != nil {
				return done(-1, err)
			}
		}
	case isTCPLevel(level) && name == "TCP_LINGER2":
		s.linger2 = time.Duration(v) * time.Second
		if s.conn != nil {
			r.setLinger2(ev, s, s.linger2)
		}
	case isTCPLevel(level) && name == "TCP_MAXSEG":
		// Linux accepts 88..32767 (TCP_MIN_MSS to MAX_TCP_WINDOW).
		if v < 88 || v > 32767 {
			return done(-1, syscall.EINVAL)
		}
		s.userMSS = int(v)
		r.noteHostWide(ev, "TCP_MAXSEG", r.host.maxSeg)
	case level == "SOL_SOCKET" && name == "SO_SNDBUF":
		s.sndBuf = 2 * int(v) // Linux doubles it to allow for bookkeeping (socket(7))
		r.setBuffer(ev, s, "SO_SNDBUF")
	case level == "SOL_SOCKET" && name == "SO_RCVBUF":
		s.rcvBuf = 2 * int(v)
		r.setBuffer(ev, s, "SO_RCVBUF")
	default:
		r.fail(ev, "setsockopt: unsupported option %s/%s", level, name)
		return nil
	}
	return done(0, nil)
}

type finWait2Setter interface{ SetFinWait2Timeout(time.Duration) error }

// setLinger2 applies TCP_LINGER2 through the stack's per-socket setter when
// it has one; otherwise prescan set it host-wide before the host started.
func (r *runner) setLinger2(ev *Event, s *sock, d time.Duration) {
	if f, ok := any(s.conn).(finWait2Setter); ok {
		if err := f.SetFinWait2Timeout(d); err != nil {
			r.fail(ev, "TCP_LINGER2: %v", err)
		}
		return
	}
	r.noteHostWide(ev, "TCP_LINGER2", r.host.linger2)
}

// noteHostWide records that an option was emulated through the host's
// configuration.
func (r *runner) noteHostWide(ev *Event, opt, how string) {
	if r.noted[opt] {
		return
	}
	r.noted[opt] = true
	if how == "" {
		how = "not applied: the stack has no per-socket setter"
		r.note(ev.Line, Skipped, "%s %s", opt, how)
		return
	}
	r.note(ev.Line, Emulated, "%s %s", opt, how)
}

func (r *runner) sysGetsockopt(ev *Event, c *Syscall) op {
	s := r.sockArg(ev, c)
	if s == nil {
		return nil
	}
	level, name := r.argName(c, 1), r.argName(c, 2)
	want, ok := r.argInt(ev, c, 3)
	if !ok {
		return nil
	}
	var got int64
	switch {
	case isTCPLevel(level) && name == "TCP_MAXSEG":
		// Linux reports the MSS in use once connected (tp->mss_cache),
		// before that the user's value or the default of 536.
		switch {
		case s.conn != nil && s.conn.State() != tcp.StateSynSent:
			got = int64(s.conn.Info().SndMSS)
		case s.userMSS != 0:
			got = int64(s.userMSS)
		default:
			got = 536
		}
	case level == "SOL_SOCKET" && name == "SO_SNDBUF":
		got = int64(s.sndBuf)
		if got == 0 {
			got = int64(r.cfg.SndBuf)
		}
	case level == "SOL_SOCKET" && name == "SO_RCVBUF":
		got = int64(s.rcvBuf)
		if got == 0 {
			got = int64(r.cfg.RcvBuf)
		}
	case isTCPLevel(level) && name == "TCP_NODELAY":
		if s.noDelay {
			got = 1
		}
	case level == "SOL_SOCKET" && name == "SO_REUSEADDR":
		if s.reuseAddr {
			got = 1
		}
	default:
		r.fail(ev, "getsockopt: unsupported option %s/%s", level, name)
		return nil
	}
	if got != want {
		r.fail(ev, "getsockopt %s: the host has %d, the script expects %d", name, got, want)
		return nil
	}
	return done(0, nil)
}

// connState describes a socket's connection for failure messages.
func connState(s *sock) string {
	if s == nil || s.conn == nil {
		return ""
	}
	in := s.conn.Info()
	return fmt.Sprintf(" [berth: %v, send queue %d B, in flight %d B, cwnd %d B, peer window %d B, receive queue %d B]",
		in.State, in.SendQueue, in.Unacked, in.Cwnd, in.SndWnd, in.RecvQueue)
}
