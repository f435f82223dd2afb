// Package interop holds berth's acceptance tests against the Linux kernel:
// each test makes a throwaway network namespace (internal/netns) with a TUN
// device between the kernel (198.18.0.1) and a berth host (198.18.0.2), and
// exchanges ICMP, UDP and raw IP datagrams and TCP streams with the
// kernel's own sockets and tools (iputils ping, curl, Go's net on the
// kernel, the berth CLI: ping, serve, get). Every exchange is captured with
// link/pcap and the capture is decoded by gopacket (and tshark when
// installed). The tests skip, saying why, without root or TUN.
//
// Run them with: go test -race -v ./internal/interop
package interop
