package agentkit_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/faultproxy"
)

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	defer ok.Close()
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"draining"}`, http.StatusServiceUnavailable)
	}))
	defer draining.Close()
	redirect := httptest.NewServer(http.RedirectHandler(ok.URL, http.StatusFound))
	defer redirect.Close()
	hang := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer hung.Close()
	defer close(hang)
	refused := closedPort(t)

	cases := []struct {
		name string
		url  string
		want string // "" for success, else the start of the error
	}{
		{"200", ok.URL + "/health", ""},
		{"503", draining.URL + "/health", "agentkit: probe " + draining.URL + `/health: status 503: {"status":"draining"}`},
		{"redirect not followed", redirect.URL, "agentkit: probe " + redirect.URL + ": status 302"},
		{"refused", "http://" + refused + "/health", "agentkit: probe: Get \"http://" + refused + "/health\": dial tcp " + refused + ": connect: connection refused"},
		{"timeout", hung.URL + "/health", "agentkit: probe: Get \"" + hung.URL + "/health\": context deadline exceeded"},
		{"bad url", "http://[::1/health", `agentkit: probe http://[::1/health: parse "http://[::1/health": missing ']' in host`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a server answering as named, and a 200ms probe budget
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()

			// WHEN it is probed
			err := agentkit.Probe(ctx, c.url)

			// THEN only 200 passes; the error says why
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
				t.Fatalf("got  %v\nwant %s...", err, c.want)
			}
		})
	}
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestRunProbeExitCode(t *testing.T) {
	healthy := httptest.NewServer(&agentkit.Health{})
	defer healthy.Close()
	drainingHealth := &agentkit.Health{}
	drainingHealth.SetDraining()
	draining := httptest.NewServer(drainingHealth)
	defer draining.Close()

	cases := []struct {
		name   string
		port   string
		code   int
		stderr string
	}{
		{"200", port(healthy.URL), 0, ""},
		{"503", port(draining.URL), 1, `status 503: {"status":"draining"}`},
		{"refused", port("http://" + closedPort(t)), 1, "connection refused"},
		{"malformed PORT", "http", 1, `agentkit: PORT "http" is not a port; use a number from 1 to 65535`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN PORT pointing at a server answering as named
			// WHEN the probe mode runs as its own process
			p := startHelper(t, "probe", "PORT="+c.port)
			code := p.wait(10 * time.Second)

			// THEN it exits 0 on 200 and 1 otherwise, saying why on stderr
			if code != c.code || !strings.Contains(p.stderr.String(), c.stderr) {
				t.Fatalf("exit %d stderr %q, want %d and %q", code, p.stderr.String(), c.code, c.stderr)
			}
		})
	}
}

func port(url string) string {
	return url[strings.LastIndex(url, ":")+1:]
}

func TestRunProbeFindsAnAgentListeningOnIPv6LoopbackOnly(t *testing.T) {
	// GIVEN a healthy server that listens on ::1 only
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("this machine has no IPv6 loopback: %v; CI=true, so this test must not skip", err)
		}
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	}
	srv := &http.Server{Handler: &agentkit.Health{}}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	// WHEN the probe mode runs with its port
	p := startHelper(t, "probe", "PORT="+port(l.Addr().String()))

	// THEN it finds the agent on the IPv6 loopback and exits 0
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, p.stderr.String())
	}
}

func TestProbeUnderNetworkFaults(t *testing.T) {
	t.Parallel()
	healthy := httptest.NewServer(&agentkit.Health{})
	t.Cleanup(healthy.Close)
	cases := []struct {
		fault faultproxy.Fault
		want  string // "" for success, else part of the error
	}{
		{faultproxy.Fault{}, ""},
		{faultproxy.Fault{Kind: faultproxy.Delay, Delay: 50 * time.Millisecond}, ""},
		{faultproxy.Fault{Kind: faultproxy.Refuse}, "connection refused"},
		{faultproxy.Fault{Kind: faultproxy.Reset}, "connection reset by peer"},
		{faultproxy.Fault{Kind: faultproxy.Stall}, "context deadline exceeded"},
		{faultproxy.Fault{Kind: faultproxy.DropAnswers}, "context deadline exceeded"},
	}
	for _, c := range cases {
		t.Run(c.fault.Kind.String(), func(t *testing.T) {
			t.Parallel()
			// GIVEN a healthy server behind a network with this fault, and
			// a 1s probe budget
			proxy := faultproxy.Start(t, strings.TrimPrefix(healthy.URL, "http://"))
			proxy.Set(c.fault)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()

			// WHEN it is probed
			err := agentkit.Probe(ctx, proxy.URL()+agentkit.HealthPath)

			// THEN a working network passes, however slow, and every
			// fault fails the probe within its budget, saying why
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("got %v, want success", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}
