package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/internal/mototest"
	"github.com/agentcdk/agentcdk/internal/testparallel"
)

// binary is the worker built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "worker-agent")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "agent")
	code := build()
	if code == 0 {
		code = setParallel()
	}
	if code == 0 {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// testParallel is how many of this package's tests run at once unless
// -parallel says otherwise: they wait on worker processes and on moto, not
// on the CPU (package testparallel).
const testParallel = 8

func setParallel() int {
	if err := testparallel.Default(testParallel); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

func build() int {
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "the worker's tests build it with the go tool, which is not on PATH:", err)
		return 1
	}
	out, err := exec.Command(goTool, "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return 0
}

// worker is the agent binary running as a child process, with its JSON log.
type worker struct {
	t    *testing.T
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []map[string]any
	raw  strings.Builder
	done chan struct{}
	err  error
}

func startWorker(t *testing.T, env ...string) *worker {
	t.Helper()
	w := &worker{t: t, done: make(chan struct{})}
	w.cmd = exec.Command(binary)
	w.cmd.Env = append(os.Environ(), env...)
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.cmd.Stderr = w.cmd.Stdout
	if err := w.cmd.Start(); err != nil {
		t.Fatalf("start the worker: %v", err)
	}
	go w.read(stdout)
	t.Cleanup(func() {
		if w.exited(0) {
			return
		}
		_ = w.cmd.Process.Kill()
		<-w.done
	})
	return w
}

func (w *worker) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line map[string]any
		err := json.Unmarshal(sc.Bytes(), &line)
		w.mu.Lock()
		w.raw.WriteString(sc.Text() + "\n")
		if err == nil {
			w.logs = append(w.logs, line)
		}
		w.mu.Unlock()
	}
	w.err = w.cmd.Wait()
	close(w.done)
}

// exited reports whether the process ended within d.
func (w *worker) exited(d time.Duration) bool {
	select {
	case <-w.done:
		return true
	case <-time.After(d):
		return false
	}
}

// ids returns the message IDs of the log lines with msg, in order.
func (w *worker) ids(msg string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []string
	for _, l := range w.logs {
		if l["msg"] == msg {
			id, _ := l["message_id"].(string)
			ids = append(ids, id)
		}
	}
	return ids
}

func (w *worker) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.raw.String()
}

func TestWorkerRejectsBadEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no queue", []string{"AGENTKIT_QUEUE_URL="}, "sqsworker: QueueURL is empty and AGENTKIT_QUEUE_URL is not set; set either to the URL of the queue to consume"},
		{"bad latency", []string{"AGENTKIT_QUEUE_URL=q", "AGENT_SIMULATED_LATENCY=soon"}, `agent: AGENT_SIMULATED_LATENCY \"soon\" is not a duration of 0 or more (for example \"30s\")`},
		{"negative latency", []string{"AGENTKIT_QUEUE_URL=q", "AGENT_SIMULATED_LATENCY=-1s"}, `agent: AGENT_SIMULATED_LATENCY \"-1s\" is not a duration`},
		{"bad concurrency", []string{"AGENTKIT_QUEUE_URL=q", "AGENTKIT_WORKER_CONCURRENCY=0"}, `sqsworker: AGENTKIT_WORKER_CONCURRENCY \"0\" is not a job count; use a number from 1 to 1000`},
		{"bad stop timeout", []string{"AGENTKIT_QUEUE_URL=q", "AGENTKIT_STOP_TIMEOUT=1s"}, "agentkit: AGENTKIT_STOP_TIMEOUT 1s is out of range; use 2s to 2m0s"},
		{"bad job timeout", []string{"AGENTKIT_QUEUE_URL=q", "AGENTKIT_JOB_TIMEOUT=0s"}, "sqsworker: AGENTKIT_JOB_TIMEOUT 0s is out of range; use 1s to 11h59m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN the worker with one bad environment value
			w := startWorker(t, tt.env...)

			// WHEN it starts
			if !w.exited(10 * time.Second) {
				t.Fatal("the worker kept running")
			}

			// THEN it exits with status 2 and says what is wrong
			var exit *exec.ExitError
			if !errors.As(w.err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("exit = %v, want status 2", w.err)
			}
			if !strings.Contains(w.output(), tt.want) {
				t.Errorf("output = %s, want it to contain %s", w.output(), tt.want)
			}
		})
	}
}

// TestSIGTERMLosesNoJob stops a worker process with SIGTERM in the middle of
// a batch and checks, with a second worker started after it, that every job
// finished exactly once: before the drain, during it, or after its release.
func TestSIGTERMLosesNoJob(t *testing.T) {
	t.Parallel()
	endpoint := mototest.Start(t)
	client := sqs.NewFromConfig(mototest.Config(endpoint))
	tests := []struct {
		name         string
		latency      string
		stopTimeout  time.Duration // cancel point (agentkit.DrainDeadlines): 8s for 10s, 1.5s for 3s
		wantReleased bool
	}{
		{"jobs running at SIGTERM finish within the drain", "1s", 10 * time.Second, false},
		{"jobs that outlast the drain go to a second worker at once", "2s", 3 * time.Second, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// GIVEN 12 jobs, and worker A running 4 at once; a message that
			// is neither finished nor released stays hidden for 60s
			queue, dlq := newQueue(t, client, fmt.Sprintf("sigterm-%d", i))
			ids := send(t, client, queue, 12)
			env := append(mototest.Env(endpoint),
				"AGENTKIT_QUEUE_URL="+queue,
				"AGENTKIT_WORKER_CONCURRENCY=4",
				"AGENT_SIMULATED_LATENCY="+tt.latency,
				"AGENTKIT_STOP_TIMEOUT="+tt.stopTimeout.String(),
				"ECS_AGENT_URI=",
			)
			a := startWorker(t, env...)

			// WHEN A gets SIGTERM after its first batch, with its second
			// batch running
			if !eventually(30*time.Second, func() bool { return len(a.ids("job started")) >= 6 }) {
				t.Fatalf("worker A did not start its second batch:\n%s", a.output())
			}
			if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			signalled := time.Now()

			// THEN A exits 0 on its own, before ECS would send SIGKILL
			if !a.exited(tt.stopTimeout) {
				t.Fatalf("worker A still running %s after SIGTERM:\n%s", tt.stopTimeout, a.output())
			}
			if a.err != nil {
				t.Errorf("worker A exit = %v, want status 0:\n%s", a.err, a.output())
			}
			t.Logf("worker A exited %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))
			// A receive under way at the stop may bring messages that never
			// start: they are released too, and are not jobs cut off.
			started, finished := a.ids("job started"), a.ids("job finished")
			released := a.ids("sqsworker: message released for another worker")
			cut := intersect(started, released)
			if !slices.Equal(sorted(append(finished, cut...)), sorted(started)) {
				t.Errorf("worker A started %v, finished %v, released %v; want every started job finished or released",
					started, finished, released)
			}
			if tt.wantReleased && len(cut) == 0 {
				t.Errorf("worker A released no started job (started %d, finished %d); the test proves nothing", len(started), len(finished))
			}
			if !tt.wantReleased && len(cut) != 0 {
				t.Errorf("worker A released started jobs %v; want every job running at SIGTERM finished within the drain", cut)
			}

			// WHEN worker B starts after A is gone, running 8 at once so that
			// what A left takes one round of jobs
			b := startWorker(t, append(env, "AGENTKIT_WORKER_CONCURRENCY=8")...)
			all := func() bool { return len(a.ids("job finished"))+len(b.ids("job finished")) >= len(ids) }
			if !eventually(30*time.Second, all) {
				t.Fatalf("jobs finished: A %d, B %d of %d (released messages should not wait out the 60s visibility timeout)\nA:\n%s\nB:\n%s",
					len(a.ids("job finished")), len(b.ids("job finished")), len(ids), a.output(), b.output())
			}
			_ = b.cmd.Process.Signal(syscall.SIGTERM)
			if !b.exited(10 * time.Second) {
				t.Fatalf("worker B did not exit after SIGTERM:\n%s", b.output())
			}

			// THEN every job finished exactly once across A and B, and both
			// queues are empty
			count := map[string]int{}
			for _, id := range append(a.ids("job finished"), b.ids("job finished")...) {
				count[id]++
			}
			for _, id := range ids {
				if count[id] != 1 {
					t.Errorf("job %s finished %d times", id, count[id])
				}
			}
			if n := messages(t, client, queue) + messages(t, client, dlq); n != 0 {
				t.Errorf("the queues still hold %d messages", n)
			}
		})
	}
}

func TestAJobPastItsTimeLimitIsRetried(t *testing.T) {
	t.Parallel()
	// GIVEN a worker whose jobs take 3s, with a 1s job time limit from the
	// environment, as the worker construct sets it
	endpoint := mototest.Start(t)
	client := sqs.NewFromConfig(mototest.Config(endpoint))
	queue, _ := newQueue(t, client, "time-limit")
	id := send(t, client, queue, 1)[0]
	w := startWorker(t, append(mototest.Env(endpoint),
		"AGENTKIT_QUEUE_URL="+queue,
		"AGENT_SIMULATED_LATENCY=3s",
		"AGENTKIT_JOB_TIMEOUT=1s",
		"ECS_AGENT_URI=",
	)...)

	// WHEN it runs the job
	retried := eventually(30*time.Second, func() bool {
		return slices.Contains(w.ids("sqsworker: job ran past its time limit; it will be retried"), id)
	})
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	if !w.exited(10 * time.Second) {
		t.Fatalf("the worker did not exit after SIGTERM:\n%s", w.output())
	}

	// THEN the job is cut at its limit and left for a retry, not finished,
	// and the worker still stops cleanly
	if !retried || len(w.ids("job finished")) != 0 || w.err != nil {
		t.Errorf("retried at the limit: %t, finished %v, exit %v; want retried, none finished, status 0:\n%s",
			retried, w.ids("job finished"), w.err, w.output())
	}
}

func intersect(a, b []string) []string {
	var both []string
	for _, x := range a {
		if slices.Contains(b, x) {
			both = append(both, x)
		}
	}
	return both
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func newQueue(t *testing.T, client *sqs.Client, name string) (queue, dlq string) {
	t.Helper()
	queue, dlq, err := mototest.CreateQueues(context.Background(), client, name, 5, 60)
	if err != nil {
		t.Fatal(err)
	}
	return queue, dlq
}

func send(t *testing.T, client *sqs.Client, queue string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		out, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{
			QueueUrl: aws.String(queue), MessageBody: aws.String(`{"job":` + strconv.Itoa(i) + `}`),
		})
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		ids = append(ids, aws.ToString(out.MessageId))
	}
	return ids
}

func messages(t *testing.T, client *sqs.Client, queue string) int {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatalf("queue attributes: %v", err)
	}
	n := 0
	for _, v := range out.Attributes {
		i, _ := strconv.Atoi(v)
		n += i
	}
	return n
}

func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
