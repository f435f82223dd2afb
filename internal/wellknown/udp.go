// Package wellknown runs the classic well-known services on a berth host —
// echo (RFC 862), discard (RFC 863), daytime (RFC 867) and chargen
// (RFC 864) — each a small handler on the callback API: no goroutine per
// socket, replies sent from the readiness callback.
package wellknown

import (
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"berth/stack"
)

// Well-known ports of the services.
const (
	Echo    = 7
	Discard = 9
	Daytime = 13
	Chargen = 19
)

// ChargenMax bounds a chargen reply (RFC 864: "between 0 and 512").
const ChargenMax = 512

// Services is a running set of services; Close stops them.
type Services struct {
	mu    sync.Mutex
	udp   []*stack.UDPSocket
	tcp   []*stack.TCPListener
	clock func() time.Time
}

// Close closes every service socket.
func (sv *Services) Close() error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	var err error
	for _, u := range sv.udp {
		if e := u.Close(); e != nil && !errors.Is(e, syscall.EBADF) {
			err = errors.Join(err, e)
		}
	}
	for _, l := range sv.tcp {
		if e := l.Close(); e != nil && !errors.Is(e, syscall.EBADF) {
			err = errors.Join(err, e)
		}
	}
	sv.udp, sv.tcp = nil, nil
	return err
}

// Serve starts the UDP and TCP services on addr.
func Serve(s *stack.Stack, addr netip.Addr) (*Services, error) {
	sv, err := ServeUDP(s, addr)
	if err != nil {
		return nil, err
	}
	if err := sv.ServeTCP(s, addr); err != nil {
		sv.Close()
		return nil, err
	}
	return sv, nil
}

// ServeUDP starts the UDP services on addr (the unspecified address for all).
func ServeUDP(s *stack.Stack, addr netip.Addr) (*Services, error) {
	sv := &Services{clock: s.Clock().Now}
	for _, svc := range []struct {
		port  uint16
		reply func(req []byte, out []byte) []byte // nil: no reply
	}{
		{Echo, func(req, _ []byte) []byte { return req }},
		{Discard, nil},
		{Daytime, func(_, out []byte) []byte {
			return sv.clock().AppendFormat(out[:0], "Monday, January 2, 2006 15:04:05-MST\r\n")
		}},
		{Chargen, func(req, out []byte) []byte { return chargen(out[:0], ChargenMax) }},
	} {
		u, err := s.OpenUDP(stack.UDPOptions{Owner: "berth-" + name(svc.port)})
		if err == nil {
			err = u.Bind(netip.AddrPortFrom(addr, svc.port))
		}
		if err != nil {
			sv.Close()
			return nil, err
		}
		sv.udp = append(sv.udp, u)
		in := make([]byte, 65536)
		out := make([]byte, 0, ChargenMax)
		var mu sync.Mutex // callbacks of one socket may overlap; they share buffers
		reply := svc.reply
		u.SetNotify(func(ev stack.Event) {
			mu.Lock()
			defer mu.Unlock()
			for {
				n, from, err := u.TryRecv(in)
				if err != nil {
					return
				}
				if reply != nil {
					u.SendTo(reply(in[:n], out), from)
				}
			}
		})
	}
	return sv, nil
}

func name(p uint16) string {
	switch p {
	case Echo:
		return "echo"
	case Discard:
		return "discard"
	case Daytime:
		return "daytime"
	}
	return "chargen"
}

// chargen appends up to max bytes of the RFC 864 pattern: lines of 72
// printable characters, each starting one character later than the last.
func chargen(out []byte, max int) []byte {
	const first, count = ' ' + 1, 94 // '!' .. '~'
	for line := 0; len(out) < max; line++ {
		for i := 0; i < 72 && len(out) < max; i++ {
			out = append(out, byte(first+(line+i)%count))
		}
		if len(out)+2 <= max {
			out = append(out, '\r', '\n')
		} else {
			break
		}
	}
	return out
}
