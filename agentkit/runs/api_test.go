package runs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
)

// asCaller stands in for agentkit's caller check: the caller is the
// X-Caller header.
func asCaller(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := agentkit.ContextWithCaller(r.Context(), agentkit.Caller{Name: r.Header.Get("X-Caller"), Method: agentkit.AuthAPIKeys})
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

type apiFixture struct {
	store   runs.Store
	started chan runs.Run
	fail    error // Start's error
	mu      sync.Mutex
}

// serve starts an API over f's store whose Start records the runs.
func (f *apiFixture) serve(t *testing.T) *httptest.Server {
	t.Helper()
	api := &runs.API{
		Store: f.store,
		Start: func(_ context.Context, r runs.Run) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.fail != nil {
				return f.fail
			}
			f.started <- r
			return nil
		},
		Server:       &agentkit.Server{IdleTimeout: time.Minute},
		PollInterval: 20 * time.Millisecond,
		Logger:       quiet,
	}
	srv := httptest.NewServer(asCaller(api))
	t.Cleanup(srv.Close)
	return srv
}

func newFixture() *apiFixture {
	return &apiFixture{store: &runs.MemoryStore{}, started: make(chan runs.Run, 16)}
}

type answer struct {
	code   int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, method, url, caller, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Caller", caller)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func TestPostCreatesARunAndStartsIt(t *testing.T) {
	t.Parallel()
	// GIVEN the API
	f := newFixture()
	srv := f.serve(t)

	// WHEN alice posts an input
	a := call(t, "POST", srv.URL+"/runs", "alice", `{"input": "hello"}`)

	// THEN it answers 202 with the queued run and its URLs, and the run started
	id, _ := a.body["id"].(string)
	if a.code != 202 || !runs.ValidID(id) || a.body["status"] != "queued" || a.header.Get("Location") != "/runs/"+id {
		t.Fatalf("POST: %d %s %v", a.code, a.raw, a.header)
	}
	urls, _ := a.body["urls"].(map[string]any)
	if urls["self"] != "/runs/"+id || urls["events"] != "/runs/"+id+"/events" || urls["cancel"] != "/runs/"+id+"/cancel" {
		t.Fatalf("urls %v", urls)
	}
	if r := <-f.started; r.ID != id || r.Caller != "alice" || string(r.Input) != `{"input": "hello"}` {
		t.Fatalf("started %+v", r)
	}
	// AND alice reads it back; bob is told there is no such run
	if g := call(t, "GET", srv.URL+"/runs/"+id, "alice", ""); g.code != 200 || g.body["id"] != id || g.body["where"] != "worker" {
		t.Fatalf("GET: %d %s", g.code, g.raw)
	}
	for _, path := range []string{"/runs/" + id, "/runs/" + id + "/events"} {
		if g := call(t, "GET", srv.URL+path, "bob", ""); g.code != 404 {
			t.Fatalf("bob GET %s: %d %s", path, g.code, g.raw)
		}
	}
	if g := call(t, "POST", srv.URL+"/runs/"+id+"/cancel", "bob", ""); g.code != 404 {
		t.Fatalf("bob cancel: %d %s", g.code, g.raw)
	}
}

func TestIdempotencyKeyNamesOneRunPerCaller(t *testing.T) {
	t.Parallel()
	f := newFixture()
	srv := f.serve(t)
	// GIVEN a run alice created with a key
	first := call(t, "POST", srv.URL+"/runs", "alice", `{"input":"a"}`, "Idempotency-Key", "order-17")
	<-f.started

	// WHEN she posts again with the key (the body spaced otherwise), with
	// the key and another body, and bob posts with the same key
	again := call(t, "POST", srv.URL+"/runs", "alice", `{ "input": "a" }`, "Idempotency-Key", "order-17")
	other := call(t, "POST", srv.URL+"/runs", "alice", `{"input":"b"}`, "Idempotency-Key", "order-17")
	bobs := call(t, "POST", srv.URL+"/runs", "bob", `{"input":"a"}`, "Idempotency-Key", "order-17")

	// THEN the repeat answers 200 with the same run and starts it again
	// while it is queued, another body is 422, and bob's is a run of his own
	if first.code != 202 || again.code != 200 || again.body["id"] != first.body["id"] {
		t.Fatalf("first %d %s, again %d %s", first.code, first.raw, again.code, again.raw)
	}
	if r := <-f.started; r.ID != first.body["id"] {
		t.Fatalf("the repeat started %s", r.ID)
	}
	if other.code != 422 {
		t.Fatalf("another body: %d %s", other.code, other.raw)
	}
	if bobs.code != 202 || bobs.body["id"] == first.body["id"] {
		t.Fatalf("bob's: %d %s", bobs.code, bobs.raw)
	}
}

func TestPostRefusesBadRequests(t *testing.T) {
	t.Parallel()
	srv := newFixture().serve(t)
	for _, c := range []struct {
		name, body string
		header     []string
		code       int
	}{
		{"not JSON", `hello`, nil, 400},
		{"too large", `"` + strings.Repeat("x", runs.MaxInputBytes) + `"`, nil, 413},
		{"empty key", `{}`, []string{"Idempotency-Key", ""}, 400},
		{"long key", `{}`, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400},
		{"key with a control character", `{}`, []string{"Idempotency-Key", "a\tb"}, 400},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/runs", strings.NewReader(c.body))
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header[c.header[i]] = []string{c.header[i+1]}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.code)
		}
	}
	for _, path := range []string{"/runs/nope", "/runs/run_0189", "/runs/" + runs.NewID()} {
		if a := call(t, "GET", srv.URL+path, "alice", ""); a.code != 404 {
			t.Errorf("GET %s: %d", path, a.code)
		}
	}
	if a := call(t, "GET", srv.URL+"/runs/"+runs.NewID()+"/events", "alice", "", "Last-Event-ID", "x"); a.code != 400 {
		t.Errorf("bad Last-Event-ID: %d", a.code)
	}
	if a := call(t, "DELETE", srv.URL+"/runs", "alice", ""); a.code != 405 {
		t.Errorf("DELETE /runs: %d", a.code)
	}
}

func TestAStartThatFailsAnswers503(t *testing.T) {
	t.Parallel()
	// GIVEN a Start that fails (the queue is unreachable)
	f := newFixture()
	f.fail = errors.New("queue unreachable")
	srv := f.serve(t)

	// WHEN a run is posted without a key, and one with a key
	plain := call(t, "POST", srv.URL+"/runs", "alice", `1`)
	keyed := call(t, "POST", srv.URL+"/runs", "alice", `2`, "Idempotency-Key", "k")

	// THEN both are answered 503 with Retry-After; the keyed run stays
	// queued and a repeat once the queue is back starts it
	if plain.code != 503 || plain.header.Get("Retry-After") != "1" || keyed.code != 503 {
		t.Fatalf("answers %d %s / %d %s", plain.code, plain.raw, keyed.code, keyed.raw)
	}
	f.mu.Lock()
	f.fail = nil
	f.mu.Unlock()
	repeat := call(t, "POST", srv.URL+"/runs", "alice", `2`, "Idempotency-Key", "k")
	if repeat.code != 200 || repeat.body["status"] != "queued" {
		t.Fatalf("repeat %d %s", repeat.code, repeat.raw)
	}
	if r := <-f.started; r.ID != runs.IDFor("alice", "k") {
		t.Fatalf("started %s", r.ID)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	f := newFixture()
	srv := f.serve(t)
	queuedRun := call(t, "POST", srv.URL+"/runs", "alice", `1`).body["id"].(string)
	runningRun := call(t, "POST", srv.URL+"/runs", "alice", `2`).body["id"].(string)
	if _, err := f.store.Claim(context.Background(), runningRun, "w1", time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}

	// WHEN both are cancelled
	q := call(t, "POST", srv.URL+"/runs/"+queuedRun+"/cancel", "alice", "")
	r := call(t, "POST", srv.URL+"/runs/"+runningRun+"/cancel", "alice", "")

	// THEN the queued one is cancelled at once (200), the running one is
	// asked to stop (202)
	if q.code != 200 || q.body["status"] != "cancelled" || r.code != 202 || r.body["status"] != "running" || r.body["cancelRequested"] != true {
		t.Fatalf("cancel: %d %s / %d %s", q.code, q.raw, r.code, r.raw)
	}
}

func TestAWebRunWhoseTaskStoppedIsReadAsFailed(t *testing.T) {
	t.Parallel()
	// GIVEN a web run whose holder's lease ended (its task was killed)
	f := newFixture()
	srv := f.serve(t)
	s := f.store
	r := queued(t, s, runs.OnWeb)
	if _, err := s.Claim(context.Background(), r.ID, "dead task", time.Now().Add(-time.Hour), time.Minute); err != nil {
		t.Fatal(err)
	}

	// WHEN its caller reads it
	a := call(t, "GET", srv.URL+"/runs/"+r.ID, "alice", "")

	// THEN it is failed, saying why
	if a.code != 200 || a.body["status"] != "failed" || a.body["error"] != "the task running it stopped" {
		t.Fatalf("GET: %d %s", a.code, a.raw)
	}
}

// sse is one server-sent event as a client reads it.
type sse struct{ id, event, data string }

// readEvents reads a stream until it ends or n events have come.
func readEvents(t *testing.T, url, caller, lastID string, n int) []sse {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Caller", caller)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("events: %d %s", resp.StatusCode, b)
	}
	var out []sse
	var cur sse
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur != (sse{}) {
				out = append(out, cur)
				if len(out) == n {
					return out
				}
			}
			cur = sse{}
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
		}
	}
	return out
}

func TestAStreamResumesOnAnotherTaskFromLastEventID(t *testing.T) {
	t.Parallel()
	// GIVEN two API tasks over one store, and a run that emits ten events,
	// one each time the test lets it
	f := newFixture()
	a, b := f.serve(t), f.serve(t)
	id := call(t, "POST", a.URL+"/runs", "alice", `{}`).body["id"].(string)
	<-f.started
	next := make(chan struct{})
	e := executor(f.store, "w1", func(ctx context.Context, _ runs.Run, emit runs.Emit) (json.RawMessage, error) {
		for i := 1; i <= 10; i++ {
			select {
			case <-next:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if err := emit("step", fmt.Sprintf("event %d", i)); err != nil {
				return nil, err
			}
		}
		return json.RawMessage(`"done"`), nil
	})
	go func() { _ = e.Execute(context.Background(), id) }()
	for range 4 {
		next <- struct{}{}
	}

	// WHEN a client reads three events from task a and drops the stream,
	// the run goes on, and it reconnects to task b with the last id it saw
	first := readEvents(t, a.URL+"/runs/"+id+"/events", "alice", "", 3)
	go func() {
		for range 6 {
			next <- struct{}{}
		}
	}()
	rest := readEvents(t, b.URL+"/runs/"+id+"/events", "alice", first[len(first)-1].id, 0)

	// THEN it has seen every event once and in order, then "end"
	all := append(first, rest...)
	if len(all) != 11 {
		t.Fatalf("%d events: %+v", len(all), all)
	}
	for i, ev := range all[:10] {
		if ev.id != fmt.Sprint(i+1) || ev.event != "step" || ev.data != fmt.Sprintf("event %d", i+1) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if end := all[10]; end.id != "" || end.event != "end" || end.data != `{"status":"succeeded"}` {
		t.Fatalf("last: %+v", end)
	}
	// AND an ended run's stream replays at once from any id
	if again := readEvents(t, b.URL+"/runs/"+id+"/events", "alice", "8", 0); len(again) != 3 || again[0].id != "9" {
		t.Fatalf("replay from 8: %+v", again)
	}
}
