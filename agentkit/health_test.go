package agentkit_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

func pass(context.Context) error { return nil }
func fail(context.Context) error { return errors.New("connection refused") }

func serveHealth(h *agentkit.Health, method string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, "/health", nil))
	return rec
}

func TestHealthAnswers(t *testing.T) {
	cases := []struct {
		name     string
		health   *agentkit.Health
		draining bool
		method   string
		code     int
		body     string
	}{
		{"no checks", &agentkit.Health{}, false, "GET", 200, `{"status":"ok"}`},
		{"draining", &agentkit.Health{}, true, "GET", 503, `{"status":"draining"}`},
		{"draining skips failing checks", &agentkit.Health{Checks: []agentkit.Check{{Name: "db", Run: fail}}}, true, "GET", 503, `{"status":"draining"}`},
		{"all pass", &agentkit.Health{Checks: []agentkit.Check{{Name: "db", Run: pass}, {Name: "llm", Run: pass, NonCritical: true}}}, false, "GET", 200,
			`{"status":"ok","checks":{"db":{"status":"ok","critical":true},"llm":{"status":"ok","critical":false}}}`},
		{"non-critical fails", &agentkit.Health{Checks: []agentkit.Check{{Name: "db", Run: pass}, {Name: "llm", Run: fail, NonCritical: true}}}, false, "GET", 200,
			`{"status":"degraded","checks":{"db":{"status":"ok","critical":true},"llm":{"status":"fail","critical":false}}}`},
		{"critical fails", &agentkit.Health{Checks: []agentkit.Check{{Name: "db", Run: fail}, {Name: "llm", Run: fail, NonCritical: true}}}, false, "GET", 503,
			`{"status":"unhealthy","checks":{"db":{"status":"fail","critical":true},"llm":{"status":"fail","critical":false}}}`},
		{"HEAD has no body", &agentkit.Health{}, false, "HEAD", 200, ``},
		{"POST not allowed", &agentkit.Health{}, false, "POST", 405, `method not allowed`},
		{"invalid", &agentkit.Health{Checks: []agentkit.Check{{Name: "db"}}, Logger: quiet}, false, "GET", 500, `{"status":"invalid"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a Health, draining or not
			if c.health.Logger == nil {
				c.health.Logger = quiet
			}
			if c.draining {
				c.health.SetDraining()
			}

			// WHEN it is asked
			rec := serveHealth(c.health, c.method)

			// THEN it answers the status and body
			want := c.body
			if want != "" {
				want += "\n"
			}
			if rec.Code != c.code || rec.Body.String() != want {
				t.Fatalf("got %d %q\nwant %d %q", rec.Code, rec.Body, c.code, want)
			}
		})
	}
}

func TestHealthCheckTimesOut(t *testing.T) {
	// GIVEN a critical check that takes longer than its 20ms timeout
	h := &agentkit.Health{Logger: quiet, Checks: []agentkit.Check{{Name: "slow", Timeout: 20 * time.Millisecond,
		Run: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}}}

	// WHEN health is asked
	rec := serveHealth(h, "GET")

	// THEN the check fails and the answer is 503
	if want := `{"status":"unhealthy","checks":{"slow":{"status":"fail","critical":true}}}` + "\n"; rec.Code != 503 || rec.Body.String() != want {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
}

func TestHealthCachesResultsAndSharesOneRun(t *testing.T) {
	// GIVEN a check that counts its runs and takes 50ms
	var runs atomic.Int32
	h := &agentkit.Health{Logger: quiet, CacheTTL: time.Hour, Checks: []agentkit.Check{{Name: "db",
		Run: func(context.Context) error { runs.Add(1); time.Sleep(50 * time.Millisecond); return nil }}}}

	// WHEN 20 probes arrive at once, then 20 more
	var wg sync.WaitGroup
	codes := make([]int, 40)
	for i := range 20 {
		wg.Go(func() { codes[i] = serveHealth(h, "GET").Code })
	}
	wg.Wait()
	for i := 20; i < 40; i++ {
		codes[i] = serveHealth(h, "GET").Code
	}

	// THEN the check ran once and every probe got 200
	if n := runs.Load(); n != 1 {
		t.Fatalf("check ran %d times, want 1", n)
	}
	for i, c := range codes {
		if c != 200 {
			t.Fatalf("probe %d: %d", i, c)
		}
	}
}

func TestHealthRerunsChecksAfterTheTTL(t *testing.T) {
	// GIVEN a check that fails once then passes, cached for 1ns
	var runs atomic.Int32
	h := &agentkit.Health{Logger: quiet, CacheTTL: time.Nanosecond, Checks: []agentkit.Check{{Name: "db",
		Run: func(context.Context) error {
			if runs.Add(1) == 1 {
				return errors.New("starting")
			}
			return nil
		}}}}

	// WHEN it is asked twice
	first, second := serveHealth(h, "GET").Code, serveHealth(h, "GET").Code

	// THEN the second answer reflects the new result
	if first != 503 || second != 200 {
		t.Fatalf("got %d then %d", first, second)
	}
}

func TestHealthDoesNotStackRunsOfAHungCheck(t *testing.T) {
	// GIVEN a check that ignores its context until released
	release := make(chan struct{})
	var runs atomic.Int32
	h := &agentkit.Health{Logger: quiet, CacheTTL: time.Nanosecond, Checks: []agentkit.Check{{Name: "hung", Timeout: 10 * time.Millisecond,
		Run: func(context.Context) error { runs.Add(1); <-release; return nil }}}}

	// WHEN it is asked three times
	for range 3 {
		if code := serveHealth(h, "GET").Code; code != 503 {
			t.Fatalf("got %d", code)
		}
	}
	close(release)

	// THEN the hung run was started once, not once per probe
	if n := runs.Load(); n != 1 {
		t.Fatalf("check started %d times, want 1", n)
	}
}

func TestHealthValidate(t *testing.T) {
	cases := []struct {
		name   string
		health *agentkit.Health
		want   string
	}{
		{"no name", &agentkit.Health{Checks: []agentkit.Check{{Run: pass}}}, `agentkit: Health.Checks[0] has no Name`},
		{"name twice", &agentkit.Health{Checks: []agentkit.Check{{Name: "db", Run: pass}, {Name: "db", Run: pass}}},
			`agentkit: Health.Checks[1] Name "db" is used twice; names must be unique`},
		{"no run", &agentkit.Health{Checks: []agentkit.Check{{Name: "db"}}}, `agentkit: Health check "db" has no Run func`},
		{"negative timeout", &agentkit.Health{Checks: []agentkit.Check{{Name: "db", Run: pass, Timeout: -time.Second}}},
			`agentkit: Health check "db" Timeout -1s is negative; use 0 for the default 1s`},
		{"negative TTL", &agentkit.Health{CacheTTL: -time.Second}, `agentkit: Health.CacheTTL -1s is negative; use 0 for the default 5s`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN an invalid Health WHEN it is validated
			err := c.health.Validate()

			// THEN the error names the field and the bad value
			if err == nil || err.Error() != c.want {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestHealthRequestLeavingWhileChecksRun(t *testing.T) {
	// GIVEN a slow check and a probe whose client leaves
	release := make(chan struct{})
	h := &agentkit.Health{Logger: quiet, Checks: []agentkit.Check{{Name: "slow",
		Run: func(context.Context) error { <-release; return nil }}}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()

	// WHEN health is asked
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil).WithContext(ctx))
	close(release)

	// THEN nothing is written (the client is gone) and a later probe gets
	// the shared run's result
	if rec.Body.Len() != 0 {
		t.Fatalf("wrote %q", rec.Body)
	}
	if code := serveHealth(h, "GET").Code; code != http.StatusOK {
		t.Fatalf("got %d", code)
	}
}

func TestHealthCheckThatPanicsFailsWithoutCrashing(t *testing.T) {
	cases := []struct {
		name        string
		nonCritical bool
		code        int
		body        string
	}{
		{"non-critical", true, 200, `{"status":"degraded","checks":{"buggy":{"status":"fail","critical":false}}}`},
		{"critical", false, 503, `{"status":"unhealthy","checks":{"buggy":{"status":"fail","critical":true}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a check with a bug: it panics
			var logs lockedBuffer
			h := &agentkit.Health{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Checks: []agentkit.Check{{
				Name: "buggy", NonCritical: c.nonCritical,
				Run: func(context.Context) error { var m map[string]int; m["x"]++; return nil },
			}}}

			// WHEN health is asked
			rec := serveHealth(h, "GET")

			// THEN the process is still here, the check failed as any
			// failing check does, and the panic is logged with its stack
			if rec.Code != c.code || rec.Body.String() != c.body+"\n" {
				t.Fatalf("got %d %q", rec.Code, rec.Body)
			}
			l := logs.String()
			if !strings.Contains(l, `"msg":"agentkit: health check panicked"`) || !strings.Contains(l, "assignment to entry in nil map") ||
				!strings.Contains(l, "health_test.go") {
				t.Fatalf("log lacks the panic and its stack:\n%s", l)
			}
		})
	}
}
