package sqsworker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// slowReleases is a queue whose releases (visibility 0) take delay, or
// never end when delay is negative, unless their context ends first.
type slowReleases struct {
	*fakeQueue
	delay time.Duration
}

func (s *slowReleases) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	if in.Entries[0].VisibilityTimeout == 0 {
		var wait <-chan time.Time
		if s.delay >= 0 {
			wait = time.After(s.delay)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.fakeQueue.ChangeMessageVisibilityBatch(ctx, in, opts...)
}

// cutJob is a handler that signals its start and returns when its context
// is cancelled.
func cutJob(started chan<- struct{}) sqsworker.Handler {
	return func(ctx context.Context, _ sqsworker.Message) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
}

func TestRunReturnsOnlyOnceTheReleasesAreMade(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout (cancel point 500ms, close point 1s), two
	// jobs that run until cancelled, and releases that take 200ms
	q := &slowReleases{fakeQueue: &fakeQueue{}, delay: 200 * time.Millisecond}
	ids := []string{q.send("a"), q.send("b")}
	started := make(chan struct{}, 2)
	var logs logBuffer
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", Concurrency: 2, WaitTime: time.Second,
		StopTimeout: 2 * time.Second, Logger: quietLogger(&logs), Handler: cutJob(started)}
	stop := start(t, c)
	<-started
	<-started

	// WHEN the worker stops
	err := stop()

	// THEN by the time Run returns both messages are released, and
	// nothing was logged as lost
	_, vis, _ := q.state()
	if err != nil || !slices.Equal(sorted(vis), []string{ids[0] + "=0", ids[1] + "=0"}) {
		t.Fatalf("Run() = %v; visibility changes when it returned: %v\nlogs:\n%s", err, vis, logs.String())
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("errors logged:\n%s", logs.String())
	}
}

func TestAReleaseThatCannotBeMadeIsLoggedBeforeRunReturns(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout, a job that runs until cancelled, and an SQS
	// that never answers a release
	q := &slowReleases{fakeQueue: &fakeQueue{}, delay: -1}
	id := q.send("a")
	started := make(chan struct{}, 1)
	var logs logBuffer
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second,
		StopTimeout: 2 * time.Second, Logger: quietLogger(&logs), Handler: cutJob(started)}
	stop := start(t, c)
	<-started

	// WHEN the worker stops
	began := time.Now()
	err := stop()
	took := time.Since(began)
	logged := logs.String()

	// THEN Run gives up at the close point, within the stop timeout, and
	// has said, before returning, that the message waits out its
	// visibility timeout
	if err != nil || took >= 2*time.Second {
		t.Fatalf("Run() = %v after %s; want nil within the 2s stop timeout", err, took)
	}
	if !strings.Contains(logged, `"msg":"sqsworker: could not release the message; it returns after its visibility timeout","message_id":"`+id) {
		t.Errorf("the lost release was not logged before Run returned:\n%s", logged)
	}
}

// hangingAgent is an ECS agent endpoint that protects the task at once but
// never answers a request to end the protection.
func hangingAgent(t *testing.T) *httptest.Server {
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		var body strings.Builder
		buf := make([]byte, 256)
		n, _ := r.Body.Read(buf)
		body.Write(buf[:n])
		if strings.Contains(body.String(), `"ProtectionEnabled":false`) {
			<-r.Context().Done()
			return
		}
		w.Write([]byte(`{"protection":{"ProtectionEnabled":true,"ExpirationDate":"2030-01-01T00:00:00Z","TaskArn":"arn"}}`))
	}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		wg.Wait()
	})
	return srv
}

func TestProtectionOffCannotPushRunPastTheStopTimeout(t *testing.T) {
	t.Parallel()
	// GIVEN a protected worker with a 2s stop timeout, whose job runs until
	// cancelled, and an ECS agent that never answers "protection off"
	agent := hangingAgent(t)
	q := &fakeQueue{}
	q.send("job")
	started := make(chan struct{}, 1)
	var logs logBuffer
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", WaitTime: time.Second, StopTimeout: 2 * time.Second,
		Logger: quietLogger(&logs), Protection: sqsworker.TaskProtection{AgentURI: agent.URL},
		Handler: cutJob(started)}
	stop := start(t, c)
	<-started

	// WHEN the worker stops
	began := time.Now()
	err := stop()
	took := time.Since(began)

	// THEN Run returns by the close point, well before SIGKILL, having
	// released the job and logged that protection will expire on its own
	if err != nil || took >= 2*time.Second {
		t.Fatalf("Run() = %v after %s; want nil within the 2s stop timeout", err, took)
	}
	if _, vis, _ := q.state(); len(vis) != 1 || !strings.HasSuffix(vis[0], "=0") {
		t.Errorf("visibility changes = %v, want the release", vis)
	}
	if !strings.Contains(logs.String(), "could not release task scale-in protection at stop; it expires on its own") {
		t.Errorf("logs lack the protection warning:\n%s", logs.String())
	}
}

func TestSIGTERMDrainsAndASecondSignalReleasesAtOnce(t *testing.T) {
	// GIVEN a worker with a 30s stop timeout (cancel point 24s) running two
	// jobs that would take a minute, and a context that never ends
	q := &fakeQueue{}
	ids := []string{q.send("a"), q.send("b")}
	started := make(chan struct{}, 2)
	var logs logBuffer
	c := &sqsworker.Consumer{Client: q, QueueURL: "q", Concurrency: 2, WaitTime: time.Second,
		StopTimeout: 30 * time.Second, Logger: quietLogger(&logs), Handler: cutJob(started)}
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	<-started
	<-started

	// WHEN the process gets SIGTERM, then, once the drain has begun, SIGINT
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return strings.Contains(logs.String(), `"msg":"sqsworker: stopping"`) }) {
		t.Fatalf("SIGTERM did not start the drain:\n%s", logs.String())
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}

	// THEN Run releases both messages at once and says why, long before
	// the cancel point
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10s after the second signal")
	}
	if want := "sqsworker: second signal interrupt during the drain; stopped at once, releasing the messages of 2 running job(s)"; err == nil || err.Error() != want {
		t.Errorf("Run() = %v, want %q", err, want)
	}
	if _, vis, _ := q.state(); !slices.Equal(sorted(vis), []string{ids[0] + "=0", ids[1] + "=0"}) {
		t.Errorf("visibility changes = %v, want both released", vis)
	}
	if !strings.Contains(logs.String(), `"reason":"signal terminated"`) {
		t.Errorf("the drain's reason is not logged:\n%s", logs.String())
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
