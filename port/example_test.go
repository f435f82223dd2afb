package port_test

import (
	"fmt"
	"net/netip"

	"berth/port"
)

func Example() {
	m := port.NewManager(port.Config{})

	// A web server listens on every address; a second bind is refused.
	web, _ := m.Bind(port.Request{Proto: port.TCP, Local: netip.MustParseAddrPort("0.0.0.0:80"), Owner: "web", Endpoint: "web"})
	_ = web.SetState(port.Listening)
	_, err := m.Bind(port.Request{Proto: port.TCP, Local: netip.MustParseAddrPort("0.0.0.0:80"), Owner: "web2"})
	fmt.Println(err)

	// UDP 80 is another port space.
	_, err = m.Bind(port.Request{Proto: port.UDP, Local: netip.MustParseAddrPort("0.0.0.0:80")})
	fmt.Println("udp 80:", err)

	// A SYN from a new peer goes to the listener; the accepted connection
	// then owns its 4-tuple.
	here, peer := netip.MustParseAddrPort("198.18.0.1:80"), netip.MustParseAddrPort("198.18.0.2:40000")
	fmt.Println(m.Lookup(port.TCP, here, peer))
	conn, _ := m.Accept(web, port.Request{Local: here, Remote: peer, Endpoint: "conn"})
	fmt.Println(m.Lookup(port.TCP, here, peer), conn)

	// Output:
	// bind tcp 0.0.0.0:80: address already in use: held by "web" (tcp 0.0.0.0:80, LISTEN); SO_REUSEPORT on both sockets would allow it
	// udp 80: <nil>
	// web
	// conn tcp 198.18.0.1:80->198.18.0.2:40000 ESTABLISHED "web"
}
