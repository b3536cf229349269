package agentkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

// fakeClock is the budget's clock in these tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// callerHeader names the caller in these tests: an Authenticator that
// takes the caller's name from it, and leaves a request without it
// anonymous.
const callerHeader = "X-Test-Caller"

var byHeader = authFunc(func(r *http.Request) (agentkit.Caller, error) {
	if name := r.Header.Get(callerHeader); name != "" {
		return agentkit.Caller{Name: name, Method: "test"}, nil
	}
	return agentkit.Caller{Method: agentkit.AuthNone}, nil
})

// spender is a handler that reports the model call its query names
// (model, in, out tokens), and counts its calls.
type spender struct{ called atomic.Int64 }

func (s *spender) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.called.Add(1)
	q := r.URL.Query()
	in, _ := strconv.Atoi(q.Get("in"))
	out, _ := strconv.Atoi(q.Get("out"))
	agentkit.RecordModelCall(r.Context(), agentkit.ModelCall{Model: q.Get("model"), InputTokens: in, OutputTokens: out})
	fmt.Fprint(w, "ok")
}

// call sends one request as caller ("" for anonymous) that spends in and
// out tokens of model, through h.
func call(h http.Handler, caller, model string, in, out int) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/run?model=%s&in=%d&out=%d", model, in, out), strings.NewReader("{}"))
	if caller != "" {
		r.Header.Set(callerHeader, caller)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// checkOverBudget fails unless w is the budget's refusal with Retry-After
// retryAfter.
func checkOverBudget(t *testing.T, w *httptest.ResponseRecorder, retryAfter string) {
	t.Helper()
	var body struct{ Error string }
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != retryAfter {
		t.Fatalf("got %d Retry-After %q, want 429 and %s", w.Code, w.Header().Get("Retry-After"), retryAfter)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || !strings.Contains(body.Error, "budget") ||
		w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("body %q (%s), want a JSON error about the budget", w.Body, w.Header().Get("Content-Type"))
	}
}

func budgetServer(b *agentkit.Budget, clock *fakeClock, prices map[string]agentkit.ModelPrice) (*agentkit.Server, *spender, http.Handler) {
	srv := &agentkit.Server{Auth: byHeader, Budget: b, Logger: quiet, Metrics: &agentkit.Metrics{Prices: prices}}
	agentkit.SetBudgetClock(srv, clock.now)
	sp := &spender{}
	return srv, sp, srv.Handler(sp)
}

func TestACallerOverItsTokenBudgetIsAnswered429UntilItsWindowEnds(t *testing.T) {
	t.Parallel()
	// GIVEN a budget of 1000 tokens per caller per hour, at 10:20:30
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 20, 30, 0, time.UTC)}
	_, sp, h := budgetServer(&agentkit.Budget{Tokens: 1000, Window: time.Hour}, clock, nil)

	// WHEN alice spends 600 tokens, then 600 more
	// THEN both are served: she was under budget when each began, and a
	// call already running is never cut
	for range 2 {
		if w := call(h, "alice", "m", 400, 200); w.Code != 200 {
			t.Fatalf("alice under budget: %d %s", w.Code, w.Body)
		}
	}
	// WHEN she asks again
	// THEN she is answered 429, with Retry-After the seconds left in the
	// hour (39m30s), and her handler is not called
	checkOverBudget(t, call(h, "alice", "m", 1, 1), "2370")
	if got := sp.called.Load(); got != 2 {
		t.Errorf("handler called %d times, want 2", got)
	}
	// AND a second later the wait is a second shorter
	clock.set(clock.now().Add(time.Second))
	checkOverBudget(t, call(h, "alice", "m", 1, 1), "2369")

	// AND bob, another caller, has a budget of his own
	if w := call(h, "bob", "m", 900, 0); w.Code != 200 {
		t.Errorf("bob: %d %s", w.Code, w.Body)
	}
	// AND an anonymous request is never budgeted, whatever it spends
	for range 3 {
		if w := call(h, "", "m", 5000, 5000); w.Code != 200 {
			t.Errorf("anonymous: %d %s", w.Code, w.Body)
		}
	}

	// WHEN the window rolls over, at 11:00:00
	clock.set(time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC))
	// THEN alice is served again, with a whole budget
	if w := call(h, "alice", "m", 999, 0); w.Code != 200 {
		t.Errorf("alice in the next window: %d %s", w.Code, w.Body)
	}
	// AND she is refused once it is spent, until noon
	call(h, "alice", "m", 1, 0)
	checkOverBudget(t, call(h, "alice", "m", 1, 0), "3600")
	// AND a refusal's Retry-After is never 0, even in the window's last
	// instant
	clock.set(time.Date(2026, 12, 5, 11, 59, 59, 999_000_000, time.UTC))
	checkOverBudget(t, call(h, "alice", "m", 1, 0), "1")
}

func TestADollarBudgetCountsThePriceTable(t *testing.T) {
	t.Parallel()
	// GIVEN a budget of 1 US cent per caller per minute, and a price
	// table of one model at $3 and $15 per million tokens
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	prices := map[string]agentkit.ModelPrice{"sonnet": {Input: 3, Output: 15}}
	srv, _, h := budgetServer(&agentkit.Budget{USD: 0.01, Window: time.Minute}, clock, prices)

	// WHEN alice calls a model the table does not list, many times
	// THEN it costs her nothing in dollars, and she is served
	for range 5 {
		if w := call(h, "alice", "unpriced", 1_000_000, 1_000_000); w.Code != 200 {
			t.Fatalf("unpriced model: %d %s", w.Code, w.Body)
		}
	}
	// WHEN she calls the priced model for $0.0105 (1000 in, 500 out)
	if w := call(h, "alice", "sonnet", 1000, 500); w.Code != 200 {
		t.Fatalf("priced model: %d %s", w.Code, w.Body)
	}
	// THEN she has spent that, and is refused until the minute ends
	if usd, _, _ := agentkit.BudgetSpent(srv, "alice"); usd < 0.0104 || usd > 0.0106 {
		t.Errorf("alice spent %v, want 0.0105", usd)
	}
	checkOverBudget(t, call(h, "alice", "sonnet", 1, 1), "60")
}

func TestABudgetChargesAJobGivenItsCaller(t *testing.T) {
	t.Parallel()
	// GIVEN a budget of 100 tokens, and a job that alice's request started,
	// given her as its caller
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	srv, _, h := budgetServer(&agentkit.Budget{Tokens: 100}, clock, nil)
	done := make(chan struct{})
	err := srv.Go(func(ctx context.Context) error {
		defer close(done)
		ctx = agentkit.ContextWithCaller(ctx, agentkit.Caller{Name: "alice", Method: "test"})
		agentkit.RecordModelCall(ctx, agentkit.ModelCall{Model: "m", InputTokens: 100})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	// WHEN alice asks again
	// THEN the job's spend counted: she is refused until the hour (the
	// default window) ends
	checkOverBudget(t, call(h, "alice", "m", 1, 0), "3600")
}

func TestTheCallersTrackedAreBoundedAndTheRestShareOneBudget(t *testing.T) {
	t.Parallel()
	// GIVEN a budget of 100 tokens, and MaxBudgetCallers callers that
	// have each spent 1 token in this window
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	srv, _, h := budgetServer(&agentkit.Budget{Tokens: 100}, clock, nil)
	for i := range agentkit.MaxBudgetCallers {
		if w := call(h, fmt.Sprint("caller-", i), "m", 1, 0); w.Code != 200 {
			t.Fatalf("caller %d: %d", i, w.Code)
		}
	}
	// WHEN a flood of 150 new names (each as long as a JWT may be) spends
	// a token each, and then one more new caller asks
	long := strings.Repeat("x", agentkit.MaxTokenBytes)
	var served int
	for i := range 150 {
		if call(h, fmt.Sprint(long, i), "m", 1, 0).Code == 200 {
			served++
		}
	}
	// THEN the task still tracks MaxBudgetCallers callers, not one more
	_, _, tracked := agentkit.BudgetSpent(srv, "caller-0")
	if tracked != agentkit.MaxBudgetCallers {
		t.Errorf("tracked %d callers, want %d", tracked, agentkit.MaxBudgetCallers)
	}
	// AND the flood shared one budget: 100 served, 50 refused
	if served != 100 {
		t.Errorf("the flood was served %d times, want 100 (one budget between them)", served)
	}
	// AND a new caller beyond the bound gets no fresh budget: it shares
	// the spent one
	checkOverBudget(t, call(h, "newcomer", "m", 1, 0), "3600")
	// AND the callers tracked keep theirs, with what they spent
	if _, tokens, _ := agentkit.BudgetSpent(srv, "caller-0"); tokens != 1 {
		t.Errorf("caller-0 has spent %d tokens, want 1", tokens)
	}
	if w := call(h, "caller-0", "m", 1, 0); w.Code != 200 {
		t.Errorf("a tracked caller: %d", w.Code)
	}
	// WHEN the window ends
	clock.set(clock.now().Add(time.Hour))
	// THEN every caller starts afresh, and none is tracked until it spends
	if w := call(h, "newcomer", "m", 1, 0); w.Code != 200 {
		t.Errorf("newcomer in the next window: %d", w.Code)
	}
	if _, _, tracked := agentkit.BudgetSpent(srv, "newcomer"); tracked != 1 {
		t.Errorf("tracked %d callers in the new window, want 1", tracked)
	}
}

func TestConcurrentModelCallsAreChargedExactly(t *testing.T) {
	t.Parallel()
	// GIVEN a budget no one reaches
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	prices := map[string]agentkit.ModelPrice{"m": {Input: 1, Output: 2}}
	srv, _, _ := budgetServer(&agentkit.Budget{USD: 1000, Tokens: agentkit.MaxBudgetTokens}, clock, prices)

	// WHEN 4 callers each send 8 requests at once, each of which records
	// 50 calls from goroutines of its own, while the clock stays in one
	// window
	const callers, requests, calls = 4, 8, 50
	h := srv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var inner sync.WaitGroup
		for range calls {
			inner.Go(func() {
				agentkit.RecordModelCall(r.Context(), agentkit.ModelCall{Model: "m", InputTokens: 10, OutputTokens: 5})
			})
		}
		inner.Wait()
	}))
	var wg sync.WaitGroup
	for c := range callers {
		for range requests {
			wg.Go(func() {
				r := httptest.NewRequest(http.MethodPost, "/run", nil)
				r.Header.Set(callerHeader, fmt.Sprint("caller-", c))
				h.ServeHTTP(httptest.NewRecorder(), r)
			})
		}
	}
	wg.Wait()

	// THEN each caller is charged every call, exactly
	for c := range callers {
		usd, tokens, tracked := agentkit.BudgetSpent(srv, fmt.Sprint("caller-", c))
		if tokens != requests*calls*15 || usd < requests*calls*20e-6*0.999999 || usd > requests*calls*20e-6*1.000001 || tracked != callers {
			t.Errorf("caller-%d: %v USD, %d tokens, %d tracked; want %v, %d, %d", c, usd, tokens, tracked, requests*calls*20e-6, requests*calls*15, callers)
		}
	}
}

func TestWithoutACallerCheckNothingIsBudgeted(t *testing.T) {
	t.Parallel()
	// GIVEN a budget of 1 token, and no caller check
	srv := &agentkit.Server{Budget: &agentkit.Budget{Tokens: 1}, Logger: quiet}
	sp := &spender{}
	h := srv.Handler(sp)
	// WHEN requests spend far more
	// THEN every one is served: they are anonymous
	for range 3 {
		if w := call(h, "alice", "m", 100, 100); w.Code != 200 {
			t.Errorf("%d %s", w.Code, w.Body)
		}
	}
}

func TestServeCountsTheBudgetRefusalsInTheMetrics(t *testing.T) {
	t.Parallel()
	// GIVEN a metered server with a budget of 10 tokens, serving on
	// loopback
	var metrics syncbuf.Buffer
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 0, 30, 0, time.UTC)}
	srv := &agentkit.Server{
		Auth: byHeader, Budget: &agentkit.Budget{Tokens: 10, Window: time.Minute}, Logger: quiet,
		HTTP:    &http.Server{Handler: &spender{}},
		Metrics: &agentkit.Metrics{Service: "web", Namespace: "Test", Output: &metrics, Interval: 50 * time.Millisecond},
	}
	agentkit.SetBudgetClock(srv, clock.now)
	// AND bob, who spent his budget through the Server's Handler before it
	// served
	call(srv.Handler(&spender{}), "bob", "m", 10, 0)
	addr, stop := serveInProcess(t, srv)
	client := newClient(t)

	// WHEN alice spends her budget, then asks three times more
	var got []string
	for range 4 {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/run?model=m&in=10", strings.NewReader("{}"))
		req.Header.Set(callerHeader, "alice")
		r := do(client, req)
		if r.err != nil {
			t.Fatal(r.err)
		}
		got = append(got, fmt.Sprint(r.status, " ", r.retryAfter))
	}
	// AND bob asks once
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/run?model=m&in=1", nil)
	req.Header.Set(callerHeader, "bob")
	bobs := do(client, req)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// THEN the client gets 429 with the seconds left in the minute
	if want := "200 ,429 30,429 30,429 30"; strings.Join(got, ",") != want {
		t.Errorf("got %v, want %s", got, want)
	}
	// AND bob is refused by Serve too: Handler and Serve share one budget
	if bobs.status != http.StatusTooManyRequests {
		t.Errorf("bob: %d %v, want 429", bobs.status, bobs.err)
	}
	// AND the metrics count the four refusals, among the requests
	// answered, in lines CloudWatch takes
	docs := emfLines(t, metrics.String())
	checkLineShapes(t, docs)
	if n, _ := total(docs, agentkit.MetricRequestsOverBudget, ""); n != 4 {
		t.Errorf("%s %v, want 4", agentkit.MetricRequestsOverBudget, n)
	}
	if n, _ := total(docs, agentkit.MetricRequests, ""); n != 5 {
		t.Errorf("%s %v, want 5", agentkit.MetricRequests, n)
	}
}

func TestABudgetIsCheckedBeforeServing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		budget agentkit.Budget
		prices map[string]agentkit.ModelPrice
		want   string
	}{
		{"dollars without prices", agentkit.Budget{USD: 5}, nil, "a caller budget of 5 US dollars needs a price table"},
		{"negative dollars", agentkit.Budget{USD: -1}, nil, "Server.Budget.USD -1 is out of range"},
		{"too many dollars", agentkit.Budget{USD: 2e6}, nil, "Server.Budget.USD 2e+06 is out of range"},
		{"negative tokens", agentkit.Budget{Tokens: -1}, nil, "Server.Budget.Tokens -1 is out of range"},
		{"short window", agentkit.Budget{Tokens: 1, Window: time.Second}, nil, "Server.Budget.Window 1s is out of range; use 1m0s to 24h0m0s"},
		{"long window", agentkit.Budget{Tokens: 1, Window: 48 * time.Hour}, nil, "Server.Budget.Window 48h0m0s is out of range"},
	} {
		// GIVEN a server with a bad budget
		srv := &agentkit.Server{HTTP: &http.Server{Addr: "127.0.0.1:0"}, Budget: &c.budget, Logger: quiet,
			Metrics: &agentkit.Metrics{Prices: c.prices}}
		// WHEN it is asked to serve
		err := srv.ListenAndServe(context.Background())
		// THEN it refuses before listening, saying why
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		// AND its Handler, which cannot report it, budgets nothing
		bad := &agentkit.Server{Auth: byHeader, Budget: &c.budget, Logger: quiet, Metrics: &agentkit.Metrics{Prices: c.prices}}
		h := bad.Handler(&spender{})
		for range 2 {
			if w := call(h, "alice", "m", 1e9, 1e9); w.Code != 200 {
				t.Errorf("%s: Handler answered %d", c.name, w.Code)
			}
		}
	}
}

func TestTheBudgetComesFromTheEnvironment(t *testing.T) {
	// Not parallel: it sets the environment.
	for _, c := range []struct {
		name, usd, tokens, window string
		want                      agentkit.Budget
		err                       string
	}{
		{name: "unset", want: agentkit.Budget{}},
		{name: "window alone", window: "10m", want: agentkit.Budget{}},
		{name: "tokens", tokens: "50000", want: agentkit.Budget{Tokens: 50000, Window: time.Hour}},
		{name: "dollars and window", usd: "2.5", window: "24h", want: agentkit.Budget{USD: 2.5, Window: 24 * time.Hour}},
		{name: "both", usd: "1", tokens: "10", window: "1m", want: agentkit.Budget{USD: 1, Tokens: 10, Window: time.Minute}},
		{name: "zero dollars", usd: "0", err: `AGENTKIT_CALLER_BUDGET_USD "0" is not an amount; use US dollars above 0 up to 1000000`},
		{name: "NaN dollars", usd: "NaN", err: `AGENTKIT_CALLER_BUDGET_USD "NaN" is not an amount`},
		{name: "dollars with a sign", usd: "$5", err: `AGENTKIT_CALLER_BUDGET_USD "$5" is not an amount`},
		{name: "fractional tokens", tokens: "1.5", err: `AGENTKIT_CALLER_BUDGET_TOKENS "1.5" is not a whole number from 1 to 1000000000000`},
		{name: "zero tokens", tokens: "0", err: `AGENTKIT_CALLER_BUDGET_TOKENS "0" is not a whole number`},
		{name: "window without unit", tokens: "1", window: "3600", err: `AGENTKIT_CALLER_BUDGET_WINDOW "3600" is not a Go duration`},
		{name: "window too short", tokens: "1", window: "30s", err: `AGENTKIT_CALLER_BUDGET_WINDOW 30s is out of range; use 1m0s to 24h0m0s`},
	} {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the environment
			t.Setenv(agentkit.EnvCallerBudgetUSD, c.usd)
			t.Setenv(agentkit.EnvCallerBudgetTokens, c.tokens)
			t.Setenv(agentkit.EnvCallerBudgetWindow, c.window)
			t.Setenv(agentkit.EnvModelPrices, `{"m": {"input": 1, "output": 1}}`)
			// WHEN the budget is read
			got, err := agentkit.BudgetFromEnv()
			// THEN it is what the variables say, or refused with the
			// variable, the value and what is allowed
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got %v, want %q", err, c.err)
				}
				// AND Serve refuses to start with it
				srv := &agentkit.Server{HTTP: &http.Server{Addr: "127.0.0.1:0"}, Logger: quiet}
				if err := srv.ListenAndServe(context.Background()); err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("ListenAndServe: got %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v %v, want %+v", got, err, c.want)
			}
		})
	}
}

func TestTheEnvironmentsBudgetAppliesAndAFieldTurnsItOff(t *testing.T) {
	// Not parallel: it sets the environment.
	t.Setenv(agentkit.EnvCallerBudgetTokens, "10")
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	// GIVEN the environment's budget of 10 tokens, and two servers: one
	// that reads it, one whose Budget says none
	for _, c := range []struct {
		name   string
		budget *agentkit.Budget
		want   int
	}{{"from the environment", nil, 429}, {"turned off", &agentkit.Budget{}, 200}} {
		_, _, h := budgetServer(c.budget, clock, nil)
		// WHEN alice spends 10 tokens and asks again
		call(h, "alice", "m", 10, 0)
		// THEN the first is refused, the second served
		if w := call(h, "alice", "m", 10, 0); w.Code != c.want {
			t.Errorf("%s: %d, want %d", c.name, w.Code, c.want)
		}
	}
}

func TestATrackedCallerTakesTheSameMemoryWhateverItsNamesLength(t *testing.T) {
	// Not parallel: it measures the heap.
	// GIVEN a budget, and MaxBudgetCallers callers with 4 KiB names
	clock := &fakeClock{t: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	srv, _, h := budgetServer(&agentkit.Budget{Tokens: 100}, clock, nil)
	long := strings.Repeat("x", 4<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// WHEN each spends a token
	for i := range agentkit.MaxBudgetCallers {
		call(h, fmt.Sprint(long, i), "m", 1, 0)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// THEN the task tracks them all in under 100 bytes each (about 40):
	// no name is kept
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / agentkit.MaxBudgetCallers
	if _, _, tracked := agentkit.BudgetSpent(srv, long+"0"); tracked != agentkit.MaxBudgetCallers || per >= 100 {
		t.Errorf("%d callers tracked in %d bytes each; want %d in under 100", tracked, per, agentkit.MaxBudgetCallers)
	}
	runtime.KeepAlive(h)
}

func TestServingLogsTheBudgetAndWarnsWithoutACallerCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		auth agentkit.Authenticator
		warn bool
	}{{"with a caller check", byHeader, false}, {"without one", nil, true}} {
		// GIVEN a server with a budget
		var logBuf syncbuf.Buffer
		srv := &agentkit.Server{Auth: c.auth, Budget: &agentkit.Budget{USD: 2, Tokens: 1000, Window: 10 * time.Minute},
			Metrics: &agentkit.Metrics{Prices: map[string]agentkit.ModelPrice{"m": {Input: 1, Output: 1}}},
			Logger:  slog.New(slog.NewTextHandler(&logBuf, nil))}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		// WHEN it serves
		if err := srv.Serve(ctx, l); err != nil {
			t.Fatal(err)
		}
		// THEN its start-up log states the budget, and warns when no
		// caller check gives it a caller to charge
		log := logBuf.String()
		if !strings.Contains(log, "caller budget") || !strings.Contains(log, "usd=2 tokens=1000 window=10m0s") {
			t.Errorf("%s: log:\n%s", c.name, log)
		}
		if got := strings.Contains(log, "level=WARN") && strings.Contains(log, "anonymous requests are not budgeted"); got != c.warn {
			t.Errorf("%s: warned %v, want %v; log:\n%s", c.name, got, c.warn, log)
		}
	}
}
