// Command berth runs berth hosts: a demonstration on an in-process network
// (the default), a host on a Linux TUN device, ping, and more.
//
//	berth                 the demo: two hosts on a lossy in-memory link
//	berth serve -tun NAME -addr 198.18.0.2/24 [-kernel-addr 198.18.0.1/24] [-pcap FILE]
//	berth ping  -tun NAME -addr 198.18.0.2/24 [-c N] [-s SIZE] HOST
//	berth get   -tun NAME -addr 198.18.0.2/24 URL
//	berth ss [-tuwl] [-json] [-host]
//	berth ports 80 | http | -range system
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, out io.Writer) error
}

var commands = []command{
	{"demo", "a story on a simulated network: four hosts, faults, a partition, every socket type (the default)", runDemo},
	{"link-demo", "two berth hosts on one lossy in-memory link: ping, UDP and TCP, counters", runLinkDemo},
	{"serve", "attach a berth host to a Linux TUN device and serve until interrupted", runServe},
	{"ping", "ping a host from a berth host on a Linux TUN device", runPing},
	{"get", "fetch an http:// URL from a berth host on a Linux TUN device", runGet},
	{"ss", "print the socket table of a running berth host (or -host: of this machine's kernel)", runSS},
	{"ports", "look up the port registry: berth ports 80, berth ports http, berth ports -range system", runPorts},
	{"conform", "run packetdrill scripts against a berth host on a virtual clock: berth conform DIR", runConform},
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "berth: the Internet's ports and sockets, as a userspace TCP/IP stack.\n\nUsage:\n  berth [command] [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nWith no command, berth runs the demo. 'berth COMMAND -h' explains a command's flags.\n")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "berth:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return runDemo(ctx, nil, out)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(out)
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], out)
		}
	}
	if args[0] != "" && args[0][0] == '-' {
		return runDemo(ctx, args, out)
	}
	usage(os.Stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

// newFlags returns a flag set whose -h prints the command's synopsis.
func newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: berth %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
