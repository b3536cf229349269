package main_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/internal/leakcheck"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
	"github.com/agentcdk/agentcdk/internal/testparallel"
)

// These tests build the agent with `go build` and run it as a real process on
// 127.0.0.1, as ECS would run it (minus the container).

var agentBin string

// buildFlags gains -race when the tests run under -race (race_test.go).
var buildFlags []string

// testParallel is how many of this package's tests run at once unless
// -parallel says otherwise: they wait on agent processes, timers and
// loopback connections, not on the CPU (package testparallel).
const testParallel = 8

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agent-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	agentBin = filepath.Join(dir, "agent")
	args := append(append([]string{"build"}, buildFlags...), "-o", agentBin, ".")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	if err := testparallel.Default(testParallel); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := leakcheck.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// agentProc is a running agent and its log.
type agentProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string // http://127.0.0.1:port
	done chan struct{}
	exit int

	mu   sync.Mutex
	logs []string // stderr lines
	more chan struct{}

	stdout lockedBuffer // the EMF metrics, when on
}

// lockedBuffer collects output written by one goroutine and read by others.
type lockedBuffer = syncbuf.Buffer

// startAgent runs the agent binary with args and env on a free port.
func startAgent(t *testing.T, env []string, args ...string) *agentProc {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(agentBin, args...)
	cmd.Env = append(os.Environ(), "AGENT_HOST=127.0.0.1", "PORT="+port, "GORACE=atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, env...)
	p := &agentProc{t: t, cmd: cmd, base: "http://127.0.0.1:" + port, done: make(chan struct{}), more: make(chan struct{}, 1)}
	cmd.Stdout = &p.stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stderr)
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", strings.Join(p.allLogs(), "\n"))
		}
	})
	return p
}

func (p *agentProc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p.mu.Lock()
		p.logs = append(p.logs, sc.Text())
		p.mu.Unlock()
		select {
		case p.more <- struct{}{}:
		default:
		}
	}
	var ee *exec.ExitError
	if err := p.cmd.Wait(); errors.As(err, &ee) {
		p.exit = ee.ExitCode()
	} else if err != nil {
		p.exit = -1
	}
	close(p.done)
}

func (p *agentProc) allLogs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logs...)
}

// waitLog waits for the n-th log line (counting from 1) whose "msg" is msg.
func (p *agentProc) waitLog(msg string, n int) {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		seen := 0
		for _, l := range p.allLogs() {
			var rec struct{ Msg string }
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == msg {
				seen++
			}
		}
		if seen >= n {
			return
		}
		select {
		case <-p.more:
		case <-p.done:
			p.t.Fatalf("agent exited (code %d) before logging %q", p.exit, msg)
		case <-timeout:
			p.t.Fatalf("agent did not log %q within 10s", msg)
		}
	}
}

func (p *agentProc) wait(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exit
	case <-time.After(within):
		p.t.Fatalf("agent still running after %s", within)
		return 0
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// do sends a request and returns the status and body.
func do(t *testing.T, c *http.Client, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// post sends a JSON body and returns "status body", or the error; it is
// safe to call from any goroutine.
func post(c *http.Client, url, body string) string {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprint(resp.StatusCode, " ", string(b))
}

// ready starts an agent and waits until it answers /health.
func ready(t *testing.T, env ...string) *agentProc {
	t.Helper()
	p := startAgent(t, env)
	p.waitLog("agentkit: serving", 1)
	return p
}

func TestAgentAnswersRunsAndHealth(t *testing.T) {
	t.Parallel()
	// GIVEN a running agent
	p := ready(t)
	c := newClient(t)

	// WHEN /health and /run are asked
	hCode, hBody := do(t, c, "GET", p.base+"/health", "")
	rCode, rBody := do(t, c, "POST", p.base+"/run", `{"input": "plan my trip"}`)

	// THEN both answer 200 with their JSON
	if hCode != 200 || hBody != `{"status":"ok"}`+"\n" {
		t.Fatalf("health: %d %q", hCode, hBody)
	}
	if rCode != 200 || rBody != `{"output":"You said: plan my trip"}`+"\n" {
		t.Fatalf("run: %d %q", rCode, rBody)
	}
}

func TestAgentRejectsMalformedRequests(t *testing.T) {
	t.Parallel()
	p := ready(t)
	c := newClient(t)
	cases := []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"empty body", "POST", "/run", "", 400, `request body is empty; send {\"input\": \"...\"}`},
		{"truncated JSON", "POST", "/run", `{"input":`, 400, `request body is not {\"input\": \"...\"}: unexpected EOF`},
		{"wrong type", "POST", "/run", `{"input": 42}`, 400, `request body is not {\"input\": \"...\"}: json: cannot unmarshal number into Go struct field runRequest.input of type string`},
		{"unknown field", "POST", "/run", `{"input": "x", "temperature": 2}`, 400, `request body is not {\"input\": \"...\"}: json: unknown field \"temperature\"`},
		{"trailing data", "POST", "/run", `{"input": "x"} {"input": "y"}`, 400, `request body has data after the JSON object`},
		{"empty input", "POST", "/run", `{"input": ""}`, 400, `\"input\" is missing or empty; send {\"input\": \"...\"}`},
		{"null", "POST", "/run", `null`, 400, `\"input\" is missing or empty; send {\"input\": \"...\"}`},
		{"too large", "POST", "/run", `{"input": "` + strings.Repeat("a", 1<<20) + `"}`, 413, `request body is larger than 1048576 bytes`},
		{"bad simulated latency", "POST", "/run", `{"input": "x", "simulated_latency": "soon"}`, 400, `\"simulated_latency\" \"soon\" is not a Go duration of 0 or more (for example \"2s\")`},
		{"negative simulated latency", "POST", "/run/stream", `{"input": "x", "simulated_latency": "-1s"}`, 400, `\"simulated_latency\" \"-1s\" is not a Go duration of 0 or more (for example \"2s\")`},
		{"stream without input", "POST", "/run/stream", `{}`, 400, `\"input\" is missing or empty; send {\"input\": \"...\"}`},
		{"stream with bad body", "POST", "/run/stream", `[1]`, 400, `request body is not {\"input\": \"...\"}: json: cannot unmarshal array into Go value of type main.runRequest`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN a malformed request WHEN it is sent
			code, body := do(t, c, tc.method, p.base+tc.path, tc.body)

			// THEN the agent answers the status with a JSON error saying why
			if want := `{"error":"` + tc.want + `"}` + "\n"; code != tc.code || body != want {
				t.Fatalf("got %d %s\nwant %d %s", code, body, tc.code, want)
			}
		})
	}
}

// event is one server-sent event as received.
type event struct {
	name, data string
}

// readEvents reads a whole event stream; it also returns the number of
// heartbeats and the longest silence between two lines.
func readEvents(t *testing.T, body io.Reader) (events []event, heartbeats int, longest time.Duration) {
	t.Helper()
	events, heartbeats, longest, err := scanEvents(body)
	if err != nil {
		t.Fatalf("stream cut: %v (after %v)", err, events)
	}
	return events, heartbeats, longest
}

// scanEvents is readEvents for any goroutine: err is what cut the stream,
// nil when it ended cleanly.
func scanEvents(body io.Reader) (events []event, heartbeats int, longest time.Duration, err error) {
	sc := bufio.NewScanner(body)
	var cur event
	last := time.Now()
	for sc.Scan() {
		line := sc.Text()
		now := time.Now()
		if line != "" {
			longest = max(longest, now.Sub(last))
			last = now
		}
		switch {
		case line == "":
			if cur != (event{}) {
				events = append(events, cur)
			}
			cur = event{}
		case strings.HasPrefix(line, ":"):
			heartbeats++
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
	return events, heartbeats, longest, sc.Err()
}

func TestAgentStreamsTokens(t *testing.T) {
	t.Parallel()
	// GIVEN a running agent WHEN a run is streamed
	p := ready(t)
	resp, err := newClient(t).Post(p.base+"/run/stream", "application/json", strings.NewReader(`{"input":"hi there"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events, _, _ := readEvents(t, resp.Body)

	// THEN one token event per word arrives, then done with the output
	want := []event{
		{"token", `{"token":"You "}`}, {"token", `{"token":"said: "}`}, {"token", `{"token":"hi "}`}, {"token", `{"token":"there"}`},
		{"done", `{"output":"You said: hi there"}`},
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" || fmt.Sprint(events) != fmt.Sprint(want) {
		t.Fatalf("got %s %v\nwant %v", resp.Header.Get("Content-Type"), events, want)
	}
}

// A query string is kept in the load balancer's access logs and the
// firewall's logs for as long as they are, so the agent takes a prompt only
// in a request body.
func TestAgentTakesNoPromptInTheURL(t *testing.T) {
	t.Parallel()
	p := ready(t)
	c := newClient(t)
	for _, path := range []string{"/run?input=secret", "/run/stream?input=secret"} {
		// WHEN a run is asked for with its prompt in the query string
		code, _ := do(t, c, "GET", p.base+path, "")
		// THEN there is no such route
		if code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d, want 405", path, code)
		}
		// AND a POST with the prompt only in its URL is refused, without
		// the prompt echoed back
		if code, body := do(t, c, "POST", p.base+path, ""); code != http.StatusBadRequest || strings.Contains(body, "secret") {
			t.Errorf("POST %s with no body: %d %s", path, code, body)
		}
	}
}

func TestAgentStreamHeartbeatsInsideTheIdleTimeout(t *testing.T) {
	t.Parallel()
	// GIVEN an agent behind a 1s idle timeout whose runs take 2s
	p := ready(t, "AGENTKIT_IDLE_TIMEOUT=1s", "AGENT_SIMULATED_LATENCY=2s")

	// WHEN a one-word run is streamed (two tokens, 1s apart)
	resp, err := newClient(t).Post(p.base+"/run/stream", "application/json", strings.NewReader(`{"input":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events, heartbeats, longest := readEvents(t, resp.Body)

	// THEN heartbeats fill the silences, which never reach the idle timeout
	if heartbeats < 4 || longest >= time.Second || events[len(events)-1].name != "done" {
		t.Fatalf("%d heartbeats, longest silence %s, events %v", heartbeats, longest, events)
	}
}

func TestAgentFinishesTheRunInFlightAtSIGTERM(t *testing.T) {
	t.Parallel()
	// GIVEN an agent whose runs take 1s, with one run in flight and one
	// stream in flight
	p := ready(t, "AGENT_SIMULATED_LATENCY=1s")
	c := newClient(t)
	runDone := make(chan string, 1)
	go func() { runDone <- post(c, p.base+"/run", `{"input":"finish me"}`) }()
	resp, err := c.Post(p.base+"/run/stream", "application/json", strings.NewReader(`{"input":"stream me"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p.waitLog("run started", 2)

	// WHEN it receives SIGTERM
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	events, _, _ := readEvents(t, resp.Body)

	// THEN both complete, the stream having been told of the drain, and
	// the agent exits 0
	if got, want := <-runDone, `200 {"output":"You said: finish me"}`+"\n"; got != want {
		t.Fatalf("run: got %q, want %q", got, want)
	}
	var names []string
	drains := 0
	for _, e := range events {
		if e.name == "draining" {
			drains++
			continue
		}
		names = append(names, e.name)
	}
	if got := strings.Join(names, ","); got != "token,token,token,token,done" || drains != 1 {
		t.Fatalf("stream events %v", events)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

func TestAgentCutsARunThatOutlastsTheStopTimeout(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout and runs that take a minute, one in flight
	p := ready(t, "AGENTKIT_STOP_TIMEOUT=2s", "AGENT_SIMULATED_LATENCY=1m")
	runDone := make(chan string, 1)
	c := newClient(t)
	go func() { runDone <- post(c, p.base+"/run", `{"input":"too long"}`) }()
	p.waitLog("run started", 1)

	// WHEN it receives SIGTERM
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// THEN the client hears 503 "retry" and the agent exits 0 before the
	// stop timeout
	if got, want := <-runDone, `503 {"error":"agent is stopping; retry"}`+"\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if code := p.wait(5 * time.Second); code != 0 || time.Since(start) >= 2*time.Second {
		t.Fatalf("exit code %d after %s", code, time.Since(start))
	}
}

func TestAgentFailsAtStartOnMalformedEnvironment(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, env, want string
	}{
		{"PORT", "PORT=http", `agent: agentkit: PORT "http" is not a port; use a number from 1 to 65535`},
		{"stop timeout", "AGENTKIT_STOP_TIMEOUT=30", `agent: agentkit: AGENTKIT_STOP_TIMEOUT "30" is not a Go duration (for example "60s"): time: missing unit in duration "30"`},
		{"idle timeout", "AGENTKIT_IDLE_TIMEOUT=2h", `agent: agentkit: AGENTKIT_IDLE_TIMEOUT 2h0m0s is out of range; use 1s to 1h6m40s`},
		{"latency", "AGENT_SIMULATED_LATENCY=fast", `agent: AGENT_SIMULATED_LATENCY "fast" is not a Go duration (for example "2s"): time: invalid duration "fast"`},
		{"negative latency", "AGENT_SIMULATED_LATENCY=-1s", `agent: AGENT_SIMULATED_LATENCY -1s is negative; use 0 or more`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN a malformed variable WHEN the agent starts
			p := startAgent(t, []string{tc.env})
			code := p.wait(10 * time.Second)

			// THEN it exits 1 at once, saying which value is wrong
			if logs := p.allLogs(); code != 1 || len(logs) != 1 || logs[0] != tc.want {
				t.Fatalf("exit %d, stderr %q\nwant %q", code, logs, tc.want)
			}
		})
	}
}

func TestAgentUsage(t *testing.T) {
	t.Parallel()
	// GIVEN an unknown argument WHEN the agent starts
	p := startAgent(t, nil, "serve")

	// THEN it prints its usage and exits 2
	if code := p.wait(10 * time.Second); code != 2 || strings.Join(p.allLogs(), "\n") != "usage: agent [healthcheck]" {
		t.Fatalf("exit %d, stderr %q", code, p.allLogs())
	}
}

func TestHealthcheckProbe(t *testing.T) {
	t.Parallel()
	draining := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"draining"}`, http.StatusServiceUnavailable)
	}))
	defer draining.Close()
	hang := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer hung.Close()
	defer close(hang)
	agent := ready(t)

	cases := []struct {
		name   string
		port   string
		code   int
		stderr string
	}{
		{"200 from the agent", agent.base[strings.LastIndex(agent.base, ":")+1:], 0, ""},
		{"503", draining.URL[strings.LastIndex(draining.URL, ":")+1:], 1, `status 503: {"status":"draining"}`},
		{"refused", freePort(t), 1, "connect: connection refused"},
		{"timeout", hung.URL[strings.LastIndex(hung.URL, ":")+1:], 1, "context deadline exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN PORT pointing at a server answering as named
			// WHEN `agent healthcheck` runs
			start := time.Now()
			p := startAgent(t, []string{"PORT=" + tc.port}, "healthcheck")
			code := p.wait(10 * time.Second)

			// THEN it exits 0 on 200 and 1 otherwise, within the 3s probe timeout
			logs := strings.Join(p.allLogs(), "\n")
			if code != tc.code || !strings.Contains(logs, tc.stderr) || time.Since(start) > 5*time.Second {
				t.Fatalf("exit %d after %s, stderr %q; want %d and %q", code, time.Since(start), logs, tc.code, tc.stderr)
			}
		})
	}
}

func TestAgentAnswersARequestWhoseBodyIsStillArrivingAtTheCancelPoint(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout (cancel point 500ms) and a client trickling
	// its request body, one byte every 100ms
	p := ready(t, "AGENTKIT_STOP_TIMEOUT=2s")
	c, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"input":"` + strings.Repeat("slow ", 100) + `"}`
	fmt.Fprintf(c, "POST /run HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := range len(body) {
			<-tick.C
			if _, err := c.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()

	// WHEN the agent receives SIGTERM (before or after it has read the
	// headers: a request arriving during the drain is served too)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// THEN at the cancel point the client gets a clean 503 telling it to
	// retry, and the agent exits 0
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	if want := `{"error":"agent is stopping; retry"}` + "\n"; resp.StatusCode != 503 || string(got) != want {
		t.Fatalf("got %d %q, want 503 %q", resp.StatusCode, got, want)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}
