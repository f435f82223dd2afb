package port

import (
	"net/netip"
	"strconv"
	"strings"
)

// BindError is the error of a refused Bind, Connect, Accept or Listen. It
// unwraps to the syscall.Errno a kernel would return (EADDRINUSE,
// EADDRNOTAVAIL, EACCES, EINVAL, EISCONN), and its text says which socket is
// in the way and which option would have allowed the bind:
//
//	bind tcp 0.0.0.0:80: address already in use: held by "web" (tcp 0.0.0.0:80, LISTEN); SO_REUSEPORT on both sockets would allow it
type BindError struct {
	Op     string         // "bind", "listen", "connect" or "accept"
	Proto  Protocol       //
	Local  netip.AddrPort // the requested local address and port
	Remote netip.AddrPort // the peer, for connect and accept
	Err    error          // a syscall.Errno
	Holder *Holder        // the first socket in the way, if one is
	Others int            // how many more sockets are in the way
	Hint   string         // the option that would have allowed it, if any
	Detail string         // further explanation, if any
}

// Holder describes a socket that holds a port, as of the failed call.
type Holder struct {
	Owner         string
	Proto         Protocol
	Local, Remote netip.AddrPort
	State         State
}

func (h *Holder) String() string {
	var b strings.Builder
	h.write(&b)
	return b.String()
}

func (h *Holder) write(b *strings.Builder) {
	if h.Owner != "" {
		b.WriteString(strconv.Quote(h.Owner))
		b.WriteString(" (")
	} else {
		b.WriteString("an unnamed socket (")
	}
	b.WriteString(h.Proto.String())
	b.WriteByte(' ')
	b.WriteString(h.Local.String())
	if h.Remote.IsValid() {
		b.WriteString("->")
		b.WriteString(h.Remote.String())
	}
	b.WriteString(", ")
	b.WriteString(h.State.String())
	b.WriteByte(')')
}

func (e *BindError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteByte(' ')
	b.WriteString(e.Proto.String())
	b.WriteByte(' ')
	b.WriteString(e.Local.String())
	if e.Remote.IsValid() {
		b.WriteString("->")
		b.WriteString(e.Remote.String())
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Holder != nil {
		b.WriteString(": held by ")
		e.Holder.write(&b)
		if e.Others > 0 {
			b.WriteString(" and ")
			b.WriteString(strconv.Itoa(e.Others))
			b.WriteString(" more")
		}
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the errno, so errors.Is(err, syscall.EADDRINUSE) works.
func (e *BindError) Unwrap() error { return e.Err }

// Hints of a refused bind.
const (
	hintReuseAddr = "SO_REUSEADDR on both sockets would allow it"
	hintReusePort = "SO_REUSEPORT on both sockets would allow it"
)
