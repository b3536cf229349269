package agentkit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// What the caller budget adds to a request (the check before the handler,
// a caller's name hashed and looked up under a lock), against the same
// request without a budget; the caller check is a header read, so that
// the difference is the budget's. "on" is a request as Serve makes it,
// whose context carries the budget from its base; "on-Handler" one that
// only Server.Handler saw, which the budget copies to add itself to its
// context.
func BenchmarkCallerBudgetCheck(b *testing.B) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	on := &agentkit.Budget{Tokens: agentkit.MaxBudgetTokens}
	for _, c := range []struct {
		name   string
		budget *agentkit.Budget
		served bool
	}{{"off", &agentkit.Budget{}, false}, {"on", on, true}, {"on-Handler", on, false}} {
		b.Run(c.name, func(b *testing.B) {
			srv := &agentkit.Server{Auth: byHeader, Budget: c.budget, Logger: quiet}
			h := srv.Handler(ok)
			r := httptest.NewRequest(http.MethodPost, "/run", nil)
			if c.served {
				r = r.WithContext(agentkit.WithBudgetLedger(srv, r.Context()))
			}
			r.Header.Set(callerHeader, "caller-0042")
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// What RecordModelCall costs with the caller budget on (the call priced
// and charged to its caller), against the budget off; alone, and from
// every CPU at once for 1000 callers (the lock is the ledger's one).
func BenchmarkRecordModelCallBudget(b *testing.B) {
	prices := map[string]agentkit.ModelPrice{"sonnet": {Input: 3, Output: 15}}
	call := agentkit.ModelCall{Model: "sonnet", InputTokens: 1200, OutputTokens: 300, Latency: time.Second}
	for _, c := range []struct {
		name   string
		budget *agentkit.Budget
	}{{"off", &agentkit.Budget{}}, {"on", &agentkit.Budget{USD: agentkit.MaxBudgetUSD, Tokens: agentkit.MaxBudgetTokens}}} {
		srv := &agentkit.Server{Auth: byHeader, Budget: c.budget, Logger: quiet, Metrics: &agentkit.Metrics{Prices: prices}}
		ctxs := make([]context.Context, 1000)
		h := srv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var i int
			fmt.Sscan(r.Header.Get(callerHeader), &i)
			ctxs[i] = r.Context()
		}))
		for i := range ctxs {
			r := httptest.NewRequest(http.MethodPost, "/run", nil)
			r.Header.Set(callerHeader, fmt.Sprint(i))
			h.ServeHTTP(httptest.NewRecorder(), r)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				agentkit.RecordModelCall(ctxs[0], call)
			}
		})
		b.Run(c.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					agentkit.RecordModelCall(ctxs[i%len(ctxs)], call)
					i++
				}
			})
		})
	}
}
