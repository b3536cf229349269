package sqsworker_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// notifyHelperEnv makes this test binary, run again by the NotifyContext
// tests, the worker process they signal instead of running the tests.
const notifyHelperEnv = "SQSWORKER_NOTIFY_HELPER"

func init() {
	if os.Getenv(notifyHelperEnv) != "" {
		os.Exit(notifyRounds())
	}
}

// notifyRounds runs a Consumer HELPER_ROUNDS times in a row, each time as a
// Go main usually does, with a context from signal.NotifyContext passed to
// Run, on a queue of 4 messages. Each job prints "job started", runs until
// the process gets SIGTERM, and returns 20ms later (with HELPER_HOLD set,
// it never returns, ignoring its context). "stopping" is printed when the
// context ends, and each round ends with "returned: ERR deleted N". HELPER_LISTENERS other channels listen for
// SIGTERM, as other parts of a program may: os/signal delivers a signal to
// one listener after another, and they widen the gap between the copy that
// ends the context and the copy Run gets.
func notifyRounds() int {
	rounds, _ := strconv.Atoi(os.Getenv("HELPER_ROUNDS"))
	listeners, _ := strconv.Atoi(os.Getenv("HELPER_LISTENERS"))
	hold := os.Getenv("HELPER_HOLD") != ""
	for range listeners {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)
	}
	var outMu sync.Mutex
	say := func(args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Println(args...)
	}
	for range rounds {
		sigterm, stopping := make(chan os.Signal, 1), make(chan struct{})
		signal.Notify(sigterm, syscall.SIGTERM)
		go func() {
			<-sigterm
			close(stopping)
		}()
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		context.AfterFunc(ctx, func() { say("stopping") })
		q := &fakeQueue{}
		for range 4 {
			q.send("job")
		}
		c := &sqsworker.Consumer{Client: q, QueueURL: "q", Concurrency: 4, WaitTime: time.Second,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
			Handler: func(context.Context, sqsworker.Message) error {
				say("job started")
				if hold {
					select {}
				}
				<-stopping
				time.Sleep(20 * time.Millisecond)
				return nil
			}}
		err := c.Run(ctx)
		stop()
		signal.Stop(sigterm)
		deleted, _, _ := q.state()
		say("returned:", err, "deleted", len(deleted))
	}
	return 0
}

func TestOneSIGTERMDrainsNormallyWhenMainUsesNotifyContext(t *testing.T) {
	// GIVEN a worker process whose main passes Run a context from
	// signal.NotifyContext, running 8 rounds in a row, each with 4 jobs
	// running that finish during the drain (see notifyRounds; the other
	// listeners it holds make the SIGTERM reach the context first in most
	// rounds)
	const rounds = 16
	w := startNotifyHelper(t, rounds)
	for round := range rounds {
		for range 4 {
			w.waitLine("job started")
		}

		// WHEN one SIGTERM arrives
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}

		// THEN Run drains as for any first signal: the jobs finish, their
		// messages are deleted, and Run returns nil
		if line := w.waitLine("returned:"); line != "returned: <nil> deleted 4" {
			t.Fatalf("round %d of %d: Run %s", round, rounds, line)
		}
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("worker process: %v", err)
	}
}

func TestASecondSignalStillEndsTheDrainWhenMainUsesNotifyContext(t *testing.T) {
	// GIVEN a worker process whose main passes Run a context from
	// signal.NotifyContext, stopping after one SIGTERM, held up by 4 jobs
	// that ignore their context
	w := startNotifyHelper(t, 1, "HELPER_HOLD=1", "AGENTKIT_STOP_TIMEOUT=30s")
	for range 4 {
		w.waitLine("job started")
	}
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	w.waitLine("stopping")

	// WHEN a second signal arrives
	if err := w.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}

	// THEN Run stops at once (well before the 24s cancel point), releasing
	// the 4 messages
	line := w.waitLine("returned:")
	if want := "returned: sqsworker: second signal interrupt during the drain; stopped at once, releasing the messages of 4 running job(s) deleted 0"; line != want {
		t.Fatalf("got  %q\nwant %q", line, want)
	}
}

// notifyHelper is a worker process of notifyRounds and its output lines.
type notifyHelper struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
}

func startNotifyHelper(t *testing.T, rounds int, env ...string) *notifyHelper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under -race the helper would sleep 1s before exiting.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), notifyHelperEnv+"=1", fmt.Sprint("HELPER_ROUNDS=", rounds),
		"HELPER_LISTENERS=20000", "GORACE="+gorace)
	cmd.Env = append(cmd.Env, env...)
	var stderr logBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &notifyHelper{t: t, cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(w.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		for range w.lines {
		}
		cmd.Wait()
		if t.Failed() {
			t.Logf("worker stderr:\n%s", stderr.String())
		}
	})
	return w
}

// waitLine returns the next line that starts with prefix, skipping others;
// it fails the test after 20s or when the process's output ends.
func (w *notifyHelper) waitLine(prefix string) string {
	w.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				w.t.Fatalf("the worker process ended before printing %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			w.t.Fatalf("the worker process did not print %q within 20s", prefix)
		}
	}
}
