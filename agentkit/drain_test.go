package agentkit_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// These tests run a real server process (this test binary as a helper, see
// helper_test.go) on 127.0.0.1 and send it real signals.

func TestDrainLosesNoRequestWhoseConnectionWasAccepted(t *testing.T) {
	t.Parallel()
	// GIVEN a server process under load from 32 concurrent clients, each
	// request on a fresh connection and answered in 4 chunks 40ms apart,
	// the clients connecting again as soon as they have their answer
	p := startHelper(t, "serve")
	const clients, chunks = 32, 4
	type result struct {
		id        string
		connected bool // the client's connect succeeded: the kernel accepted it
		body      []byte
		err       error
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for c := range clients {
		wg.Go(func() {
			for n := 0; ; n++ {
				id := fmt.Sprintf("c%dr%d", c, n)
				r := result{id: id}
				var local string
				r.body, local, r.err = getOnFreshConn(p.url("/work?id=" + id + "&chunks=4&gap=40ms"))
				r.connected = local != ""
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if r.err != nil {
					return // refused: the listener is closed
				}
			}
		})
	}
	for range 3 * clients {
		p.waitLine("got ")
	}

	// WHEN it receives SIGTERM in the middle of the load, with new
	// connections still arriving
	p.signal(syscall.SIGTERM)
	code := p.wait(20 * time.Second)
	wg.Wait()

	// THEN it exits 0, every request whose connect succeeded got its whole
	// body, and the others were refused
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	inFlightAtDrain, afterDrain := 0, false
	started := map[string]bool{}
	for _, line := range p.allLines() {
		switch f := strings.Fields(line); {
		case f[0] == "draining":
			afterDrain = true
		case f[0] == "got":
			started[f[1]] = true
		case f[0] == "done" && afterDrain && started[f[1]]:
			inFlightAtDrain++
		}
	}
	if inFlightAtDrain == 0 {
		t.Fatal("no request was in flight when the drain began; the test proves nothing")
	}
	ok, refused := 0, 0
	for _, r := range results {
		switch {
		case r.err == nil:
			if want := wholeBody(r.id, chunks); !bytes.Equal(r.body, want) {
				t.Errorf("request %s: got %d bytes, want %d", r.id, len(r.body), len(want))
			}
			ok++
		case r.connected:
			t.Errorf("request %s, whose connect succeeded, failed: %v", r.id, r.err)
		case !isRefused(r.err):
			t.Errorf("request %s: connect failed with %v, want connection refused", r.id, r.err)
		default:
			refused++
		}
	}
	t.Logf("%d requests completed (%d in flight at SIGTERM), %d refused", ok, inFlightAtDrain, refused)
}

// getOnFreshConn sends GET url on a new connection and returns the body and
// the connection's local address.
func getOnFreshConn(url string) ([]byte, string, error) {
	var local string
	tr := &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				local = c.LocalAddr().String()
			}
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get(url)
	if err != nil {
		return nil, local, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return body, local, err
}

func TestRequestInFlightAtSIGTERMCompletesWithItsWholeBody(t *testing.T) {
	t.Parallel()
	// GIVEN a request whose answer comes in 8 chunks 100ms apart, and whose
	// first chunk has arrived
	p := startHelper(t, "serve")
	resp, err := newClient(t).Get(p.url("/work?id=big&chunks=8&gap=100ms"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}

	// WHEN the process receives SIGTERM
	p.signal(syscall.SIGTERM)
	p.waitLine("draining")
	rest, err := io.ReadAll(resp.Body)

	// THEN the response completes with its whole body and the process exits 0
	if err != nil {
		t.Fatalf("reading the rest of the body: %v", err)
	}
	if got, want := append(first, rest...), wholeBody("big", 8); !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if line := p.waitLine("serve returned:"); line != "serve returned: <nil>" {
		t.Fatalf("got %q", line)
	}
}

func TestHealthTurns503AtOnceThenNewConnectionsAreRefused(t *testing.T) {
	t.Parallel()
	// GIVEN a server with a 1s CloseDelay, healthy, with a request in flight
	p := startHelper(t, "serve", "HELPER_CLOSE_DELAY=1s")
	client := newClient(t)
	if code, body := get(t, client, p.url("/health")); code != 200 || body != `{"status":"ok"}`+"\n" {
		t.Fatalf("before SIGTERM: %d %q", code, body)
	}
	inflight := make(chan error, 1)
	go func() {
		_, _, err := getOnFreshConn(p.url("/work?id=long&chunks=6&gap=500ms"))
		inflight <- err
	}()
	p.waitLine("got long")

	// WHEN it receives SIGTERM
	p.signal(syscall.SIGTERM)

	// THEN health answers 503 "draining" (never 200 again) while the
	// listener is open, then new connections are refused while the process
	// still serves the request in flight
	var seen503 bool
	for !seen503 {
		resp, err := client.Get(p.url("/health"))
		if err != nil {
			t.Fatalf("health failed before it answered 503: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			continue // the signal is on its way
		case 503:
			if string(body) != `{"status":"draining"}`+"\n" {
				t.Fatalf("503 body %q", body)
			}
			seen503 = true
		default:
			t.Fatalf("health answered %d %q", resp.StatusCode, body)
		}
	}
	for {
		resp, err := client.Get(p.url("/health"))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 503 {
				t.Fatalf("health answered %d %q after 503", resp.StatusCode, body)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if !isRefused(err) {
			t.Fatalf("want connection refused, got %v", err)
		}
		break
	}
	if p.exited() {
		t.Fatal("the process exited; the refusal proves nothing about the listener")
	}
	if err := <-inflight; err != nil {
		t.Fatalf("request in flight: %v", err)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
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

func TestHandlerIgnoringItsContextStillExitsBeforeStopTimeout(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout and a handler that sleeps for an hour,
	// ignoring its context
	p := startHelper(t, "serve", "AGENTKIT_STOP_TIMEOUT=2s")
	go getOnFreshConn(p.url("/hang")) // fails when the drain closes it
	p.waitLine("hang")

	// WHEN the process receives SIGTERM
	start := time.Now()
	p.signal(syscall.SIGTERM)
	code := p.wait(5 * time.Second)
	elapsed := time.Since(start)

	// THEN it exits on its own before the stop timeout, reporting the
	// request it had to close
	if elapsed >= 2*time.Second {
		t.Fatalf("exited after %s, not before the 2s stop timeout", elapsed)
	}
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	line := p.waitLine("serve returned:")
	if want := "agentkit: drain did not finish within 1s (stop timeout 2s); closed 1 request(s), abandoned 0 job(s): agentkit: stop timeout near; work cancelled"; line != "serve returned: "+want {
		t.Fatalf("got %q\nwant %q", line, want)
	}
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	t.Parallel()
	// GIVEN a draining server (30s stop timeout) held up by a handler that
	// ignores its context
	p := startHelper(t, "serve", "AGENTKIT_STOP_TIMEOUT=30s")
	go getOnFreshConn(p.url("/hang"))
	p.waitLine("hang")
	p.signal(syscall.SIGTERM)
	p.waitLine("draining")

	// WHEN a second signal arrives
	p.signal(syscall.SIGINT)

	// THEN the process exits at once (well before the 24s cancel point)
	if code := p.wait(5 * time.Second); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if line := p.waitLine("serve returned:"); !strings.Contains(line, "second signal interrupt during the drain; stopped at once with 1 request(s)") {
		t.Fatalf("got %q", line)
	}
}

func TestJobStartedBeforeSIGTERMFinishes(t *testing.T) {
	t.Parallel()
	// GIVEN a background job that takes 500ms, running
	p := startHelper(t, "serve")
	if resp, err := newClient(t).Post(p.url("/job?d=500ms"), "", nil); err != nil || resp.StatusCode != 202 {
		t.Fatalf("start job: %v %v", resp, err)
	}
	p.waitLine("job started")

	// WHEN the process receives SIGTERM
	p.signal(syscall.SIGTERM)

	// THEN the drain waits for the job, which finishes, and exits 0
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	p.waitLine("job done")
	if line := p.waitLine("serve returned:"); line != "serve returned: <nil>" {
		t.Fatalf("got %q", line)
	}
}

func TestJobStillRunningSeesItsContextCancelledBeforeStopTimeout(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout and a job that would take a minute
	p := startHelper(t, "serve", "AGENTKIT_STOP_TIMEOUT=2s")
	if resp, err := newClient(t).Post(p.url("/job?d=1m"), "", nil); err != nil || resp.StatusCode != 202 {
		t.Fatalf("start job: %v %v", resp, err)
	}
	p.waitLine("job started")

	// WHEN the process receives SIGTERM
	p.signal(syscall.SIGTERM)

	// THEN the job sees its context cancelled with ErrDrainTimeout, returns,
	// and the process exits 0 before the stop timeout
	if code := p.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if line := p.waitLine("job cancelled:"); line != "job cancelled: agentkit: stop timeout near; work cancelled" {
		t.Fatalf("got %q", line)
	}
}

func TestNewJobIsRefusedOnceDrainingBegins(t *testing.T) {
	t.Parallel()
	// GIVEN a request in flight that starts a job once the drain begins
	p := startHelper(t, "serve")
	answer := make(chan string, 1)
	go func() {
		body, _, err := getOnFreshConn(p.url("/job-after-drain"))
		answer <- fmt.Sprint(string(body), err)
	}()
	p.waitLine("waiting for drain")

	// WHEN the process receives SIGTERM
	p.signal(syscall.SIGTERM)

	// THEN Go refuses the job with ErrDraining and the request completes
	if got, want := <-answer, "go after drain: agentkit: draining; no new jobs accepted<nil>"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

func TestStreamHeartbeatsArriveInsideTheIdleTimeout(t *testing.T) {
	t.Parallel()
	// GIVEN a load balancer idle timeout of 3s (heartbeat every 750ms) and a
	// stream that stays silent for 3.2s. The idle timeout is three times
	// the heartbeat's interval, and more than two seconds above it, so that
	// a busy machine's scheduling (the client's reads are timed too) cannot
	// pass for a missing heartbeat.
	p := startHelper(t, "serve", "AGENTKIT_IDLE_TIMEOUT=3s")
	resp, err := newClient(t).Get(p.url("/stream?d=3200ms"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}

	// WHEN the client reads the stream to its end
	var lines []string
	var maxGap time.Duration
	last := time.Now()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "" {
			continue
		}
		now := time.Now()
		maxGap = max(maxGap, now.Sub(last))
		last = now
		lines = append(lines, sc.Text())
	}

	// THEN bytes arrived at least every idle timeout, as heartbeats between
	// the two events
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	heartbeats := strings.Count(strings.Join(lines, "\n"), ": heartbeat")
	if lines[0] != "event: start" || lines[len(lines)-2] != "event: end" || heartbeats < 3 {
		t.Fatalf("stream %q", lines)
	}
	if maxGap >= 3*time.Second {
		t.Fatalf("%s without a byte, longer than the 3s idle timeout", maxGap)
	}
	t.Logf("%d heartbeats, longest silence %s", heartbeats, maxGap.Round(time.Millisecond))
}

func TestStreamTellsTheHandlerOfTheDrainThenEndsCleanly(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout and a stream that would last a minute
	p := startHelper(t, "serve", "AGENTKIT_STOP_TIMEOUT=2s")
	resp, err := newClient(t).Get(p.url("/stream?d=1m"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p.waitLine("stream started")

	// WHEN the process receives SIGTERM
	p.signal(syscall.SIGTERM)
	body, err := io.ReadAll(resp.Body)

	// THEN the handler sends "draining", then at the cancel point
	// "cancelled" with the cause, and the stream ends without error
	if err != nil {
		t.Fatalf("stream cut: %v (read %q)", err, body)
	}
	got := strings.ReplaceAll(string(body), ": heartbeat\n\n", "")
	want := "event: start\ndata: \n\nevent: draining\ndata: \n\nevent: cancelled\ndata: agentkit: stop timeout near; work cancelled\n\n"
	if got != want {
		t.Fatalf("stream\n%q\nwant\n%q", got, want)
	}
	if code := p.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

// rawConn is a client connection driven byte by byte, for the requests that
// net/http's client cannot send: late, trickled, or never.
type rawConn struct {
	t *testing.T
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// response reads one response, with its whole body, within 10s.
func (c *rawConn) response() (*http.Response, string) {
	c.t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.t.Fatalf("no response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("response body: %v", err)
	}
	return resp, string(body)
}

// closedByServer reports whether the server closed the connection (a read
// ends in EOF or a reset) within 10s.
func (c *rawConn) closedByServer() bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.r.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func getRequest(path string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: agent\r\n\r\n"
}

func TestRequestArrivingAfterSIGTERMOnAnAcceptedConnectionIsAnswered(t *testing.T) {
	t.Parallel()
	for _, late := range []time.Duration{0, 50 * time.Millisecond, 200 * time.Millisecond} {
		t.Run(fmt.Sprintf("request bytes %s after the drain began", late), func(t *testing.T) {
			// GIVEN a connection the server has accepted, with nothing
			// sent on it yet
			p := startHelper(t, "serve")
			c := dialRaw(t, p.addr)
			p.waitLine("conn ")

			// WHEN the server receives SIGTERM and the request arrives
			// only after the drain began (a slow client, a packet late)
			p.signal(syscall.SIGTERM)
			p.waitLine("draining")
			<-time.After(late) // the scenario: the request is late
			c.send(getRequest("/work?id=late&chunks=2&gap=10ms"))

			// THEN it is answered in full, with Connection: close, and the
			// process exits 0
			resp, body := c.response()
			if resp.StatusCode != 200 || body != string(wholeBody("late", 2)) || !resp.Close {
				t.Fatalf("got %d, %d bytes, Connection: close %t", resp.StatusCode, len(body), resp.Close)
			}
			if code := p.wait(10 * time.Second); code != 0 {
				t.Fatalf("exit code %d, want 0", code)
			}
		})
	}
}

func TestTheDrainEndsKeepAlive(t *testing.T) {
	t.Parallel()
	// GIVEN two keep-alive connections that have had an answer each: one
	// now idle, one with a request in flight that answers once the drain
	// has begun
	p := startHelper(t, "serve")
	idle, busy := dialRaw(t, p.addr), dialRaw(t, p.addr)
	for _, c := range []*rawConn{idle, busy} {
		c.send(getRequest("/work?id=first&chunks=1&gap=0s"))
		if resp, _ := c.response(); resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first answer %d, Connection: close %t; want a kept-alive 200", resp.StatusCode, resp.Close)
		}
	}
	busy.send(getRequest("/job-after-drain"))
	p.waitLine("waiting for drain")

	// WHEN the server receives SIGTERM
	p.signal(syscall.SIGTERM)

	// THEN the request in flight is answered with Connection: close and its
	// connection closed after it; the idle connection is closed at once (a
	// client must expect that of any idle HTTP/1.1 connection); and the
	// process exits 0
	resp, body := busy.response()
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "go after drain:") || !resp.Close {
		t.Fatalf("answer in flight: %d %q, Connection: close %t", resp.StatusCode, body, resp.Close)
	}
	if !busy.closedByServer() || !idle.closedByServer() {
		t.Fatal("a connection stayed open after the drain ended keep-alive")
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

func TestSilentConnectionDoesNotHoldTheDrain(t *testing.T) {
	t.Parallel()
	// GIVEN a 4s stop timeout (closeAt 3s) and a connection that sends
	// nothing (a port scan, a load balancer's TCP check)
	p := startHelper(t, "serve", "AGENTKIT_STOP_TIMEOUT=4s")
	c := dialRaw(t, p.addr)
	p.waitLine("conn ")

	// WHEN the server receives SIGTERM
	p.signal(syscall.SIGTERM)

	// THEN it closes the silent connection and exits 0 with the drain
	// complete, not at the drain deadline
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if line := p.waitLine("serve returned:"); line != "serve returned: <nil>" {
		t.Fatalf("got %q", line)
	}
	if !c.closedByServer() {
		t.Fatal("the silent connection is still open")
	}
}

// trickle sends body one byte per gap on c until it is sent or c fails.
func trickle(c *rawConn, body string, gap time.Duration) {
	tick := time.NewTicker(gap)
	defer tick.Stop()
	for i := range len(body) {
		<-tick.C
		if _, err := c.Write([]byte{body[i]}); err != nil {
			return
		}
	}
}

func TestTrickledBodyTimesOut(t *testing.T) {
	t.Parallel()
	// GIVEN a server whose http.Server has a 1s ReadTimeout
	p := startHelper(t, "serve", "HELPER_READ_TIMEOUT=1s")
	c := dialRaw(t, p.addr)

	// WHEN a client sends a 100-byte body one byte every 200ms
	c.send("POST /echo HTTP/1.1\r\nHost: agent\r\nContent-Length: 100\r\n\r\n")
	go trickle(c, strings.Repeat("x", 100), 200*time.Millisecond)

	// THEN the handler's read fails at the timeout and it answers 408
	// long before the body would have ended
	resp, body := c.response()
	if resp.StatusCode != http.StatusRequestTimeout || !strings.HasPrefix(body, "read ") {
		t.Fatalf("got %d %q, want 408", resp.StatusCode, body)
	}
}

func TestTrickledBodyIsAnsweredAtTheCancelPoint(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout (cancelAt 500ms, closeAt 1s), the default
	// read timeout, and a client trickling its body one byte every 100ms
	p := startHelper(t, "serve", "AGENTKIT_STOP_TIMEOUT=2s")
	c := dialRaw(t, p.addr)
	c.send("POST /echo HTTP/1.1\r\nHost: agent\r\nContent-Length: 1000\r\n\r\n")
	go trickle(c, strings.Repeat("x", 1000), 100*time.Millisecond)
	p.waitLine("echo reading")

	// WHEN the server receives SIGTERM
	p.signal(syscall.SIGTERM)

	// THEN at the cancel point the read fails, the handler answers 503,
	// and the process exits 0 with the drain complete
	resp, _ := c.response()
	if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
		t.Fatalf("got %d, Connection: close %t; want 503 and close", resp.StatusCode, resp.Close)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if line := p.waitLine("serve returned:"); line != "serve returned: <nil>" {
		t.Fatalf("got %q", line)
	}
}

func TestConnectionsQueuedAtSIGTERMAreAnswered(t *testing.T) {
	t.Parallel()
	// GIVEN a server taking a flood of new connections, four clients
	// connecting as fast as they can, each connection sending one request
	// and being read by its own goroutine, so that the kernel holds
	// connections the server has not accepted yet
	p := startHelper(t, "serve")
	var (
		mu      sync.Mutex
		answers []string // per accepted connection: "200 <body length> <nil>", or the error
		readers sync.WaitGroup
		dialers sync.WaitGroup
		halt    atomic.Bool
	)
	for range 4 {
		dialers.Go(func() {
			for !halt.Load() {
				c, err := net.Dial("tcp", p.addr)
				if err != nil {
					t.Errorf("connect before SIGTERM: %v", err)
					return
				}
				readers.Go(func() {
					answer := askOnce(c, "/work?id=q&chunks=1&gap=0s")
					mu.Lock()
					answers = append(answers, answer)
					mu.Unlock()
				})
			}
		})
	}
	for range 200 {
		p.waitLine("got ")
	}

	// WHEN the clients stop connecting and the server receives SIGTERM
	// while it still works through the connections they made
	halt.Store(true)
	dialers.Wait()
	p.signal(syscall.SIGTERM)
	code := p.wait(20 * time.Second)
	readers.Wait()

	// THEN every connection got a whole answer and the process exited 0
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	want := fmt.Sprint(200, " ", len(wholeBody("q", 1)), " <nil>")
	lost := 0
	for _, a := range answers {
		if a != want {
			if lost++; lost <= 5 {
				t.Errorf("an accepted connection got %q, want %q", a, want)
			}
		}
	}
	t.Logf("%d connections, %d not answered", len(answers), lost)
}

// askOnce sends GET path on c, returns "status length err" of the answer or
// the error, and closes c.
func askOnce(c net.Conn, path string) string {
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, getRequest(path)); err != nil {
		return err.Error()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err.Error()
	}
	body, err := io.ReadAll(resp.Body)
	return fmt.Sprint(resp.StatusCode, " ", len(body), " ", err)
}

func TestConnectionsInTheBacklogWhenTheListenerClosesAreAnswered(t *testing.T) {
	t.Parallel()
	for _, listener := range []struct {
		name string
		env  []string
	}{
		{"a TCP listener, whose queue the kernel counts", nil},
		{"a listener that hides its socket, swept by deadline", []string{"HELPER_OPAQUE_LISTENER=1"}},
	} {
		t.Run(listener.name, func(t *testing.T) {
			// GIVEN a server whose accept loop is held up (its ConnState
			// hook blocks on the first connection until the drain begins),
			// so that five more connections wait in the kernel's backlog,
			// their connects having succeeded and their requests sent
			p := startHelper(t, "serve", append([]string{"HELPER_HOLD_ACCEPT=1"}, listener.env...)...)
			first := dialRaw(t, p.addr)
			p.waitLine("conn ")
			first.send(getRequest("/work?id=first&chunks=1&gap=0s"))
			queued := make([]*rawConn, 5)
			for i := range queued {
				queued[i] = dialRaw(t, p.addr)
				queued[i].send(getRequest(fmt.Sprintf("/work?id=q%d&chunks=1&gap=0s", i)))
			}

			// WHEN the server receives SIGTERM, and its drain closes the
			// listener
			p.signal(syscall.SIGTERM)

			// THEN the queued connections are accepted and answered, not
			// reset
			for i, c := range append([]*rawConn{first}, queued...) {
				resp, body := c.response()
				id := "first"
				if i > 0 {
					id = fmt.Sprintf("q%d", i-1)
				}
				if resp.StatusCode != 200 || body != string(wholeBody(id, 1)) {
					t.Errorf("connection %s: got %d, %d bytes", id, resp.StatusCode, len(body))
				}
			}
			if code := p.wait(10 * time.Second); code != 0 {
				t.Fatalf("exit code %d, want 0", code)
			}
		})
	}
}

func TestOneSIGTERMDrainsNormallyWhenMainUsesNotifyContext(t *testing.T) {
	// GIVEN a process whose main passes Serve a context from
	// signal.NotifyContext, serving 16 rounds in a row, each with 20 requests
	// in flight that finish during the drain (see helperNotifyRounds; the
	// other listeners it holds make the SIGTERM reach the context first in
	// most rounds)
	const rounds, requests = 16, 20
	p := startHelper(t, "notify-rounds", fmt.Sprint("HELPER_ROUNDS=", rounds), "HELPER_LISTENERS=20000")
	for round := range rounds {
		p.addr = strings.TrimPrefix(p.waitLine("listening "), "listening ")
		bodies := make([][]byte, requests)
		errs := make([]error, requests)
		var wg sync.WaitGroup
		for i := range requests {
			wg.Go(func() {
				bodies[i], _, errs[i] = getOnFreshConn(p.url(fmt.Sprintf("/work?id=r%dq%d", round, i)))
			})
		}
		for range requests {
			p.waitLine("got ")
		}

		// WHEN one SIGTERM arrives
		p.signal(syscall.SIGTERM)
		line := p.waitLine("returned:")
		wg.Wait()

		// THEN Serve drains as for any first signal: it returns nil and
		// every request gets its whole answer
		if line != "returned: <nil>" {
			t.Fatalf("round %d of %d: Serve %s", round, rounds, line)
		}
		for i, err := range errs {
			if want := wholeBody(fmt.Sprintf("r%dq%d", round, i), 2); err != nil || !bytes.Equal(bodies[i], want) {
				t.Fatalf("round %d: request %d: %d bytes, want %d; err %v", round, i, len(bodies[i]), len(want), err)
			}
		}
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestASecondSignalStillEndsTheDrainWhenMainUsesNotifyContext(t *testing.T) {
	// GIVEN a process whose main passes Serve a context from
	// signal.NotifyContext, draining after one SIGTERM (30s stop timeout),
	// held up by a request that ignores its context
	p := startHelper(t, "notify-rounds", "HELPER_ROUNDS=1", "HELPER_LISTENERS=20000", "AGENTKIT_STOP_TIMEOUT=30s")
	p.addr = strings.TrimPrefix(p.waitLine("listening "), "listening ")
	go getOnFreshConn(p.url("/work?id=hang"))
	p.waitLine("got hang")
	p.signal(syscall.SIGTERM)
	p.waitLine("draining")

	// WHEN a second signal arrives
	p.signal(syscall.SIGINT)

	// THEN Serve stops at once (well before the 24s cancel point)
	if line := p.waitLine("returned:"); !strings.Contains(line, "second signal interrupt during the drain; stopped at once with 1 request(s)") {
		t.Fatalf("got %q", line)
	}
	if code := p.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestASIGTERMDuringStartUpEndsTheProcessCleanlyWhenMainHooksFirst(t *testing.T) {
	// GIVEN a process whose main begins with signal.NotifyContext and is
	// still starting up (see helperEarly)
	p := startHelper(t, "early")
	p.waitLine("hooked")

	// WHEN it receives SIGTERM before it serves
	p.signal(syscall.SIGTERM)

	// THEN it never listens, and exits 0 at once
	if code := p.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if line := p.waitLine("serve returned:"); line != "serve returned: <nil>" {
		t.Fatalf("got %q", line)
	}
	if log := p.stderr.String(); !strings.Contains(log, "agentkit: stopped before serving") || strings.Contains(log, "agentkit: serving") {
		t.Fatalf("log:\n%s", log)
	}
}

func TestASIGTERMRightAfterExecEndsTheProcessOneOfTwoWays(t *testing.T) {
	// GIVEN a process whose main begins with signal.NotifyContext
	for range 5 {
		// WHEN it receives SIGTERM right after it was started, before or
		// after its main has hooked the signal
		p := startHelper(t, "early")
		p.signal(syscall.SIGTERM)
		p.wait(10 * time.Second)

		// THEN either the hook was in place and it exits 0 without
		// serving, or it was not and Go's default handling ended it (the
		// documented window before main's first statement); never
		// anything else, and it never serves
		ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		hooked := ws.Exited() && ws.ExitStatus() == 0 && slices.Contains(p.allLines(), "serve returned: <nil>")
		killed := ws.Signaled() && ws.Signal() == syscall.SIGTERM
		if !hooked && !killed {
			t.Fatalf("wait status %v; output %q", ws, p.allLines())
		}
		if strings.Contains(p.stderr.String(), "agentkit: serving") {
			t.Fatalf("it served:\n%s", p.stderr.String())
		}
		t.Logf("hooked %t, killed by SIGTERM %t", hooked, killed)
	}
}
