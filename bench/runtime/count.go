package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// counter is an HTTP reverse proxy in front of moto that counts the SQS
// requests through it by API (the X-Amz-Target header of the JSON
// protocol), so that a scenario knows what its worker would have cost.
type counter struct {
	ln     net.Listener
	srv    *http.Server
	tr     *http.Transport
	served chan struct{}

	mu    sync.Mutex
	byAPI map[string]int
}

// newCounter starts a counter on a free port of 127.0.0.1 that forwards to
// target, an http:// URL.
func newCounter(target string) (*counter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("counting proxy: target %q: %w", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("counting proxy: listen: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil               // loopback only, whatever HTTP_PROXY says
	tr.MaxIdleConnsPerHost = 100 // a worker's concurrent calls should not churn connections
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport: tr,
		// A worker that gives up on a call (a stalled receive) cancels the
		// forwarded request; that is expected, not worth a line each time.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	c := &counter{ln: ln, tr: tr, served: make(chan struct{}), byAPI: map[string]int{}}
	c.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.add(r.Header.Get("X-Amz-Target"))
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(c.served)
		_ = c.srv.Serve(ln) // ends with ErrServerClosed at Close
	}()
	return c, nil
}

func (c *counter) add(target string) {
	api := strings.TrimPrefix(target, "AmazonSQS.")
	if api == "" {
		api = "(no X-Amz-Target)"
	}
	c.mu.Lock()
	c.byAPI[api]++
	c.mu.Unlock()
}

// addr returns "127.0.0.1:PORT".
func (c *counter) addr() string { return c.ln.Addr().String() }

// counts returns the requests so far by API ("ReceiveMessage", ...).
func (c *counter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byAPI)
}

// close stops the proxy, closing its connections, and waits for it.
func (c *counter) close() error {
	err := c.srv.Close()
	<-c.served
	c.tr.CloseIdleConnections()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("counting proxy: close: %w", err)
	}
	return nil
}
