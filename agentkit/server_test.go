package agentkit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestServerRefusesBadConfigurationBeforeListening(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		srv  *agentkit.Server
		want string
	}{
		{"port not a number", map[string]string{"PORT": "eighty"}, &agentkit.Server{},
			`agentkit: PORT "eighty" is not a port; use a number from 1 to 65535`},
		{"port out of range", map[string]string{"PORT": "70000"}, &agentkit.Server{},
			`agentkit: PORT "70000" is not a port; use a number from 1 to 65535`},
		{"stop timeout not a duration", map[string]string{"AGENTKIT_STOP_TIMEOUT": "30"}, &agentkit.Server{},
			`agentkit: AGENTKIT_STOP_TIMEOUT "30" is not a Go duration (for example "60s"): time: missing unit in duration "30"`},
		{"stop timeout too short", map[string]string{"AGENTKIT_STOP_TIMEOUT": "1s"}, &agentkit.Server{},
			`agentkit: AGENTKIT_STOP_TIMEOUT 1s is out of range; use 2s to 2m0s`},
		{"stop timeout too long", map[string]string{"AGENTKIT_STOP_TIMEOUT": "3m"}, &agentkit.Server{},
			`agentkit: AGENTKIT_STOP_TIMEOUT 3m0s is out of range; use 2s to 2m0s`},
		{"idle timeout zero", map[string]string{"AGENTKIT_IDLE_TIMEOUT": "0s"}, &agentkit.Server{},
			`agentkit: AGENTKIT_IDLE_TIMEOUT 0s is out of range; use 1s to 1h6m40s`},
		{"StopTimeout field", nil, &agentkit.Server{StopTimeout: time.Second},
			`agentkit: Server.StopTimeout 1s is out of range; use 2s to 2m0s`},
		{"IdleTimeout field", nil, &agentkit.Server{IdleTimeout: 2 * time.Hour},
			`agentkit: Server.IdleTimeout 2h0m0s is out of range; use 1s to 1h6m40s`},
		{"CloseDelay past the cancel point", nil, &agentkit.Server{CloseDelay: 24 * time.Second},
			`agentkit: Server.CloseDelay 24s leaves no time to drain; use 0 up to less than 24s (the cancel point for a stop timeout of 30s)`},
		{"CloseDelay negative", nil, &agentkit.Server{CloseDelay: -time.Second},
			`agentkit: Server.CloseDelay -1s leaves no time to drain; use 0 up to less than 24s (the cancel point for a stop timeout of 30s)`},
		{"keep-alive shorter than the load balancer's", nil, &agentkit.Server{HTTP: &http.Server{IdleTimeout: 60 * time.Second}},
			`agentkit: http.Server.IdleTimeout 1m0s is not longer than the load balancer idle timeout 1m0s; the load balancer would answer 502 (leave it zero for 1m5s)`},
		{"cap not a number", map[string]string{"AGENTKIT_MAX_IN_FLIGHT": "twenty"}, &agentkit.Server{},
			`agentkit: AGENTKIT_MAX_IN_FLIGHT "twenty" is not a whole number from 0 to 100000`},
		{"cap negative", map[string]string{"AGENTKIT_MAX_IN_FLIGHT": "-1"}, &agentkit.Server{},
			`agentkit: AGENTKIT_MAX_IN_FLIGHT "-1" is not a whole number from 0 to 100000`},
		{"body limit zero", map[string]string{"AGENTKIT_MAX_REQUEST_BYTES": "0"}, &agentkit.Server{},
			`agentkit: AGENTKIT_MAX_REQUEST_BYTES "0" is not a whole number from 1 to 1073741824`},
		{"body limit above 1 GiB", map[string]string{"AGENTKIT_MAX_REQUEST_BYTES": "2000000000"}, &agentkit.Server{},
			`agentkit: AGENTKIT_MAX_REQUEST_BYTES "2000000000" is not a whole number from 1 to 1073741824`},
		{"MaxInFlight field", nil, &agentkit.Server{MaxInFlight: 100_001},
			`agentkit: Server.MaxInFlight 100001 is out of range; use 1 to 100000, or a negative number for no cap`},
		{"AdmissionWait field", nil, &agentkit.Server{AdmissionWait: 2 * time.Second},
			`agentkit: Server.AdmissionWait 2s is out of range; use up to 1s, or a negative duration for no wait`},
		{"MaxRequestBytes field", nil, &agentkit.Server{MaxRequestBytes: 1<<30 + 1},
			`agentkit: Server.MaxRequestBytes 1073741825 is out of range; use 1 to 1073741824, or a negative number for no limit`},
		{"invalid health", nil, &agentkit.Server{Health: &agentkit.Health{Checks: []agentkit.Check{{Name: "db"}}}},
			`agentkit: Health check "db" has no Run func`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a malformed environment or field
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			c.srv.Logger = quiet

			// WHEN the server starts
			err := c.srv.ListenAndServe(context.Background())

			// THEN it fails at once with a message naming the bad value
			if err == nil || err.Error() != c.want {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

// serveInProcess runs srv.Serve on 127.0.0.1 until the returned stop func is
// called, which returns Serve's error.
func serveInProcess(t *testing.T, srv *agentkit.Server) (addr string, stop func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	var stopped bool
	var serveErr error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			serveErr = <-done
		}
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return l.Addr().String(), stop
}

func TestServeFillsOnlyTheTimeoutsLeftZero(t *testing.T) {
	cases := []struct {
		name                   string
		given                  *http.Server
		wantHeader, wantIdle   time.Duration
		wantWrite, wantReadAll time.Duration
	}{
		{"zero", &http.Server{}, 10 * time.Second, 65 * time.Second, 0, time.Minute},
		{"caller's values", &http.Server{ReadHeaderTimeout: 2 * time.Second, IdleTimeout: 2 * time.Minute, WriteTimeout: time.Minute, ReadTimeout: time.Minute},
			2 * time.Second, 2 * time.Minute, time.Minute, time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN an http.Server with some timeouts set
			hs := c.given
			srv := &agentkit.Server{HTTP: hs, Logger: quiet}

			// WHEN the Server serves it and stops
			_, stop := serveInProcess(t, srv)
			if err := stop(); err != nil {
				t.Fatal(err)
			}

			// THEN the zero ones got agentkit's defaults and the others kept theirs
			if hs.ReadHeaderTimeout != c.wantHeader || hs.IdleTimeout != c.wantIdle || hs.WriteTimeout != c.wantWrite || hs.ReadTimeout != c.wantReadAll {
				t.Fatalf("ReadHeaderTimeout %s IdleTimeout %s WriteTimeout %s ReadTimeout %s",
					hs.ReadHeaderTimeout, hs.IdleTimeout, hs.WriteTimeout, hs.ReadTimeout)
			}
		})
	}
}

func TestServeCallsTheCallersHooks(t *testing.T) {
	// GIVEN an http.Server with its own BaseContext and ConnState
	type key struct{}
	states := make(chan http.ConnState, 10)
	hs := &http.Server{
		BaseContext: func(net.Listener) context.Context { return context.WithValue(context.Background(), key{}, "base") },
		ConnState:   func(_ net.Conn, s http.ConnState) { states <- s },
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.Context().Value(key{}).(string))
		}),
	}
	addr, stop := serveInProcess(t, &agentkit.Server{HTTP: hs, Logger: quiet})

	// WHEN a request arrives
	code, body := get(t, newClient(t), "http://"+addr+"/")

	// THEN the handler sees the caller's base context and the caller's
	// ConnState sees the connection
	if code != 200 || body != "base" {
		t.Fatalf("got %d %q", code, body)
	}
	if s := <-states; s != http.StateNew {
		t.Fatalf("first state %v", s)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeAnswersHealthBeforeTheHandler(t *testing.T) {
	// GIVEN a Server whose handler answers 418 to everything
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})}
	addr, stop := serveInProcess(t, &agentkit.Server{HTTP: hs, Logger: quiet})
	client := newClient(t)

	// WHEN /health and another path are requested
	healthCode, healthBody := get(t, client, "http://"+addr+"/health")
	otherCode, _ := get(t, client, "http://"+addr+"/other")

	// THEN /health is agentkit's and the rest is the handler's
	if healthCode != 200 || healthBody != `{"status":"ok"}`+"\n" || otherCode != http.StatusTeapot {
		t.Fatalf("health %d %q, other %d", healthCode, healthBody, otherCode)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeTwiceIsAnError(t *testing.T) {
	// GIVEN a Server that has served and stopped
	srv := &agentkit.Server{Logger: quiet}
	_, stop := serveInProcess(t, srv)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	// WHEN it serves again
	err = srv.Serve(context.Background(), l)

	// THEN it refuses, and closed the listener
	if want := "agentkit: Server.Serve called twice; a Server serves once"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("listener still open: %v", err)
	}
}

func TestGoRefusesJobsOnceDrainingAndWaitsForThoseRunning(t *testing.T) {
	// GIVEN a serving Server with one job running
	srv := &agentkit.Server{Logger: quiet}
	_, stop := serveInProcess(t, srv)
	release, finished := make(chan struct{}), make(chan struct{})
	if err := srv.Go(func(ctx context.Context) error {
		<-release
		close(finished)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// WHEN the drain begins (its context is cancelled)
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	<-srv.Draining()

	// THEN new jobs are refused with ErrDraining, and Serve returns only
	// after the running job finished
	if err := srv.Go(func(context.Context) error { return nil }); !errors.Is(err, agentkit.ErrDraining) {
		t.Fatalf("Go while draining: %v", err)
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Serve returned before the job finished")
	}
}

func TestHandlerTracksRequestsInMemory(t *testing.T) {
	// GIVEN a Server's handler, driven in memory
	var srv agentkit.Server
	h := srv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "agent")
	}))

	// WHEN the health path and another path are requested
	health, other := httptest.NewRecorder(), httptest.NewRecorder()
	h.ServeHTTP(health, httptest.NewRequest("GET", "/health", nil))
	h.ServeHTTP(other, httptest.NewRequest("GET", "/run", nil))

	// THEN each goes where it belongs
	if health.Code != 200 || health.Body.String() != `{"status":"ok"}`+"\n" || other.Body.String() != "agent" {
		t.Fatalf("health %d %q, other %q", health.Code, health.Body, other.Body)
	}
}

func TestPanicsInJobsAndHandlersAreLoggedAndTheServerGoesOn(t *testing.T) {
	// GIVEN a serving Server whose /bug handler panics
	var logs lockedBuffer
	mux := http.NewServeMux()
	mux.HandleFunc("/bug", func(http.ResponseWriter, *http.Request) { panic("handler bug") })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	srv := &agentkit.Server{HTTP: &http.Server{Handler: mux}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	addr, stop := serveInProcess(t, srv)
	client := newClient(t)

	// WHEN a job panics and a handler panics
	jobEnded := make(chan struct{})
	if err := srv.Go(func(context.Context) error { defer close(jobEnded); panic("job bug") }); err != nil {
		t.Fatal(err)
	}
	<-jobEnded
	_, bugErr := client.Get("http://" + addr + "/bug")
	code, body := get(t, client, "http://"+addr+"/ok")

	// THEN the process goes on serving, the panicking request's connection
	// was closed, both panics are logged with their stacks, and the drain
	// does not wait for the dead job
	if bugErr == nil || code != 200 || body != "ok" {
		t.Fatalf("/bug: %v; /ok: %d %q", bugErr, code, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("Serve() = %v", err)
	}
	l := logs.String()
	for _, want := range []string{`"msg":"agentkit: job panicked"`, `job bug`, `"level":"ERROR","msg":"http: panic serving 127.0.0.1:`, `handler bug`, `server_test.go`} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
}
