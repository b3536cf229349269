package agentkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// refusalBound is how long the tests allow for a refusal, from the
// request's start (its connection's dial included) to its answer. The
// promise is far shorter (DefaultAdmissionWait, 50ms, then the answer):
// the bound is generous so that a loaded machine under -race never makes
// the test flake. The real figures, measured by BenchmarkBurstRefusals,
// are in docs/performance.md.
const refusalBound = 3 * time.Second

// gated is a handler that holds every request until gate is closed, then
// answers "done".
type gated struct {
	gate   chan struct{}
	called atomic.Int64
	in     chan struct{} // a send per request that reached the handler
}

func newGated(n int) *gated {
	return &gated{gate: make(chan struct{}), in: make(chan struct{}, n)}
}

func (g *gated) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.called.Add(1)
	g.in <- struct{}{}
	<-g.gate
	io.WriteString(w, "done")
}

// reply is what a client got for one request.
type reply struct {
	status           int
	retryAfter, body string
	closed           bool // the server said it closes the connection
	took             time.Duration
	err              error
}

func do(c *http.Client, req *http.Request) reply {
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return reply{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b),
		closed: resp.Close, took: time.Since(start), err: err}
}

func getReply(c *http.Client, url string) reply {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return do(c, req)
}

// checkRefusal fails unless r is the in-flight cap's refusal, answered
// within refusalBound.
func checkRefusal(t *testing.T, r reply) {
	t.Helper()
	var body struct{ Error string }
	switch {
	case r.err != nil:
		t.Errorf("refusal: %v", r.err)
	case r.status != http.StatusServiceUnavailable || r.retryAfter != "1":
		t.Errorf("refusal: status %d Retry-After %q, want 503 and 1", r.status, r.retryAfter)
	case json.Unmarshal([]byte(r.body), &body) != nil || !strings.Contains(body.Error, "limit of requests in flight"):
		t.Errorf("refusal body %q", r.body)
	case r.took > refusalBound:
		t.Errorf("refusal took %s, more than %s", r.took, refusalBound)
	}
}

func TestABurstOfThreeTimesTheCapIsRefusedFastAndTheAdmittedComplete(t *testing.T) {
	t.Parallel()
	// GIVEN a metered server with a cap of 20, whose handler holds every
	// request until released
	const limit = 20
	out := &notifyingBuffer{wrote: make(chan struct{}, 1)}
	h := newGated(3 * limit)
	srv := &agentkit.Server{HTTP: &http.Server{Handler: h}, Logger: quiet, MaxInFlight: limit,
		Metrics: &agentkit.Metrics{Service: "web", Namespace: "Test", Output: out, Interval: 50 * time.Millisecond}}
	addr, stop := serveInProcess(t, srv)

	// WHEN 60 requests arrive at once, each on a connection of its own
	client := newClient(t)
	replies := make(chan reply, 3*limit)
	var wg sync.WaitGroup
	for range 3 * limit {
		wg.Go(func() { replies <- getReply(client, "http://"+addr+"/run") })
	}

	// THEN the 40 beyond the cap are answered 503 with Retry-After, fast,
	// while the 20 admitted are still held
	var slowest time.Duration
	for range 2 * limit {
		r := <-replies
		checkRefusal(t, r)
		slowest = max(slowest, r.took)
	}
	t.Logf("slowest refusal of %d: %s", 2*limit, slowest)
	if got := h.called.Load(); got != limit {
		t.Errorf("the handler was called %d times, want the cap, %d", got, limit)
	}
	// AND the saturated task reports at least its cap in flight, for the
	// scaling to see
	for maxOf(emfLines(t, out.String()), agentkit.MetricRequestsInFlight) < limit {
		<-out.wrote
	}

	// AND once released, every admitted request completes, and nothing
	// else failed
	close(h.gate)
	wg.Wait()
	close(replies)
	for r := range replies {
		if r.err != nil || r.status != http.StatusOK || r.body != "done" {
			t.Errorf("admitted request: %d %q %v", r.status, r.body, r.err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// AND the refusals are counted apart from the handlers' answers
	docs := emfLines(t, out.String())
	checkLineShapes(t, docs)
	for _, c := range []struct {
		metric string
		want   float64
	}{
		{agentkit.MetricRequestsRefused, 2 * limit},
		{agentkit.MetricRequests, limit},
		{agentkit.MetricServerErrors, 0},
		{agentkit.MetricRequestsTooLarge, 0},
	} {
		if got, _ := total(docs, c.metric, ""); got != c.want {
			t.Errorf("%s: got %v, want %v", c.metric, got, c.want)
		}
	}
}

func TestASaturatedServerAnswersHealthAndDrains(t *testing.T) {
	t.Parallel()
	// GIVEN a server with a cap of 4, every slot held, and clients
	// hammering it beyond the cap
	const limit = 4
	h := newGated(limit)
	srv := &agentkit.Server{HTTP: &http.Server{Handler: h}, Logger: quiet, MaxInFlight: limit}
	addr, stop := serveInProcess(t, srv)
	client := newClient(t)
	admitted := make(chan reply, limit)
	for range limit {
		go func() { admitted <- getReply(client, "http://"+addr+"/run") }()
	}
	for range limit {
		<-h.in
	}
	hammer, hammered := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(hammered)
		for {
			select {
			case <-hammer:
				return
			default:
			}
			checkRefusal(t, getReply(client, "http://"+addr+"/run"))
		}
	}()

	// WHEN the load balancer checks its health
	// THEN it is healthy, at once, every time
	for range 20 {
		r := getReply(client, "http://"+addr+agentkit.HealthPath)
		if r.err != nil || r.status != http.StatusOK || r.took > refusalBound {
			t.Fatalf("health while saturated: %d %q %v after %s", r.status, r.body, r.err, r.took)
		}
	}
	close(hammer)
	<-hammered

	// WHEN the drain begins while the slots are still held, and the
	// handlers are then released
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	<-srv.Draining()
	close(h.gate)

	// THEN every admitted request completes and the drain ends cleanly
	for range limit {
		if r := <-admitted; r.err != nil || r.status != http.StatusOK || r.body != "done" {
			t.Errorf("admitted request: %d %q %v", r.status, r.body, r.err)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestTheCapComesFromTheEnvironmentAndAFieldOverridesIt(t *testing.T) {
	// Not parallel: it sets the environment.
	t.Setenv(agentkit.EnvMaxInFlight, "1")
	for _, c := range []struct {
		name       string
		srv        *agentkit.Server
		wantSecond int
	}{
		{"AGENTKIT_MAX_IN_FLIGHT 1", &agentkit.Server{}, http.StatusServiceUnavailable},
		{"AGENTKIT_MAX_IN_FLIGHT 1, no wait", &agentkit.Server{AdmissionWait: -1}, http.StatusServiceUnavailable},
		{"MaxInFlight 2 over the environment", &agentkit.Server{MaxInFlight: 2}, http.StatusOK},
		{"MaxInFlight negative: no cap", &agentkit.Server{MaxInFlight: -1}, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a server whose handler holds its requests
			h := newGated(2)
			c.srv.HTTP, c.srv.Logger = &http.Server{Handler: h}, quiet
			addr, stop := serveInProcess(t, c.srv)
			client := newClient(t)

			// WHEN a request is held and a second one comes
			first := make(chan reply, 1)
			go func() { first <- getReply(client, "http://"+addr+"/") }()
			<-h.in
			second := make(chan reply, 1)
			go func() { second <- getReply(client, "http://"+addr+"/") }()

			// THEN the second is refused when the cap is 1, and served otherwise
			if c.wantSecond == http.StatusOK {
				<-h.in
			} else {
				checkRefusal(t, <-second)
			}
			close(h.gate)
			if r := <-first; r.status != http.StatusOK {
				t.Errorf("first: %d %v", r.status, r.err)
			}
			if c.wantSecond == http.StatusOK {
				if r := <-second; r.status != http.StatusOK {
					t.Errorf("second: %d %v", r.status, r.err)
				}
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestARefusalReadsNoBodyAndClosesOnlyAConnectionWithOne(t *testing.T) {
	t.Parallel()
	// GIVEN a server with a cap of 1, its slot held
	h := newGated(1)
	srv := &agentkit.Server{HTTP: &http.Server{Handler: h}, Logger: quiet, MaxInFlight: 1, AdmissionWait: -1}
	addr, stop := serveInProcess(t, srv)
	held := make(chan reply, 1)
	go func() { held <- getReply(newClient(t), "http://"+addr+"/") }()
	<-h.in

	// WHEN a POST whose body never ends, and a GET, are refused
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/run", unknownLength{endless{}})
	post := do(newClient(t), req)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	get := getReply(&http.Client{Transport: tr}, "http://"+addr+"/run")

	// THEN the POST is answered at once, its body unread, and its
	// connection closed; the GET keeps its connection
	checkRefusal(t, post)
	checkRefusal(t, get)
	if !post.closed || get.closed {
		t.Errorf("connection closed after the POST's refusal %v, after the GET's %v; want true, false", post.closed, get.closed)
	}
	close(h.gate)
	<-held
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// unknownLength hides a reader's type, so that the client sends its body
// chunked, without a Content-Length.
type unknownLength struct{ io.Reader }

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestABodyOverTheLimitIsAnswered413(t *testing.T) {
	t.Parallel()
	// GIVEN a metered server with a 1 KiB body limit, whose handler reads
	// the body and answers 400 when it cannot
	const limit = 1024
	out := &notifyingBuffer{wrote: make(chan struct{}, 1)}
	var read atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		read.Add(int64(len(b)))
		var tooLarge *http.MaxBytesError
		if err != nil {
			if !errors.As(err, &tooLarge) || tooLarge.Limit != limit {
				t.Errorf("the handler's read failed with %v, want *http.MaxBytesError{%d}", err, limit)
			}
			if _, err := w.Write([]byte("bad request")); !errors.As(err, &tooLarge) {
				t.Errorf("the handler's write after the 413 returned %v, want *http.MaxBytesError", err)
			}
			return
		}
		fmt.Fprintf(w, "%d", len(b))
	})
	srv := &agentkit.Server{HTTP: &http.Server{Handler: h}, Logger: quiet, MaxRequestBytes: limit,
		Metrics: &agentkit.Metrics{Service: "web", Namespace: "Test", Output: out, Interval: 50 * time.Millisecond}}
	addr, stop := serveInProcess(t, srv)
	client := newClient(t)
	post := func(body io.Reader) reply {
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/run", body)
		if err != nil {
			t.Fatal(err)
		}
		return do(client, req)
	}

	for _, c := range []struct {
		name       string
		body       func() io.Reader
		wantStatus int
		wantBody   string
	}{
		{"known length at the limit", func() io.Reader { return bytes.NewReader(make([]byte, limit)) }, 200, "1024"},
		{"chunked at the limit", func() io.Reader { return unknownLength{bytes.NewReader(make([]byte, limit))} }, 200, "1024"},
		{"known length over the limit", func() io.Reader { return bytes.NewReader(make([]byte, limit+1)) }, 413, ""},
		{"chunked over the limit", func() io.Reader { return unknownLength{bytes.NewReader(make([]byte, limit+1))} }, 413, ""},
		{"chunked and endless", func() io.Reader { return unknownLength{endless{}} }, 413, ""},
	} {
		// WHEN a body of that size comes
		r := post(c.body())

		// THEN a body within the limit is served, and a larger one answered
		// 413 at once with a JSON error, and its connection closed
		if r.err != nil || r.status != c.wantStatus {
			t.Errorf("%s: %d %q %v", c.name, r.status, r.body, r.err)
			continue
		}
		if c.wantStatus == 200 {
			if r.body != c.wantBody {
				t.Errorf("%s: the handler read %q bytes, want %s", c.name, r.body, c.wantBody)
			}
			continue
		}
		if !strings.Contains(r.body, `"error":"request body is larger than 1024 bytes"`) || !r.closed || r.took > refusalBound {
			t.Errorf("%s: body %q, connection closed %v, after %s", c.name, r.body, r.closed, r.took)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// AND the handler never saw the body of known length over the limit,
	// and no more than the limit of a chunked one
	if got := read.Load(); got != 4*limit {
		t.Errorf("the handler read %d bytes in all, want %d", got, 4*limit)
	}
	// AND the three 413s are counted
	docs := emfLines(t, out.String())
	if got, _ := total(docs, agentkit.MetricRequestsTooLarge, ""); got != 3 {
		t.Errorf("%s: got %v, want 3", agentkit.MetricRequestsTooLarge, got)
	}
}

func TestTheBodyLimitComesFromTheEnvironment(t *testing.T) {
	// Not parallel: it sets the environment.
	for _, c := range []struct {
		name, env  string
		srv        *agentkit.Server
		size       int
		wantStatus int
	}{
		{"default 1 MiB, at it", "", &agentkit.Server{}, agentkit.DefaultMaxRequestBytes, 200},
		{"default 1 MiB, over it", "", &agentkit.Server{}, agentkit.DefaultMaxRequestBytes + 1, 413},
		{"AGENTKIT_MAX_REQUEST_BYTES 10", "10", &agentkit.Server{}, 11, 413},
		{"MaxRequestBytes over the environment", "10", &agentkit.Server{MaxRequestBytes: 20}, 20, 200},
		{"MaxRequestBytes negative: no limit", "10", &agentkit.Server{MaxRequestBytes: -1}, 2 << 20, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the environment and the field
			if c.env != "" {
				t.Setenv(agentkit.EnvMaxRequestBytes, c.env)
			}
			c.srv.Logger = quiet
			c.srv.HTTP = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })}
			addr, stop := serveInProcess(t, c.srv)

			// WHEN a body of that size comes
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader(make([]byte, c.size)))
			r := do(newClient(t), req)

			// THEN it is served or refused
			if r.status != c.wantStatus {
				t.Errorf("status %d %v, want %d", r.status, r.err, c.wantStatus)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The in-memory Handler enforces the same cap as Serve: one for the Server.
func TestHandlerSharesTheServersCap(t *testing.T) {
	t.Parallel()
	// GIVEN two handlers of one Server with a cap of 1, and no wait
	srv := &agentkit.Server{Logger: quiet, MaxInFlight: 1, AdmissionWait: -1}
	h := newGated(1)
	a, b := srv.Handler(h), srv.Handler(h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// WHEN the first holds a request
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.ServeHTTP(httptest.NewRecorder(), httptestRequest(ctx))
	}()
	<-h.in

	// THEN the second refuses its own
	w := httptest.NewRecorder()
	b.ServeHTTP(w, httptestRequest(ctx))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Errorf("second handler: %d %v", w.Code, w.Header())
	}
	close(h.gate)
	<-done
}

func httptestRequest(ctx context.Context) *http.Request {
	return httptest.NewRequestWithContext(ctx, http.MethodGet, "http://agent/run", nil)
}

// A request whose context ends while it waits for a slot (its client left,
// or the drain's cancel point came) is answered 503 all the same, never
// with net/http's empty 200.
func TestARequestCancelledWhileWaitingIsAnswered503(t *testing.T) {
	t.Parallel()
	// GIVEN a Server with a cap of 1, its slot held, and a second's wait
	srv := &agentkit.Server{Logger: quiet, MaxInFlight: 1, AdmissionWait: time.Second}
	h := newGated(1)
	handler := srv.Handler(h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		handler.ServeHTTP(httptest.NewRecorder(), httptestRequest(context.Background()))
	}()
	<-h.in

	// WHEN a request comes whose context has ended
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(agentkit.ErrDrainTimeout)
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptestRequest(ctx))

	// THEN it is answered 503 with Retry-After, and its handler not called
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" || h.called.Load() != 1 {
		t.Errorf("got %d %v, the handler called %d times", w.Code, w.Header(), h.called.Load())
	}
	close(h.gate)
	<-done
}

// The cap comes before the caller check (doc.go, "Admission"): a saturated
// task answers 503 whatever the credential, and a caller the check refuses
// takes a slot only while the check runs.
func TestTheCapComesBeforeTheCallerCheck(t *testing.T) {
	t.Parallel()
	// GIVEN a Server with API keys and a cap of 1, and no wait
	set, err := agentkit.NewAPIKeySet(map[string]string{"alice": keyAlice})
	if err != nil {
		t.Fatal(err)
	}
	srv := &agentkit.Server{Logger: quiet, MaxInFlight: 1, AdmissionWait: -1, Auth: agentkit.APIKeyAuth(set)}
	h := newGated(1)
	handler := srv.Handler(h)

	// WHEN a request without a credential comes to the idle task
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, bearer(""))
	// THEN it is refused 401, and its slot is free again: alice's request
	// is admitted
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("no credential on an idle task: %d, want 401", rec.Code)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		handler.ServeHTTP(httptest.NewRecorder(), bearer("Bearer "+keyAlice))
	}()
	<-h.in

	// WHEN the task is saturated, THEN a request without a credential and
	// one with a good key are both answered 503 with Retry-After
	for _, auth := range []string{"", "Bearer " + keyAlice} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, bearer(auth))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
			t.Errorf("credential %q on a saturated task: %d %v, want 503 with Retry-After", auth, rec.Code, rec.Header())
		}
	}
	close(h.gate)
	<-done
}
