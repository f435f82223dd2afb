// Package sim is a deterministic network simulation: many berth hosts in
// one process, joined by paths with seeded faults, on virtual time. A
// program written against package net — net/http, a database client, a
// replicated service — runs on the simulated hosts unchanged, meets loss,
// delay, reordering, partitions and crashes, and gives the same run every
// time from the same seed.
//
// # A test
//
//	func TestFailover(t *testing.T) {
//		sim.Run(t, func(t *testing.T, n *sim.Network) {
//			db, app := n.Host("db"), n.Host("app")
//			link := n.Link(db, app, sim.Delay(5*time.Millisecond, time.Millisecond), sim.Loss(0.01))
//			ln, _ := db.Listen("tcp", ":5432")
//			go serve(ln)
//			c, err := app.Dial("tcp", "db:5432") // host names resolve inside the network
//			...
//			link.Partition()
//			time.Sleep(time.Minute) // virtual: returns at once
//			link.Heal()
//			...
//		})
//	}
//
// Run wraps testing/synctest.Test: inside, package time is virtual, so the
// program's own timeouts, the stacks' retransmissions and the paths'
// delays all take no real time. Run picks the seed (-sim.seed=N on the
// command line, else a Seed option, else one derived from the test's
// name) and, when the test fails, logs it with the command that reruns
// exactly that case:
//
//	sim: seed 8; rerun with: go test -run '^TestFailover$' -sim.seed=8
//
// A program's main function gets the same from Main. Elsewhere (New
// called outside a bubble, as in this package's examples) the network runs
// on real time with the same API and faults, but without the promise of a
// fixed order.
//
// # Hosts
//
// Network.Host makes a host: a berth stack (see package berth) with one
// interface, an address from 198.18.0.0/15 in creation order (Addr and
// Prefix choose others), an IPv6 address from 2001:2::/48 (Prefix6, RFC
// 5180's benchmarking range) in creation order too (2001:2::1, ::2, ...;
// Addr6 chooses another, IPv4Only leaves it out, as does an InterfaceMTU
// under IPv6's 1280) and a name. Host.Dial, DialContext, Listen,
// ListenPacket and Ping work like package net's and resolve the names of
// the network's hosts ("db:5432", "web:http"); DialContext fits
// http.Transport. Host.Berth returns the berth host itself, for the
// callback API and the socket table (Host.Sockets).
//
// A name resolves to the host's IPv4 address on "tcp", "udp" and "ip4",
// and to its IPv6 address on "tcp6", "udp6" and "ip6" (Network.Resolve,
// Network.Resolve6); IPv6 literals work anywhere ("[2001:2::2]:80"). A
// server listening on "tcp" "[::]:80" takes both families (berth's ":80"
// is IPv4 only). The links carry bare IP packets, so there is no Neighbor
// Discovery: a host's IPv6 address costs nothing on the wire, and a run
// that uses only IPv4 is packet for packet what it was before hosts had
// IPv6.
//
// Host.Crash stops a host as a power cut would: its sockets vanish
// without FIN or RST, its timers stop, packets arriving for it are
// dropped, calls blocked on its sockets return net.ErrClosed and its
// Context is cancelled. Host.Restart boots a new incarnation with the same
// name and address and a fresh stack, whose resets then tell peers their
// connections are gone; OnBoot registers programs that start with every
// incarnation. Host.Isolate cuts a host off from everyone until Rejoin.
//
// # Paths and faults
//
// Every ordered pair of hosts has a Path; Network.Link returns the two
// paths between two hosts as one Link. Each path has its own faults, set
// when the network is made (DefaultFaults), by Link or by Set at any time:
//
//	Loss(p)                      independent loss
//	GilbertElliott(p, r, k, h)   bursty loss (two-state Markov chain)
//	Delay(d, jitter)             latency with uniform jitter, which reorders (default 1 ms)
//	Duplicate(p), Corrupt(p)     a second copy; one flipped bit
//	MTU(n)                       larger packets vanish (a PMTU black hole)
//	RouterMTU(n)                 larger IPv4 DF packets get "fragmentation needed" (RFC 1191),
//	                             larger IPv6 packets "packet too big" (RFC 8201; n < 1280 acts as 1280)
//	Rate(bps, queue)             a bottleneck with a bounded queue and tail drop
//
// Every fault treats IPv4 and IPv6 packets alike. The controls are
// Partition and Heal (one way on a Path, both on a Link), Hold and Release
// (packets wait, then go in order). PathStats counts what
// each path did. InterfaceMTU sets a host's own MTU, from which TCP takes
// its MSS.
//
// # Capture and trace
//
// Network.Capture writes a pcap file (LINKTYPE_RAW, which carries both
// IPv4 and IPv6) of every packet as it leaves its sender; Host.Capture writes one host's view, tcpdump-style, with
// arrivals as the faults left them (duplicates, flipped bits, new order).
// Timestamps are virtual time (the bubble's clock starts at 2000-01-01
// UTC). The text trace (Trace option) has one line per packet event and
// per control action:
//
//	0.002000000 send              a>b TCP a:35496 > b:7 [.] seq=1647916730 ack=651892457 win=1024 len=1448 id=4231 ttl=64
//	0.003000000 recv              a>b TCP a:35496 > b:7 [.] seq=1647916730 ack=651892457 win=1024 len=1448 id=4231 ttl=64
//	0.004000000 drop:loss         a>b TCP ...
//	30.050000000 heal              a>b
//
// IPv6 packets read TCP6, UDP6, ICMP6 (with the type, and the MTU of a
// Packet Too Big) or IP6, and end with the hop limit (hlim=) and the flow
// label when there is one instead of IPv4's id= and ttl=:
//
//	0.002000000 drop:mtu          a>b TCP6 a:40632 > b:9 [.] seq=3242735008 ack=1371448810 win=1024 len=1428 hlim=64
//	0.002000000 icmp:too-big      router>a ICMP6 2001:2:0:ffff::fffe > a packet too big mtu=1400 len=1232 hlim=64
//
// with the verbs send (and send+dup, send+corrupt), recv, hold, drop:loss,
// drop:burst, drop:queue, drop:mtu, icmp:too-big, drop:partition, drop:noroute,
// drop:down (arrived at a crashed host), and crash, restart, isolate,
// rejoin, partition, heal, hold, release. Network.TraceHash is the
// SHA-256 of the trace so far: the fingerprint of a run. Call
// Network.Flush (or Close) before reading what the captures and the trace
// wrote.
//
// # Determinism
//
// One seed drives every random choice: each host's stack (ISNs, ephemeral
// ports, IP IDs, keys) and each path's faults get seeds derived from it
// and their names, never from creation order or map order. One scheduler
// goroutine runs every packet departure, arrival and stack timer from a
// single queue, keyed by time, host, flow and place in the flow (timers:
// deadline, host, timer number), and, inside the bubble, waits until every
// other goroutine is idle (synctest.Wait) before each event, so all the
// consequences of one event are queued before the next runs. Socket
// creation (Dial, Listen, ListenPacket, Ping) waits its turn in a fixed
// order too. The package's tests check that a seed gives byte-identical
// traces and captures over 20 runs with GOMAXPROCS=1 and 2, under -race,
// and across processes.
//
// What the simulation cannot order is the program's own race: goroutines
// of one host that, at the same virtual instant, share memory or send
// packets. Go's scheduler decides who goes first, and berth's stack numbers
// its IPv4 packets from one counter per host, so the trace can differ. A
// run under -race, whose scheduler shuffles goroutines, shows such races:
// the same seed gives a different TraceHash. Let one goroutine per host
// act per instant (the examples' replicated store answers its client only
// on an acknowledgement, so its replicator and its client handler never
// send at once), or stagger goroutines by a little virtual time. Do not
// call synctest.Wait inside Run (the scheduler does); sleep instead. Reads,
// writes and closes of sockets run when their goroutine gets there, so
// holding a mutex across them is as safe as with real sockets.
//
// # Cost
//
// On a 2-core machine, 1,000 hosts with 10,000 TCP connections, each
// exchanging a 100-byte request and reply every second, run 60 s of
// virtual time in about 40 s of real time (1.5 times faster than real
// time; BERTH_SIM_SCALE=full go test -run TestScale ./sim). A host costs
// about 23 KiB; a connection with a goroutine at each end about 25 KiB.
package sim
