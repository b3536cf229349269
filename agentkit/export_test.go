package agentkit

import (
	"context"
	"time"
)

// SetJWKSTimings replaces, for one verifier, JWKSRefetchInterval,
// JWKSMaxAge and JWKSFetchTimeout, so that tests of the key set's cache
// run in milliseconds rather than in the constants' seconds and hours.
func SetJWKSTimings(v *JWTVerifier, refetch, maxAge, fetchTimeout time.Duration) {
	v.refetch, v.maxAge, v.fetchTimeout = refetch, maxAge, fetchTimeout
}

// SetBudgetClock replaces the caller budget's clock, time.Now, for one
// Server, before any of its methods is called, so that tests move through
// windows without sleeping.
func SetBudgetClock(s *Server, now func() time.Time) { s.now = now }

// BudgetSpent returns what name has spent in the current window of s's
// caller budget (the overflow's spend when name is not tracked and
// MaxBudgetCallers are), and how many callers it tracks.
func BudgetSpent(s *Server, name string) (usd float64, tokens int64, tracked int) {
	s.Draining() // resolves the budget
	l := s.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll()
	a, _ := l.account(maphashString(l, name))
	return a.usd, a.tokens, len(l.spent)
}

// WithBudgetLedger returns ctx carrying s's caller budget, as Serve's
// request contexts do from their base context, so that benchmarks of
// Handler see what a served request costs.
func WithBudgetLedger(s *Server, ctx context.Context) context.Context {
	s.Draining() // resolves the budget
	return withLedger(ctx, s.ledger)
}

// SetALBKeyEndpoint has one verifier fetch its keys from base+kid instead
// of the load balancer's region's endpoint, and replaces, for it,
// JWKSRefetchInterval and JWKSFetchTimeout.
func SetALBKeyEndpoint(v *ALBVerifier, base string, refetch, fetchTimeout time.Duration) {
	v.keyBase, v.refetch, v.fetchTimeout = base, refetch, fetchTimeout
}

// ALBKeyURL is where v fetches the key kid names.
func ALBKeyURL(v *ALBVerifier, kid string) string { return v.keyURL(kid) }
