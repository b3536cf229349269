package agentkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Health.
const (
	// DefaultCheckTimeout bounds a check that sets no Timeout. It keeps a
	// health answer well inside ProbeTimeout and the ALB's 5s check timeout.
	DefaultCheckTimeout = time.Second

	// DefaultCacheTTL is how long Health reuses its check results when
	// CacheTTL is zero, so that a burst of probes (every load balancer node
	// checks every target, and /health is public behind the ALB) runs each
	// check at most once per TTL.
	DefaultCacheTTL = 5 * time.Second
)

// A Check is one named health check.
type Check struct {
	// Name identifies the check in the response body and the logs.
	// Required, unique within a Health.
	Name string

	// Run reports whether the check passes: a nil error passes. It gets a
	// context that ends after Timeout. A Run that ignores its context is
	// reported as timed out, keeps running in the background, and is not
	// started again until it returns. A Run that panics fails the check
	// (its stack is logged); the process goes on. Required.
	Run func(ctx context.Context) error

	// Timeout bounds one Run. Keep it well under ProbeTimeout and the load
	// balancer's health check timeout, or they give up first.
	// Default: DefaultCheckTimeout.
	Timeout time.Duration

	// NonCritical makes a failing check show in the body as "fail" while
	// the answer stays 200 ("degraded"). Mark every check on a dependency
	// the tasks share (an LLM API, a database): when it is down, a failing
	// health check would make ECS replace every task at once and fix
	// nothing. Default: false, a failing check answers 503.
	NonCritical bool
}

// Health is the http.Handler for HealthPath. It answers 200 with a small JSON
// body while the process serves, and 503 once SetDraining has been called
// (Server calls it when the drain begins) or when a critical check fails.
//
// The body is {"status": S} plus, when there are checks,
// "checks": {name: {"status": "ok"|"fail", "critical": bool}}, where S is
// "ok", "degraded" (a non-critical check fails), "unhealthy" (a critical
// check fails) or "draining". It never carries a check's error, because the
// load balancer exposes /health to the internet; failures and recoveries are
// logged instead.
//
// Checks run concurrently, each bounded by its Timeout, and their results are
// cached for CacheTTL; concurrent requests share one run. While draining,
// Health answers at once without running checks.
//
// The zero value answers 200 {"status":"ok"}. Set the fields before the first
// request; do not change them afterwards.
type Health struct {
	// Checks run on each request, at most once per CacheTTL.
	Checks []Check

	// CacheTTL is how long check results are reused.
	// Default: DefaultCacheTTL.
	CacheTTL time.Duration

	// Logger receives check failures and recoveries.
	// Default: slog.Default().
	Logger *slog.Logger

	draining atomic.Bool

	once    sync.Once
	initErr error
	busy    []atomic.Bool // a check's Run has not returned yet
	lastErr []string      // the last failure of each check, for logging changes

	mu      sync.Mutex
	result  *healthResult
	running chan struct{} // closed when the run in progress ends
}

type healthResult struct {
	code int
	body []byte
	at   time.Time
}

type healthBody struct {
	Status string                 `json:"status"`
	Checks map[string]checkStatus `json:"checks,omitempty"`
}

type checkStatus struct {
	Status   string `json:"status"`
	Critical bool   `json:"critical"`
}

var (
	okBody       = []byte(`{"status":"ok"}` + "\n")
	drainingBody = []byte(`{"status":"draining"}` + "\n")
	invalidBody  = []byte(`{"status":"invalid"}` + "\n")
	jsonType     = []string{"application/json"}
	noStore      = []string{"no-store"}
)

// Validate reports the first invalid field: a check with no Name, a Name used
// twice, no Run, or a negative Timeout or CacheTTL. Server.Serve calls it
// before serving; a Health served on its own answers 500 while invalid.
func (h *Health) Validate() error {
	if h.CacheTTL < 0 {
		return fmt.Errorf("agentkit: Health.CacheTTL %s is negative; use 0 for the default %s", h.CacheTTL, DefaultCacheTTL)
	}
	seen := make(map[string]bool, len(h.Checks))
	for i, c := range h.Checks {
		switch {
		case c.Name == "":
			return fmt.Errorf("agentkit: Health.Checks[%d] has no Name", i)
		case seen[c.Name]:
			return fmt.Errorf("agentkit: Health.Checks[%d] Name %q is used twice; names must be unique", i, c.Name)
		case c.Run == nil:
			return fmt.Errorf("agentkit: Health check %q has no Run func", c.Name)
		case c.Timeout < 0:
			return fmt.Errorf("agentkit: Health check %q Timeout %s is negative; use 0 for the default %s", c.Name, c.Timeout, DefaultCheckTimeout)
		}
		seen[c.Name] = true
	}
	return nil
}

// SetDraining makes h answer 503 {"status":"draining"} from now on. Server
// calls it when its drain begins; call it yourself only if you run the
// server's lifecycle yourself.
func (h *Health) SetDraining() {
	h.draining.Store(true)
}

// ServeHTTP answers GET and HEAD; other methods get 405.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if h.draining.Load() {
		writeHealth(w, r, http.StatusServiceUnavailable, drainingBody)
		return
	}
	if len(h.Checks) == 0 {
		writeHealth(w, r, http.StatusOK, okBody)
		return
	}
	h.once.Do(h.init)
	if h.initErr != nil {
		writeHealth(w, r, http.StatusInternalServerError, invalidBody)
		return
	}
	res := h.current(r.Context())
	if res == nil {
		return // the client left while the checks ran
	}
	writeHealth(w, r, res.code, res.body)
}

func writeHealth(w http.ResponseWriter, r *http.Request, code int, body []byte) {
	hdr := w.Header()
	hdr["Content-Type"] = jsonType
	hdr["Cache-Control"] = noStore
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func (h *Health) init() {
	if h.initErr = h.Validate(); h.initErr != nil {
		h.logger().Error("agentkit: invalid Health; answering 500", "err", h.initErr)
		return
	}
	h.busy = make([]atomic.Bool, len(h.Checks))
	h.lastErr = make([]string, len(h.Checks))
}

// current returns a result no older than CacheTTL, running the checks if
// needed, or nil if ctx ends first.
func (h *Health) current(ctx context.Context) *healthResult {
	ttl := h.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	h.mu.Lock()
	if h.result != nil && time.Since(h.result.at) < ttl {
		res := h.result
		h.mu.Unlock()
		return res
	}
	if h.running == nil {
		h.running = make(chan struct{})
		go h.refresh(h.running)
	}
	running := h.running
	h.mu.Unlock()

	select {
	case <-running:
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.result
	case <-ctx.Done():
		return nil
	}
}

// refresh runs every check and publishes the result. It runs detached from
// any request, so a client that leaves does not cancel a run others wait on.
func (h *Health) refresh(done chan struct{}) {
	errs := make([]error, len(h.Checks))
	var wg sync.WaitGroup
	for i := range h.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.runCheck(i)
		}()
	}
	wg.Wait()

	body := healthBody{Status: "ok", Checks: make(map[string]checkStatus, len(h.Checks))}
	code := http.StatusOK
	for i, c := range h.Checks {
		st := checkStatus{Status: "ok", Critical: !c.NonCritical}
		if errs[i] != nil {
			st.Status = "fail"
			if c.NonCritical && code == http.StatusOK {
				body.Status = "degraded"
			} else if !c.NonCritical {
				body.Status, code = "unhealthy", http.StatusServiceUnavailable
			}
		}
		body.Checks[c.Name] = st
		h.logChange(i, errs[i])
	}
	b, err := json.Marshal(body)
	if err != nil { // cannot happen: the body holds only strings and bools
		panic(fmt.Sprintf("agentkit: encode health body: %v", err))
	}
	res := &healthResult{code: code, body: append(b, '\n'), at: time.Now()}

	h.mu.Lock()
	h.result, h.running = res, nil
	h.mu.Unlock()
	close(done)
}

// runCheck runs check i within its timeout.
func (h *Health) runCheck(i int) error {
	c := h.Checks[i]
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultCheckTimeout
	}
	if !h.busy[i].CompareAndSwap(false, true) {
		return fmt.Errorf("previous run has not returned (timed out)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ran := make(chan error, 1) // buffered: a late Run must not block
	go func() {
		defer h.busy[i].Store(false)
		ran <- callUser(ctx, c.Run)
	}()
	select {
	case err := <-ran:
		return err
	case <-ctx.Done():
		return fmt.Errorf("timed out after %s", timeout)
	}
}

// logChange logs a check that starts failing, fails differently, or recovers.
// Only refresh calls it, and refresh runs one at a time.
func (h *Health) logChange(i int, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg == h.lastErr[i] {
		return
	}
	c := h.Checks[i]
	switch {
	case err == nil:
		h.logger().Info("agentkit: health check recovered", "check", c.Name)
	default:
		var pe *panicError
		if errors.As(err, &pe) {
			h.logger().Error("agentkit: health check panicked", "check", c.Name, "critical", !c.NonCritical, "err", pe)
		} else {
			h.logger().Warn("agentkit: health check failing", "check", c.Name, "critical", !c.NonCritical, "err", msg)
		}
	}
	h.lastErr[i] = msg
}

func (h *Health) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
