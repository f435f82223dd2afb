package berth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

func httpPair(t *testing.T, keepAlive bool) (*http.Client, string) {
	t.Helper()
	a, b := hosts(t)
	ln, err := b.Listen("tcp", ":http")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from %s", r.URL.Path, r.RemoteAddr)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	tr := &http.Transport{DialContext: a.DialContext, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, "http://198.18.0.2"
}

func TestHTTPOverBerth(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepalive=%v", keep), func(t *testing.T) {
			client, base := httpPair(t, keep)
			for i := range 1000 {
				resp, err := client.Get(fmt.Sprintf("%s/%d", base, i))
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || string(body[:len(fmt.Sprintf("hello /%d from 198.18.0.1:", i))]) != fmt.Sprintf("hello /%d from 198.18.0.1:", i) {
					t.Fatalf("request %d: %d %q %v", i, resp.StatusCode, body, err)
				}
			}
		})
	}
}

func TestTLSOverBerth(t *testing.T) {
	a, b := hosts(t)
	cert := selfSigned(t)
	ln, err := b.Listen("tcp", ":https")
	if err != nil {
		t.Fatal(err)
	}
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}})
	go func() {
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	defer tln.Close()
	raw, err := a.Dial("tcp", "198.18.0.2:443")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	c := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "berth.test"})
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := make([]byte, 100000)
	rand.Read(msg)
	go c.Write(msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(msg) {
		t.Fatal("TLS echo differs")
	}
	if c.ConnectionState().Version != tls.VersionTLS13 {
		t.Fatalf("version %x", c.ConnectionState().Version)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "berth.test"},
		DNSNames: []string{"berth.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestTCPErrorsAreGos(t *testing.T) {
	a, b := hosts(t)
	_, err := a.Dial("tcp", "198.18.0.2:1")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial closed port: %v", err)
	}
	ln, _ := b.Listen("tcp", ":2000")
	defer ln.Close()
	if _, err := b.Listen("tcp", "198.18.0.2:2000"); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listen: %v", err)
	}
	// TCP and UDP port spaces are independent.
	pc, err := b.ListenPacket("udp", ":2000")
	if err != nil {
		t.Fatalf("UDP 2000 beside TCP 2000: %v", err)
	}
	pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	// 198.18.0.9 does not exist: the SYN goes unanswered until the context ends.
	_, err = a.DialContext(ctx, "tcp", "198.18.0.9:80")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("dial timeout: %v", err)
	}
	_ = netip.Addr{}
}
