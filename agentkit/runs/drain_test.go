package runs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

func TestADrainEndsTheStreamWithoutEndAndLosesNoEvent(t *testing.T) {
	t.Parallel()
	// GIVEN a served API and a running run with two events
	f := newFixture()
	metrics := &syncbuf.Buffer{}
	srv := &agentkit.Server{StopTimeout: 10 * time.Second, IdleTimeout: time.Minute, Logger: quiet,
		Metrics: &agentkit.Metrics{Service: "test", Output: metrics, Interval: 20 * time.Millisecond}}
	api := &runs.API{Store: f.store, Server: srv, PollInterval: 20 * time.Millisecond, Logger: quiet,
		Start: func(context.Context, runs.Run) error { return nil }}
	srv.HTTP = &http.Server{Handler: asCaller(api)}
	base, stop, served := serve(t, srv)
	id := call(t, "POST", base+"/runs", "alice", `{}`).body["id"].(string)
	if _, err := f.store.Claim(context.Background(), id, "w1", time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 2; i++ {
		if err := f.store.Append(context.Background(), id, "w1", runs.Event{Seq: i, Data: "x", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}

	// WHEN a client follows the stream, and the task drains
	got := make(chan []sse, 1)
	go func() { got <- readEvents(t, base+"/runs/"+id+"/events", "alice", "", 0) }()
	waitFor(t, func() bool { return strings.Contains(metrics.String(), `"OpenStreams":1`) })
	stop()

	// THEN the stream ends with the two events and no "end" (the client
	// resumes on another task), and the server stops
	select {
	case evs := <-got:
		if len(evs) != 2 || evs[1].id != "2" {
			t.Fatalf("events %+v", evs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end at the drain")
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	// AND the metrics counted the run the API created
	if !strings.Contains(metrics.String(), `"RunsCreated":1`) {
		t.Fatalf("no RunsCreated in %s", metrics)
	}
}

// serve serves srv on a loopback port; stop begins its drain, and served
// brings what Serve returned.
func serve(t *testing.T, srv *agentkit.Server) (base string, stop context.CancelFunc, served <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	return "http://" + l.Addr().String(), stop, done
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunsAreCountedInTheMetrics(t *testing.T) {
	t.Parallel()
	// GIVEN a Server's metrics and three runs executed in its background:
	// one succeeds, one fails, one is cancelled while queued
	out := &syncbuf.Buffer{}
	srv := &agentkit.Server{StopTimeout: 10 * time.Second, Logger: quiet,
		Metrics: &agentkit.Metrics{Service: "test", Output: out, Interval: 20 * time.Millisecond}}
	s := &runs.MemoryStore{}
	e := executor(s, "web", func(_ context.Context, r runs.Run, _ runs.Emit) (json.RawMessage, error) {
		if string(r.Input) == `"fail"` {
			return nil, context.DeadlineExceeded
		}
		return json.RawMessage(`1`), nil
	})
	api := &runs.API{Store: s, Server: srv, Where: runs.OnWeb, Start: runs.Local(srv, e), Logger: quiet}
	srv.HTTP = &http.Server{Handler: asCaller(api)}
	base, stop, served := serve(t, srv)

	// WHEN they run
	call(t, "POST", base+"/runs", "alice", `"ok"`)
	call(t, "POST", base+"/runs", "alice", `"fail"`)
	r := queued(t, s, runs.OnWeb)
	call(t, "POST", base+"/runs/"+r.ID+"/cancel", "alice", "")
	waitFor(t, func() bool { return sum(out.String(), "RunsSucceeded") == 1 && sum(out.String(), "RunsFailed") == 1 })
	stop()
	if err := <-served; err != nil {
		t.Fatal(err)
	}

	// THEN the service's lines count them
	text := out.String()
	for name, want := range map[string]float64{"RunsCreated": 2, "RunsStarted": 2, "RunsSucceeded": 1, "RunsFailed": 1, "RunsCancelled": 1} {
		if got := sum(text, name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// sum adds metric name over the EMF lines in text.
func sum(text, name string) float64 {
	var total float64
	for line := range strings.SplitSeq(text, "\n") {
		var doc map[string]any
		if json.Unmarshal(bytes.TrimSpace([]byte(line)), &doc) != nil {
			continue
		}
		if v, ok := doc[name].(float64); ok {
			total += v
		}
	}
	return total
}

func TestAStreamEndsAtTheRequestDeadlineAndResumes(t *testing.T) {
	t.Parallel()
	// GIVEN a served API whose request deadline is one second, and a
	// running run with one event
	f := newFixture()
	srv := &agentkit.Server{StopTimeout: 10 * time.Second, IdleTimeout: time.Minute, RequestTimeout: time.Second, Logger: quiet}
	api := &runs.API{Store: f.store, Server: srv, PollInterval: 20 * time.Millisecond, Logger: quiet,
		Start: func(context.Context, runs.Run) error { return nil }}
	srv.HTTP = &http.Server{Handler: asCaller(api)}
	base, stop, _ := serve(t, srv)
	defer stop()
	id := call(t, "POST", base+"/runs", "alice", `{}`).body["id"].(string)
	if _, err := f.store.Claim(context.Background(), id, "w1", time.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Append(context.Background(), id, "w1", runs.Event{Seq: 1, Data: "x", At: time.Now()}); err != nil {
		t.Fatal(err)
	}

	// WHEN a client follows it past the deadline
	began := time.Now()
	first := readEvents(t, base+"/runs/"+id+"/events", "alice", "", 0)

	// THEN the stream ends at the deadline with the event and no "end"
	if len(first) != 1 || first[0].id != "1" || time.Since(began) < time.Second {
		t.Fatalf("first stream: %+v after %s", first, time.Since(began))
	}
	// AND once the run goes on and ends, a stream resumed from the last id
	// brings the rest, then "end"
	if err := f.store.Append(context.Background(), id, "w1", runs.Event{Seq: 2, Data: "y", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Finish(context.Background(), id, "w1", runs.Succeeded, json.RawMessage(`1`), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	rest := readEvents(t, base+"/runs/"+id+"/events", "alice", "1", 0)
	if len(rest) != 2 || rest[0].id != "2" || rest[1].event != "end" {
		t.Fatalf("resumed stream: %+v", rest)
	}
}
