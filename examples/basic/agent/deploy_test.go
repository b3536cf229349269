package main_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// loadBalancer models what an ALB does with one target while ECS replaces
// it: it proxies requests until the target is deregistered; from then on it
// routes nothing new to it and lets the requests in flight run for the
// deregistration delay, after which it lets go of them (cuts them: the
// client gets 502 or a broken stream). ECS sends SIGTERM once the delay has
// passed, or as soon as nothing is in flight (the ALB completes a
// deregistration early when the target has no request left).
type loadBalancer struct {
	proxy *httputil.ReverseProxy

	mu           sync.Mutex
	deregistered bool
	inflight     sync.WaitGroup

	letGo  context.Context // done when the deregistration delay has passed
	expire context.CancelFunc
}

var errLetGo = errors.New("the load balancer let go of the request: deregistration delay over")

// newLoadBalancer starts a load balancer in front of target.
func newLoadBalancer(t *testing.T, target string) (*loadBalancer, string) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	lb := &loadBalancer{proxy: httputil.NewSingleHostReverseProxy(u)}
	lb.letGo, lb.expire = context.WithCancel(context.Background())
	t.Cleanup(lb.expire)
	ts := httptest.NewServer(lb)
	t.Cleanup(ts.Close)
	return lb, ts.URL
}

func (lb *loadBalancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lb.mu.Lock()
	if lb.deregistered {
		lb.mu.Unlock()
		http.Error(w, "target deregistered", http.StatusServiceUnavailable)
		return
	}
	lb.inflight.Add(1)
	lb.mu.Unlock()
	defer lb.inflight.Done()
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	stop := context.AfterFunc(lb.letGo, func() { cancel(errLetGo) })
	defer stop()
	lb.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// deregister starts the deregistration delay; the returned channel is
// closed when the load balancer is done with the target: every request in
// flight ended, or the delay passed.
func (lb *loadBalancer) deregister(delay time.Duration) <-chan struct{} {
	lb.mu.Lock()
	lb.deregistered = true
	lb.mu.Unlock()
	time.AfterFunc(delay, lb.expire)
	done := make(chan struct{})
	go func() {
		idle := make(chan struct{})
		go func() { lb.inflight.Wait(); close(idle) }()
		select {
		case <-idle:
		case <-lb.letGo.Done():
		}
		close(done)
	}()
	return done
}

// TestADeployCutsNoRequest drives the agent through the sequence ECS runs
// when it replaces a task (a deploy, a scale-in, a Spot interruption):
// deregistration (no new request), the deregistration delay, SIGTERM, the
// stop timeout. The construct sets the delay to the request deadline plus
// agentkit.RequestDeadlineMargin; with it, every request shorter than the
// deadline ends with its whole answer and every longer one with a clean
// error, before the load balancer lets go.
//
// Times are scaled by 1/15 so that the test takes seconds: a 60s deadline
// becomes 4s, and the runs of 10s, 45s and 2 minutes become 0.67s, 3s and
// 8s (a stream of 2.5 minutes, 10s, sends its first token before the
// deadline).
func TestADeployCutsNoRequest(t *testing.T) {
	t.Parallel()
	const deadline = 4 * time.Second
	delay := deadline + agentkit.RequestDeadlineMargin
	p := ready(t, "AGENTKIT_REQUEST_TIMEOUT="+deadline.String(), "AGENTKIT_STOP_TIMEOUT=10s")
	alb, albURL := newLoadBalancer(t, p.base)
	c := newClient(t)

	// GIVEN runs and streams of "10s", "45s" and longer than the deadline,
	// in flight through the load balancer
	type result struct {
		name, got string
	}
	runs := []struct{ name, path, latency string }{
		{"run 10s", "/run", "667ms"},
		{"run 45s", "/run", "3s"},
		{"run 2m", "/run", "8s"},
		{"stream 45s", "/run/stream", "3s"},
		{"stream 2m", "/run/stream", "10s"},
	}
	results := make(chan result, len(runs))
	for _, r := range runs {
		go func() {
			body := fmt.Sprintf(`{"input":"a b","simulated_latency":%q}`, r.latency)
			if r.path == "/run" {
				results <- result{r.name, post(c, albURL+r.path, body)}
				return
			}
			results <- result{r.name, streamEvents(c, albURL+r.path, body)}
		}()
	}
	p.waitLog("run started", len(runs))

	// WHEN ECS deregisters the task, waits for the load balancer, sends
	// SIGTERM
	lbDone := alb.deregister(delay)
	got := map[string]string{}
	for range runs {
		r := <-results
		got[r.name] = r.got
	}
	<-lbDone
	beforeDelay := alb.letGo.Err() == nil
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// THEN every run shorter than the deadline got its whole answer, every
	// longer one a clean 504 or error event, all before the delay ran out;
	// and the agent, with nothing left in flight, exits 0 at once
	deadlineErr := `{"error":"the run did not finish within the request deadline; make it shorter, or run it on the queue worker"}`
	want := map[string]string{
		"run 10s":    `200 {"output":"You said: a b"}` + "\n",
		"run 45s":    `200 {"output":"You said: a b"}` + "\n",
		"run 2m":     "504 " + deadlineErr + "\n",
		"stream 45s": `token {"token":"You "}|token {"token":"said: "}|token {"token":"a "}|token {"token":"b"}|done {"output":"You said: a b"}|EOF`,
		"stream 2m":  `token {"token":"You "}|error ` + deadlineErr + `|EOF`,
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s:\ngot  %s\nwant %s", name, got[name], w)
		}
	}
	if !beforeDelay {
		t.Errorf("the deregistration delay of %s ran out before every request ended", delay)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	p.waitLog("agentkit: drain complete", 1)
}

// streamEvents posts body and returns the events received as
// "name data|name data|...|EOF", or what cut the stream.
func streamEvents(c *http.Client, url, body string) string {
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Sprint("status ", resp.StatusCode)
	}
	events, _, _, err := scanEvents(resp.Body)
	var out []string
	for _, e := range events {
		if e.name != "draining" {
			out = append(out, e.name+" "+e.data)
		}
	}
	if err != nil {
		return strings.Join(append(out, "cut: "+err.Error()), "|")
	}
	return strings.Join(append(out, "EOF"), "|")
}
