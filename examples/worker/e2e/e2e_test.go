package e2e_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

// The binaries, built once.
var webBin, workerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runs-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	webBin, workerBin = filepath.Join(dir, "web"), filepath.Join(dir, "worker")
	code := 0
	for bin, pkg := range map[string]string{webBin: "../../basic/agent", workerBin: "../agent"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			code = 1
		}
	}
	if code == 0 {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one of the binaries running, with its JSON log lines.
type proc struct {
	name string
	cmd  *exec.Cmd
	url  string // the web agent's

	mu   sync.Mutex
	logs []map[string]any
	raw  strings.Builder
	done chan struct{}
	code int
}

func start(t *testing.T, name, bin string, env []string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			var line map[string]any
			err := json.Unmarshal(sc.Bytes(), &line)
			p.mu.Lock()
			p.raw.WriteString(sc.Text() + "\n")
			if err == nil {
				p.logs = append(p.logs, line)
			}
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// lines returns the log lines with msg.
func (p *proc) lines(msg string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, l := range p.logs {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// waitFor polls cond, which reads the world outside the test (processes,
// the emulator), until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// until polls cond, which reads the world outside the test, until it holds
// or d passes; it reports whether it held.
func until(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// runsFlag is the number of runs the test submits: a few dozen in `go test
// ./...`, 200 in CI (.ci/run: -runs=200), where moto's cost per run, which
// grows with the table (each transaction copies the whole table to roll
// back), takes minutes.
var runsFlag = flag.Int("runs", 40, "how many runs the end-to-end test submits")

// leaseFlag is the runs' lease and the queue's visibility timeout: long
// enough for moto's slowest answers at the scale of -runs (a store call may
// take a third of it), and as long as a killed worker's runs wait.
var leaseFlag = flag.Duration("lease", 6*time.Second, "the runs' lease and the queue's visibility timeout")

// The test's scale: runs of three "token" events each, about 0.9 s long.
const (
	nKeyed      = 10 // posted twice with an Idempotency-Key
	nCancelled  = 5
	tokens      = 3 // "You said: hi" is three words
	followers   = 16
	submitters  = 8
	concurrency = "8"
)

var keys = map[string]string{"alice": "alice-key-0123456789abcdef", "bob": "bob-key-0123456789abcdef0"}

func TestRunsComeBackThroughKillsDrainsAndDroppedStreams(t *testing.T) {
	nRuns, lease := *runsFlag, *leaseFlag
	if lease < time.Second || lease%time.Second != 0 {
		t.Fatalf("-lease=%s: give whole seconds", lease)
	}
	if nRuns < nKeyed+nCancelled+10 {
		t.Fatalf("-runs=%d: give at least %d", nRuns, nKeyed+nCancelled+10)
	}
	endpoint := mototest.Start(t)
	ctx := context.Background()
	cfg := mototest.Config(endpoint)

	// GIVEN the runs table, the worker's queue and the API keys, as the
	// constructs make them
	table := "runs-e2e"
	if err := mototest.CreateRunsTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		t.Fatal(err)
	}
	sqsClient := sqs.NewFromConfig(cfg)
	queue, dlq, err := mototest.CreateQueues(ctx, sqsClient, "runs-e2e", 50, int(lease/time.Second))
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := json.Marshal(keys)
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("agents/e2e/api-keys"), SecretString: aws.String(string(secret))}); err != nil {
		t.Fatal(err)
	}
	common := append(mototest.Env(mototest.Serialize(t, endpoint)),
		agentkit.EnvRunsTable+"="+table, agentkit.EnvRunLease+"="+lease.String(), agentkit.EnvStopTimeout+"=10s")
	// AND two web tasks serving the run API, sending runs to the queue
	web := func(name string) *proc {
		port := freePort(t)
		p := start(t, name, webBin, append(common, "PORT="+port, "AGENT_HOST=127.0.0.1", "AGENT_QUEUE_URL="+queue,
			agentkit.EnvAuth+"="+agentkit.AuthAPIKeys, "AGENTKIT_API_KEYS_SECRET=agents/e2e/api-keys"))
		p.url = "http://127.0.0.1:" + port
		waitFor(t, 30*time.Second, name+" serving", func() bool {
			resp, err := http.Get(p.url + "/health")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil && resp.StatusCode == 200
		})
		return p
	}
	webA, webB := web("web A"), web("web B")
	// AND three workers of eight runs each, whose messages come back a
	// lease after their worker dies, as their runs' leases end (the
	// construct holds a run's lease within the queue's visibility timeout)
	worker := func(name string) *proc {
		return start(t, name, workerBin, append(common, "AGENTKIT_QUEUE_URL="+queue, "AGENTKIT_WORKER_CONCURRENCY="+concurrency,
			"AGENT_SIMULATED_LATENCY=900ms", "AGENT_VISIBILITY_TIMEOUT="+lease.String()))
	}
	workers := []*proc{worker("worker 1"), worker("worker 2"), worker("worker 3")}
	c := &client{t: t, webs: []*proc{webA, webB}}

	began := time.Now()
	// WHEN, while callers submit 200 runs (some of them twice with a key),
	// worker 1 is killed (SIGKILL: no drain) once it holds runs, then
	// worker 2 is stopped (SIGTERM) once it holds runs, a fourth worker
	// starts, and web A drains
	chaos := make(chan int, 1)
	go func() {
		defer close(chaos)
		holding := func(p *proc) int { return len(p.lines("run started")) - len(p.lines("run ended")) }
		if !until(60*time.Second, func() bool { return holding(workers[0]) >= 4 }) {
			t.Error("worker 1 never held 4 runs")
			return
		}
		_ = workers[0].cmd.Process.Kill()
		chaos <- holding(workers[0])
		if !until(60*time.Second, func() bool { return holding(workers[1]) >= 2 }) {
			t.Error("worker 2 never held 2 runs")
		}
		_ = workers[1].cmd.Process.Signal(syscall.SIGTERM)
		c.drain(webA)
	}()
	ids := make([]string, nRuns)
	owner := make([]string, nRuns)
	var submit sync.WaitGroup
	for g := range submitters {
		submit.Go(func() {
			for i := g; i < nRuns; i += submitters {
				ids[i], owner[i] = c.submit(i)
			}
		})
	}
	submit.Wait()
	killedHolding := <-chaos
	for range chaos {
	}
	workers = append(workers, worker("worker 4"))
	// AND clients follow every run's events, dropping their streams at
	// random and coming back with Last-Event-ID to any task
	results := make([]followed, nRuns)
	todo := make(chan int, nRuns)
	for i := range nRuns {
		todo <- i
	}
	close(todo)
	var wg sync.WaitGroup
	for range followers {
		wg.Go(func() {
			for i := range todo {
				results[i] = c.follow(ids[i], owner[i])
			}
		})
	}
	// AND the last five runs are cancelled
	for i := nRuns - nCancelled; i < nRuns; i++ {
		if code, body := c.do(nil, "POST", "/runs/"+ids[i]+"/cancel", owner[i], ""); code != 200 && code != 202 {
			t.Fatalf("cancel run %d: %d %v", i, code, body)
		}
	}

	// THEN every client's stream ends, and every run ended once
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(120 * time.Second):
		t.Fatal("the clients did not see every run end within 120s")
	}
	t.Logf("worker 1 was killed holding %d runs; the clients saw every run end %s after the first was submitted", killedHolding, time.Since(began).Round(time.Millisecond))
	ended := map[string][]map[string]any{}
	for _, w := range workers {
		for _, l := range w.lines("run ended") {
			id, _ := l["run"].(string)
			ended[id] = append(ended[id], l)
		}
	}
	takenOver, unlogged := 0, 0
	for i, id := range ids {
		f := results[i]
		if f.err != nil {
			t.Errorf("run %d (%s): %v", i, id, f.err)
			continue
		}
		code, run := c.do(webB, "GET", "/runs/"+id, owner[i], "")
		if code != 200 || run["status"] != f.status {
			t.Errorf("run %d: GET %d %v; its stream ended %q", i, code, run, f.status)
			continue
		}
		cancelled := i >= nRuns-nCancelled
		switch {
		case f.status == "succeeded":
			if len(f.seqs) != tokens || fmt.Sprint(run["result"]) != "map[output:You said: hi]" {
				t.Errorf("run %d succeeded with events %v and result %v", i, f.seqs, run["result"])
			}
		case cancelled && f.status == "cancelled":
		default:
			t.Errorf("run %d (%s) ended %q (%v)", i, id, f.status, run["error"])
		}
		for j, seq := range f.seqs {
			if seq != int64(j+1) {
				t.Errorf("run %d: the client saw events %v, want 1, 2, ... once each", i, f.seqs)
				break
			}
		}
		// The run's effect happened once: the store ended it once (the
		// GET above), and no two workers logged its end (Ended is called at
		// most once: not by a worker killed right after the end).
		if n := len(ended[id]); n > 1 {
			t.Errorf("run %d (%s, %s) was ended by workers %d times: %v", i, id, f.status, n, ended[id])
		} else if n == 0 && !(cancelled && f.status == "cancelled") {
			unlogged++
		}
		if a, _ := run["attempt"].(float64); a > 1 {
			takenOver++
		}
	}
	t.Logf("%d runs were taken over from a stopped worker; %d ended with no worker's line", takenOver, unlogged)
	if takenOver == 0 {
		t.Error("no run was taken over, though worker 1 was killed mid-run")
	}
	// AND a caller cannot read another's run
	if code, _ := c.do(webB, "GET", "/runs/"+ids[0], "bob", ""); code != 404 {
		t.Errorf("bob reading alice's run: %d, want 404", code)
	}
	// AND the stopped processes exited 0, and no message is left
	for _, p := range []*proc{webA, workers[1]} {
		select {
		case <-p.done:
			if p.code != 0 {
				t.Errorf("%s exited %d", p.name, p.code)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not exit", p.name)
		}
	}
	for _, q := range []string{queue, dlq} {
		waitFor(t, 30*time.Second, "the queues empty", func() bool {
			n, err := mototest.Messages(ctx, sqsClient, q)
			return err == nil && n == 0
		})
	}
}

// submit posts run i for its caller (alice or bob) to a task, twice with
// an Idempotency-Key for the first nKeyed; it returns the run's ID.
func (c *client) submit(i int) (id, caller string) {
	caller = []string{"alice", "bob"}[i%2]
	var hdr []string
	if i < nKeyed {
		hdr = []string{"Idempotency-Key", fmt.Sprint("key-", i)}
	}
	code, body := c.do(nil, "POST", "/runs", caller, `{"input":"hi"}`, hdr...)
	if code != 202 {
		c.t.Errorf("POST run %d: %d %v", i, code, body)
		return "", caller
	}
	id, _ = body["id"].(string)
	if i < nKeyed {
		code, again := c.do(nil, "POST", "/runs", caller, `{"input":"hi"}`, hdr...)
		if code != 200 || again["id"] != id {
			c.t.Errorf("repeat of run %d: %d %v, want 200 with %s", i, code, again, id)
		}
	}
	return id, caller
}

// client calls the web tasks as a caller would.
type client struct {
	t    *testing.T
	mu   sync.Mutex
	webs []*proc // the tasks the load balancer sends to
}

func (c *client) pick() *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.webs[rand.IntN(len(c.webs))]
}

// drain takes p out of the load balancer and stops it (SIGTERM).
func (c *client) drain(p *proc) {
	c.mu.Lock()
	c.webs = slicesDelete(c.webs, p)
	c.mu.Unlock()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Error(err)
	}
}

func slicesDelete(ps []*proc, p *proc) []*proc {
	var out []*proc
	for _, q := range ps {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}

// do sends one request to p, or, with p nil, to a task the load balancer
// picks: a task that is gone or draining (connection refused, or 503 before
// the handler) did not take the request, so it goes to another.
func (c *client) do(p *proc, method, path, caller, body string, header ...string) (int, map[string]any) {
	for range 50 {
		target := p
		if target == nil {
			target = c.pick()
		}
		req, err := http.NewRequest(method, target.url+path, strings.NewReader(body))
		if err != nil {
			c.t.Error(err)
			return 0, nil
		}
		req.Header.Set("Authorization", "Bearer "+keys[caller])
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil && p == nil {
			continue
		}
		if err != nil {
			c.t.Errorf("%s %s: %v", method, path, err)
			return 0, nil
		}
		var out map[string]any
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(b, &out)
		if resp.StatusCode == 503 && p == nil {
			continue
		}
		return resp.StatusCode, out
	}
	c.t.Errorf("%s %s: no task took it", method, path)
	return 0, nil
}

// followed is what a client saw of one run's events.
type followed struct {
	seqs   []int64
	status string
	err    error
}

// follow reads a run's events until "end", from a task picked at random
// each time, dropping a third of its streams after an event and resuming
// with Last-Event-ID, as a client on a bad network or behind a deploy does.
func (c *client) follow(id, caller string) followed {
	var f followed
	last := ""
	for attempt := 0; attempt < 200; attempt++ {
		end, err := c.stream(c.pick(), id, caller, &last, &f)
		if err != nil {
			f.err = err
			return f
		}
		if end != "" {
			f.status = end
			return f
		}
	}
	f.err = fmt.Errorf("no end after 200 streams; saw %v", f.seqs)
	return f
}

// stream reads one stream of the run's events; it returns the run's final
// status once "end" came, "" when the stream ended before (dropped by the
// client, or by the server's drain), or an error for a wrong answer.
func (c *client) stream(p *proc, id, caller string, last *string, f *followed) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/runs/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+keys[caller])
	if *last != "" {
		req.Header.Set("Last-Event-ID", *last)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", nil // the task is gone: another one
	}
	defer resp.Body.Close()
	if resp.StatusCode == 503 {
		return "", nil // draining
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("events from %s: %d %s", p.name, resp.StatusCode, b)
	}
	drop := rand.IntN(3) == 0
	var ev struct{ id, event, data string }
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		case line == "" && ev.event == "end":
			var end struct{ Status string }
			if err := json.Unmarshal([]byte(ev.data), &end); err != nil {
				return "", fmt.Errorf("end event %q: %v", ev.data, err)
			}
			return end.Status, nil
		case line == "" && ev.id != "":
			var seq int64
			if _, err := fmt.Sscan(ev.id, &seq); err != nil {
				return "", fmt.Errorf("event id %q", ev.id)
			}
			f.seqs = append(f.seqs, seq)
			*last = ev.id
			ev = struct{ id, event, data string }{}
			if drop {
				return "", nil
			}
		}
	}
	return "", nil
}
