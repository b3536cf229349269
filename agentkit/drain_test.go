package agentkit_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run a real server process (this test binary as a helper, see
// helper_test.go) on 127.0.0.1 and send it real signals.

func TestDrainLosesNoRequestWhoseConnectionWasAccepted(t *testing.T) {
	// GIVEN a server process under load from 16 concurrent clients, each
	// request on a fresh connection and answered in 4 chunks 40ms apart
	p := startHelper(t, "serve")
	const clients, chunks = 16, 4
	type result struct {
		id    string
		local string // the client side of the connection
		body  []byte
		err   error
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				id := fmt.Sprintf("c%dr%d", c, n)
				r := result{id: id}
				r.body, r.local, r.err = getOnFreshConn(p.url("/work?id=" + id + "&chunks=4&gap=40ms"))
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if r.err != nil {
					return // the listener is closed, or the connection reset
				}
			}
		}()
	}
	for range 5 * clients {
		p.waitLine("got ")
	}

	// WHEN it receives SIGTERM in the middle of the load
	p.signal(syscall.SIGTERM)
	code := p.wait(20 * time.Second)
	wg.Wait()

	// THEN it exits 0, every request on a connection the server accepted got
	// its whole body, and the ones that failed were never accepted
	if code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	accepted := map[string]bool{}
	inFlightAtDrain, afterDrain := 0, false
	started := map[string]bool{}
	for _, line := range p.allLines() {
		switch f := strings.Fields(line); {
		case f[0] == "conn":
			accepted[f[1]] = true
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
		case accepted[r.local]:
			t.Errorf("request %s on connection %s, accepted by the server, failed: %v", r.id, r.local, r.err)
		default:
			refused++
		}
	}
	t.Logf("%d requests completed (%d in flight at SIGTERM), %d never accepted", ok, inFlightAtDrain, refused)
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
	// GIVEN a load balancer idle timeout of 1s (heartbeat every 250ms) and a
	// stream that stays silent for 1.6s
	p := startHelper(t, "serve", "AGENTKIT_IDLE_TIMEOUT=1s")
	resp, err := newClient(t).Get(p.url("/stream?d=1600ms"))
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
	if maxGap >= time.Second {
		t.Fatalf("%s without a byte, longer than the 1s idle timeout", maxGap)
	}
	t.Logf("%d heartbeats, longest silence %s", heartbeats, maxGap.Round(time.Millisecond))
}

func TestStreamTellsTheHandlerOfTheDrainThenEndsCleanly(t *testing.T) {
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
