package port

import (
	"net/netip"
	"strconv"
	"syscall"
)

// Binding is one socket's hold on a port. Bind, Connect and Accept return
// it; Release gives the port back. Its methods, like the Manager's, are not
// safe for concurrent use.
type Binding struct {
	m      *Manager
	id     uint64
	proto  Protocol
	local  netip.AddrPort
	remote netip.AddrPort // valid once connected
	state  State
	opts   Options
	owner  string
	ep     any

	// explicit: the port came from bind() (or from a listener, for an
	// accepted connection) rather than from connect's allocator. Linux
	// keeps the same distinction in its bind bucket (tb->fastreuse >= 0):
	// connect never picks a port that has explicit holders.
	explicit bool
	released bool
	inListen bool // member of the space's listen map (receives new flows)
	bidx     int  // index in its bucket's members
}

// ID is a number unique among the Manager's bindings, in creation order.
func (b *Binding) ID() uint64 { return b.id }

// Proto is the protocol whose port space the binding is in.
func (b *Binding) Proto() Protocol { return b.proto }

// Local is the local address and port (the address is unspecified for a
// wildcard bind).
func (b *Binding) Local() netip.AddrPort { return b.local }

// Remote is the peer of a connected binding; the zero AddrPort otherwise.
func (b *Binding) Remote() netip.AddrPort { return b.remote }

// State is the binding's state.
func (b *Binding) State() State { return b.state }

// Options are the socket options the binding was made with.
func (b *Binding) Options() Options { return b.opts }

// Owner is the application label given when the binding was made.
func (b *Binding) Owner() string { return b.owner }

// Endpoint is the value Lookup returns for this binding.
func (b *Binding) Endpoint() any { return b.ep }

// SetEndpoint replaces the value Lookup returns for this binding.
func (b *Binding) SetEndpoint(ep any) { b.ep = ep }

// Released reports whether Release has been called.
func (b *Binding) Released() bool { return b.released }

// Ephemeral reports whether connect's allocator chose the port.
func (b *Binding) Ephemeral() bool { return !b.explicit }

// String is "tcp 0.0.0.0:80 LISTEN" (plus "->remote" when connected).
func (b *Binding) String() string {
	s := b.proto.String() + " " + b.local.String()
	if b.remote.IsValid() {
		s += "->" + b.remote.String()
	}
	s += " " + b.state.String()
	if b.owner != "" {
		s += " " + strconv.Quote(b.owner)
	}
	return s
}

// SetState records a transition the transport made.
//
// Bound → Listening is listen(2): it is checked against the other holders of
// the port, because two sockets that share a port through SO_REUSEADDR may
// not both listen (Linux re-runs the bind conflict check in
// inet_csk_listen_start); it fails with a *BindError wrapping EADDRINUSE.
// Listening → Bound undoes it. Connected → TimeWait keeps the 4-tuple held
// (RFC 9293 §3.6.1) until Release. Reaching Connected is Connect's or
// Accept's job; other transitions fail with EINVAL.
func (b *Binding) SetState(s State) error {
	if b.released {
		return b.stateErr("listen", syscall.EINVAL)
	}
	if s == b.state {
		return nil
	}
	switch {
	case b.state == Bound && s == Listening:
		if !b.proto.connectionOriented() {
			return b.stateErr("listen", syscall.EOPNOTSUPP)
		}
		return b.m.listen(b)
	case b.state == Listening && s == Bound:
		b.m.unlisten(b)
		b.state = Bound
		return nil
	case b.state == Connected && s == TimeWait:
		b.state = TimeWait
		return nil
	}
	return b.stateErr("set state "+s.String(), syscall.EINVAL)
}

func (b *Binding) stateErr(op string, errno syscall.Errno) error {
	return &BindError{Op: op, Proto: b.proto, Local: b.local, Remote: b.remote, Err: errno}
}

// Release gives the port back: the binding leaves the port space and the
// demultiplexing table. Calling it again does nothing.
func (b *Binding) Release() {
	if b.released {
		return
	}
	b.m.release(b)
}

func (b *Binding) holder() *Holder {
	return &Holder{Owner: b.owner, Proto: b.proto, Local: b.local, Remote: b.remote, State: b.state}
}
