package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"berth/conform"
)

// runConform replays packetdrill scripts against a berth host on a virtual
// clock and prints, per script, PASS or FAIL with the first line that did
// not hold (expected against actual), and every line skipped or emulated.
func runConform(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("conform", "conform [-v] [-trace] [-bind-any] [-q] [DIR|FILE.pkt ...]")
	verbose := fs.Bool("v", false, "list skipped and emulated lines for passing scripts too")
	trace := fs.Bool("trace", false, "print every event and every packet berth sent, with its virtual time")
	bindAny := fs.Bool("bind-any", false, "bind to the wildcard address instead of berth's (packetdrill binds the local address)")
	quiet := fs.Bool("q", false, "print only the summary line of each script")
	fs.SetOutput(out)
	if err := fs.Parse(args); err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{conform.SuiteDir()}
	}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("conform: %w (the scripts live in %s, or set %s)", err, conform.DefaultDir, conform.EnvDir)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		fsList, err := conform.ScriptFiles(p)
		if err != nil {
			return err
		}
		files = append(files, fsList...)
	}
	if len(files) == 0 {
		return fmt.Errorf("conform: no *.pkt scripts in %v", paths)
	}
	opt := conform.Options{BindAny: *bindAny}
	if *trace {
		opt.Trace = out
	}
	failed := 0
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := conform.RunFile(f, opt)
		switch {
		case *quiet:
			fmt.Fprintln(out, res.Summary())
		case res.Status == conform.Fail || *verbose:
			fmt.Fprint(out, res.String())
		default:
			fmt.Fprintln(out, res.Summary())
		}
		if res.Status == conform.Fail {
			failed++
		}
	}
	fmt.Fprintf(out, "%d scripts: %d passed, %d failed\n", len(files), len(files)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d scripts failed", failed, len(files))
	}
	return nil
}
