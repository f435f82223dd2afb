package sim_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"berth/sim"
)

// net/http, unchanged, on two simulated hosts: requests succeed, fail with
// timeouts while a partition lasts, and succeed again once it heals. The
// two-second client timeout and the partition's minute pass in virtual
// time, so the test takes milliseconds.
func TestHTTPAcrossPartition(t *testing.T) {
	sim.Run(t, func(t *testing.T, n *sim.Network) {
		web, laptop := n.Host("web"), n.Host("laptop")
		link := n.Link(web, laptop, sim.Delay(20*time.Millisecond, 5*time.Millisecond))

		ln, err := web.Listen("tcp", ":http")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello %s", r.URL.Path[1:])
		})}
		go srv.Serve(ln)
		defer srv.Close()

		tr := &http.Transport{DialContext: laptop.DialContext} // resolves "web"
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: 2 * time.Second}
		get := func(path string) (string, error) {
			resp, err := client.Get("http://web/" + path)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		}

		if body, err := get("before"); err != nil || body != "hello before" {
			t.Fatalf("before the partition: %q, %v", body, err)
		}

		link.Partition()
		start := time.Now()
		_, err = get("during") // on the kept-alive connection: no answer
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("during the partition: %v, want a timeout", err)
		}
		if waited := time.Since(start); waited != 2*time.Second {
			t.Fatalf("timed out after %v, want the client's 2s", waited)
		}
		// A new connection cannot even be made: its SYNs go unanswered.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if _, err := laptop.DialContext(ctx, "tcp", "web:http"); !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("dial during the partition: %v, want a timeout", err)
		}

		time.Sleep(time.Minute)
		link.Heal()
		if body, err := get("after"); err != nil || body != "hello after" {
			t.Fatalf("after the partition healed: %q, %v", body, err)
		}
		t.Logf("partition and heal over %v of virtual time; trace %s", n.Elapsed(), n.TraceHash()[:16])
	})
}
