package sqsworker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// fakeAgent stands in for the ECS container agent's task scale-in protection
// endpoint, answering as the agent does: {"protection": {...}} on success,
// {"failure": {...}} with status 200 when ECS refuses, {"error": {...}} with
// an error status.
type fakeAgent struct {
	mu       sync.Mutex
	calls    []string // "on/10" or "off" per accepted call
	failures []string // planned answers before success: "error" or "failure"
	srv      *httptest.Server
}

func newFakeAgent(t *testing.T, failures ...string) *fakeAgent {
	a := &fakeAgent{failures: failures}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// uri is what ECS puts in ECS_AGENT_URI: the agent's address and a
// per-container path.
func (a *fakeAgent) uri() string { return a.srv.URL + "/api/0123456789abcdef-1234567890" }

func (a *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || r.URL.Path != "/api/0123456789abcdef-1234567890/task-protection/v1/state" ||
		r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		return
	}
	var req struct {
		ProtectionEnabled *bool
		ExpiresInMinutes  *int64
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields() // as the agent does
	if err := dec.Decode(&req); err != nil || req.ProtectionEnabled == nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"Code":"InvalidParameterException","Message":"UpdateTaskProtection: failed to decode request"}}`)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	const arn = "arn:aws:ecs:us-east-1:123456789012:task/agents/0123456789abcdef"
	if len(a.failures) > 0 {
		f := a.failures[0]
		a.failures = a.failures[1:]
		if f == "failure" {
			fmt.Fprintf(w, `{"failure":{"Arn":%q,"Detail":null,"Reason":"TASK_NOT_VALID"}}`, arn)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"requestID":"r-1","error":{"Arn":%q,"Code":"ThrottlingException","Message":"Rate exceeded"}}`, arn)
		return
	}
	call := "off"
	if *req.ProtectionEnabled {
		call = "on"
		if req.ExpiresInMinutes != nil {
			call += fmt.Sprintf("/%d", *req.ExpiresInMinutes)
		}
	}
	a.calls = append(a.calls, call)
	fmt.Fprintf(w, `{"protection":{"ExpirationDate":"2025-01-01T00:10:00Z","ProtectionEnabled":%t,"TaskArn":%q}}`,
		*req.ProtectionEnabled, arn)
}

func (a *fakeAgent) log() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func (a *fakeAgent) last() string {
	calls := a.log()
	if len(calls) == 0 {
		return ""
	}
	return calls[len(calls)-1]
}

// blockingJob returns a handler that signals when it starts and returns when
// release is closed.
func blockingJob(started chan<- struct{}, release <-chan struct{}) sqsworker.Handler {
	return func(context.Context, sqsworker.Message) error {
		started <- struct{}{}
		<-release
		return nil
	}
}

func TestProtectionIsOnWhileBusyAndOffWhenIdle(t *testing.T) {
	t.Parallel()
	// GIVEN a worker in an ECS task (a stand-in agent) with one job queued
	agent := newFakeAgent(t)
	q := &fakeQueue{}
	q.send("job")
	started, release := make(chan struct{}, 1), make(chan struct{})
	var logs logBuffer
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logs),
		Protection: sqsworker.TaskProtection{AgentURI: agent.uri()},
		Handler:    blockingJob(started, release)}

	// WHEN the job runs
	start(t, c)
	<-started

	// THEN the task is protected for the default 10 minutes
	if !eventually(5*time.Second, func() bool { return agent.last() == "on/10" }) {
		t.Fatalf("agent calls = %v while busy, want [on/10]; logs:\n%s", agent.log(), logs.String())
	}

	// WHEN the job ends and the worker is idle
	close(release)

	// THEN protection is released, once
	if !eventually(5*time.Second, func() bool { return agent.last() == "off" }) {
		t.Fatalf("agent calls = %v when idle, want protection off", agent.log())
	}
	if got := agent.log(); !slices.Equal(got, []string{"on/10", "off"}) {
		t.Errorf("agent calls = %v, want [on/10 off]", got)
	}
}

func TestProtectionRetriesRefusalsAndErrors(t *testing.T) {
	t.Parallel()
	// GIVEN an agent that answers an error, then an ECS refusal, then works
	agent := newFakeAgent(t, "error", "failure")
	q := &fakeQueue{}
	q.send("job")
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	var logs logBuffer
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logs),
		Protection: sqsworker.TaskProtection{AgentURI: agent.uri(), Expiry: 90 * time.Second},
		Handler:    blockingJob(started, release)}

	// WHEN a job runs
	start(t, c)
	<-started

	// THEN the worker logs both answers and keeps asking until protected,
	// for the expiry rounded up to whole minutes
	if !eventually(10*time.Second, func() bool { return agent.last() == "on/2" }) {
		t.Fatalf("agent calls = %v, want on/2 in the end; logs:\n%s", agent.log(), logs.String())
	}
	for _, want := range []string{"ThrottlingException: Rate exceeded", "ECS refused: TASK_NOT_VALID"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

func TestProtectionUsesECSAgentURI(t *testing.T) {
	// GIVEN ECS_AGENT_URI set, as ECS does in every task, and no AgentURI
	agent := newFakeAgent(t)
	t.Setenv("ECS_AGENT_URI", agent.uri())
	q := &fakeQueue{}
	q.send("job")
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logBuffer{}),
		Handler: blockingJob(started, release)}

	// WHEN a job runs
	start(t, c)
	<-started

	// THEN the worker protects the task through that endpoint
	if !eventually(5*time.Second, func() bool { return agent.last() == "on/10" }) {
		t.Errorf("agent calls = %v, want [on/10]", agent.log())
	}
}

func TestProtectionIsReleasedWhenTheWorkerStops(t *testing.T) {
	t.Parallel()
	// GIVEN a protected worker whose job is running
	agent := newFakeAgent(t)
	q := &fakeQueue{}
	q.send("job")
	started := make(chan struct{}, 1)
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, Logger: quietLogger(&logBuffer{}),
		StopTimeout: 2 * time.Second,
		Protection:  sqsworker.TaskProtection{AgentURI: agent.uri()},
		Handler: func(ctx context.Context, _ sqsworker.Message) error {
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}}
	stop := start(t, c)
	<-started
	if !eventually(5*time.Second, func() bool { return agent.last() == "on/10" }) {
		t.Fatalf("agent calls = %v, want on/10", agent.log())
	}

	// WHEN the worker stops with the job cut off at the drain deadline
	if err := stop(); err != nil {
		t.Fatalf("Run() = %v", err)
	}

	// THEN protection was released before Run returned
	if got := agent.log(); !slices.Equal(got, []string{"on/10", "off"}) {
		t.Errorf("agent calls = %v, want [on/10 off]", got)
	}
}
