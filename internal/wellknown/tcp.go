package wellknown

import (
	"errors"
	"io"
	"net/netip"
	"sync"
	"syscall"

	"berth/stack"
)

// ServeTCP starts the TCP twins of the services on addr: echo, discard,
// daytime and chargen, each connection driven by callbacks alone.
func (sv *Services) ServeTCP(s *stack.Stack, addr netip.Addr) error {
	for _, p := range []uint16{Echo, Discard, Daytime, Chargen} {
		l, err := s.ListenTCP(netip.AddrPortFrom(addr, p), stack.TCPOptions{Owner: "berth-" + name(p), ReuseAddr: true})
		if err != nil {
			return err
		}
		sv.mu.Lock()
		sv.tcp = append(sv.tcp, l)
		sv.mu.Unlock()
		port := p
		l.SetNotify(func(stack.Event) {
			for {
				c, err := l.TryAccept()
				if err != nil {
					return
				}
				h := &tcpSession{c: c, port: port}
				switch port {
				case Daytime:
					h.out = sv.clock().AppendFormat(nil, "Monday, January 2, 2006 15:04:05-MST\r\n")
					h.closeAfter = true
				}
				c.SetNotify(h.ready)
			}
		})
	}
	return nil
}

// tcpSession is one connection of a service.
type tcpSession struct {
	mu         sync.Mutex
	c          *stack.TCPConn
	port       uint16
	buf        [16 << 10]byte
	out        []byte // bytes owed before reading more (flow control)
	off        int    // chargen: position in its repeating pattern
	closeAfter bool   // close once out is written (daytime)
	done       bool
}

// chargenPattern is a whole period of RFC 864's rotating lines.
var chargenPattern = chargen(nil, 94*74)

// ready runs on every readiness change: write what is owed, then read
// while there is room to answer, until the connection would block.
func (h *tcpSession) ready(stack.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.port == Chargen {
		h.stream()
		return
	}
	for !h.done {
		if len(h.out) > 0 {
			n, err := h.c.TryWrite(h.out)
			h.out = h.out[n:]
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return // Writable will follow
			}
			if err != nil || (len(h.out) == 0 && h.closeAfter) {
				h.finish()
				return
			}
			continue
		}
		n, err := h.c.TryRead(h.buf[:])
		switch {
		case n > 0 && h.port == Echo:
			h.out = h.buf[:n]
		case n > 0: // discard
		case errors.Is(err, syscall.EWOULDBLOCK):
			return // Readable will follow
		default: // io.EOF or an error
			h.finish()
			return
		}
	}
}

// stream writes the chargen pattern for as long as the peer reads it.
func (h *tcpSession) stream() {
	for !h.done {
		if _, err := h.c.TryRead(h.buf[:]); err == io.EOF || (err != nil && !errors.Is(err, syscall.EWOULDBLOCK)) {
			h.finish()
			return
		}
		n, err := h.c.TryWrite(chargenPattern[h.off:])
		h.off = (h.off + n) % len(chargenPattern)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return
		}
		if err != nil {
			h.finish()
			return
		}
	}
}

func (h *tcpSession) finish() {
	h.done = true
	h.c.Close()
}
