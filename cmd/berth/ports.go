package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"berth/port"
	"berth/port/services"
)

func runPorts(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("ports", "ports [-proto tcp|udp|all] [-range system|user|dynamic|LO-HI] [PORT|NAME ...]")
	protoFlag := fs.String("proto", "all", "protocol: tcp, udp, sctp, dccp or all")
	rng := fs.String("range", "", "list the registrations in a range: system (0-1023), user (1024-49151), dynamic (49152-65535) or LO-HI")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var protos []port.Protocol
	if *protoFlag == "all" {
		protos = []port.Protocol{port.TCP, port.UDP}
	} else if p, ok := port.ParseProtocol(*protoFlag); ok {
		protos = []port.Protocol{p}
	} else {
		return fmt.Errorf("unknown protocol %q", *protoFlag)
	}
	reg := services.Default()
	if *rng != "" {
		r, ok := services.ParseRange(*rng)
		if !ok {
			return fmt.Errorf("bad range %q", *rng)
		}
		fmt.Fprintf(out, "%s ports %d-%d:\n", r.Name, r.Lo, r.Hi)
		reg.Range(r.Lo, r.Hi, func(s services.Service) bool {
			for _, p := range protos {
				if s.Proto == p {
					fmt.Fprintf(out, "%5d/%-4s %-16s %s\n", s.Port, s.Proto, s.Names[0], s.Description)
				}
			}
			return true
		})
		return nil
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("give a port, a name or -range")
	}
	found := false
	for _, arg := range fs.Args() {
		for _, p := range protos {
			var num uint16
			if n, err := strconv.ParseUint(arg, 10, 16); err == nil {
				num = uint16(n)
			} else if n, ok := reg.ByName(arg, p); ok {
				num = n
			} else {
				continue
			}
			names := reg.ByPort(p, num)
			if len(names) == 0 {
				continue
			}
			found = true
			fmt.Fprintf(out, "%5d/%-4s %-16s %s (%s range)", num, p, names[0], reg.Describe(p, num), services.RangeOf(num).Name)
			if len(names) > 1 {
				fmt.Fprintf(out, " aliases: %s", strings.Join(names[1:], " "))
			}
			if n, ok := services.Suspicious(p, num); ok {
				fmt.Fprintf(out, "\n      ! used by %s (%s): a hint, never a verdict", n.Name, n.Source)
			}
			fmt.Fprintln(out)
		}
	}
	if !found {
		return fmt.Errorf("no registration for %s", strings.Join(fs.Args(), " "))
	}
	return nil
}
