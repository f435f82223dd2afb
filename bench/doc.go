// Package bench measures berth side by side with gVisor's netstack and the
// Linux kernel's sockets, in one `go test -bench` run so that benchstat can
// put the three in columns (`benchstat -col /contender`).
//
// Every benchmark lives in a _test.go file: gVisor is a test-only
// dependency of the module, and nothing here is meant to be imported. See
// README.md for how to run and compare.
//
// A contender is one way of getting a pair of sockets: two berth hosts over
// link/mem, two gVisor stacks over an in-memory link of the same shape, or
// the kernel's loopback. Every benchmark drives the contenders through Go's
// own interfaces (net.PacketConn, net.Listener, net.Conn), so each pays for
// its blocking adapter as a user of it would.
package bench
