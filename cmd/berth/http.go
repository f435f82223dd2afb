package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"berth"
	"berth/internal/sstable"
)

// serveHTTP runs an HTTP server on the host's port 80 whose page is the
// host's live socket table.
func serveHTTP(h *berth.Host) (stop func(), err error) {
	ln, err := h.Listen("tcp", ":http")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var t bytes.Buffer
		sstable.WriteTable(&t, rows(h), sstable.Details())
		fmt.Fprintf(w, "<!doctype html><title>berth %s</title><h1>berth host %s</h1>\n", html.EscapeString(h.Name()), html.EscapeString(h.Name()))
		fmt.Fprintf(w, "<p>You are %s. Which local endpoint talks which protocol to which remote endpoint:</p>\n<pre>%s</pre>\n",
			html.EscapeString(r.RemoteAddr), html.EscapeString(t.String()))
	})
	mux.HandleFunc("/sockets.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		sstable.WriteJSON(w, rows(h))
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		// /bytes?n=N streams N bytes of a fixed pattern, for transfer tests.
		var n int64
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		w.Header().Set("Content-Length", fmt.Sprint(n))
		pattern := bytes.Repeat([]byte("berth-bytes\n"), 2731)
		for n > 0 {
			k := min(n, int64(len(pattern)))
			if _, err := w.Write(pattern[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// httpGet fetches url through h and writes the body to out.
func httpGet(ctx context.Context, h *berth.Host, rawURL string, out io.Writer) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return errors.New("berth get speaks plain http:// only")
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return h.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(out, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return nil
}

func runGet(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("get", "get -tun NAME [-addr 198.18.0.2/24] [-kernel-addr 198.18.0.1/24] [-timeout D] URL")
	var tf tunFlags
	tf.register(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("get needs one URL")
	}
	h, done, err := tf.attach("berth-get")
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return httpGet(ctx, h, fs.Arg(0), out)
}
