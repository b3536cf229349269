package agentkit

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// Budget is a spend budget per caller per window, held by each task (see
// "Caller budget" in the package documentation). A caller that has spent
// either amount in the current window is answered 429 until the window
// ends. A zero amount is no budget of that kind.
type Budget struct {
	// USD is the most estimated model spend, in US dollars, one caller
	// may run up on this task per window: above 0, at most MaxBudgetUSD.
	// The cost comes from the price table (Metrics.Prices, or
	// AGENTKIT_MODEL_PRICES), which it requires; a call to a model the
	// table does not list costs nothing here (a Tokens budget still
	// counts it).
	// Default: 0, no dollar budget.
	USD float64

	// Tokens is the most model tokens, input and output together, one
	// caller may use on this task per window: 1 to MaxBudgetTokens.
	// Default: 0, no token budget.
	Tokens int64

	// Window is the budget's window: fixed windows of this length from
	// the Unix epoch (an hour's begin on the hour, UTC), MinBudgetWindow
	// to MaxBudgetWindow.
	// Default: DefaultBudgetWindow (1h).
	Window time.Duration
}

// on reports whether b budgets anything.
func (b Budget) on() bool { return b.USD != 0 || b.Tokens != 0 }

// check holds b to the ranges documented on its fields; from names where
// it came from, for the message.
func (b Budget) check(usdName, tokensName, windowName string) error {
	if b.USD != 0 && !(b.USD > 0 && b.USD <= MaxBudgetUSD) {
		return fmt.Errorf("agentkit: %s %v is out of range; use US dollars above 0 up to %d, or 0 for no dollar budget", usdName, b.USD, MaxBudgetUSD)
	}
	if b.Tokens < 0 || b.Tokens > MaxBudgetTokens {
		return fmt.Errorf("agentkit: %s %d is out of range; use a whole number from 1 to %d, or 0 for no token budget", tokensName, b.Tokens, int64(MaxBudgetTokens))
	}
	if b.on() && (b.Window < MinBudgetWindow || b.Window > MaxBudgetWindow) {
		return fmt.Errorf("agentkit: %s %s is out of range; use %s to %s", windowName, b.Window, MinBudgetWindow, MaxBudgetWindow)
	}
	return nil
}

// BudgetFromEnv returns the budget that AGENTKIT_CALLER_BUDGET_USD,
// AGENTKIT_CALLER_BUDGET_TOKENS and AGENTKIT_CALLER_BUDGET_WINDOW set: a
// zero Budget (no budget) when neither amount is set, and Window
// DefaultBudgetWindow when it is unset.
func BudgetFromEnv() (Budget, error) {
	var b Budget
	if v := os.Getenv(EnvCallerBudgetUSD); v != "" {
		usd, err := strconv.ParseFloat(v, 64)
		if err != nil || !(usd > 0 && usd <= MaxBudgetUSD) {
			return Budget{}, fmt.Errorf("agentkit: %s %q is not an amount; use US dollars above 0 up to %d", EnvCallerBudgetUSD, v, MaxBudgetUSD)
		}
		b.USD = usd
	}
	n, err := intFromEnv(EnvCallerBudgetTokens, 0, 1, MaxBudgetTokens)
	if err != nil {
		return Budget{}, err
	}
	b.Tokens = n
	if b.Window, err = durationFromEnv(EnvCallerBudgetWindow, DefaultBudgetWindow, MinBudgetWindow, MaxBudgetWindow); err != nil {
		return Budget{}, err
	}
	if !b.on() {
		return Budget{}, nil
	}
	return b, nil
}

// budget resolves Server.Budget, or the environment's when it is nil, and
// the price table a dollar budget needs: a nil ledger when there is no
// budget.
func (s *Server) budget() (*ledger, error) {
	var b Budget
	if s.Budget == nil {
		var err error
		if b, err = BudgetFromEnv(); err != nil {
			return nil, err
		}
	} else {
		b = *s.Budget
		if b.Window == 0 {
			b.Window = DefaultBudgetWindow
		}
		if err := b.check("Server.Budget.USD", "Server.Budget.Tokens", "Server.Budget.Window"); err != nil {
			return nil, err
		}
	}
	if !b.on() {
		return nil, nil
	}
	var table map[string]meter.Price
	if s.Metrics != nil {
		table = s.Metrics.Prices
	}
	prices, err := meter.ResolvePrices(table)
	if err != nil {
		return nil, err
	}
	if b.USD > 0 && len(prices) == 0 {
		return nil, fmt.Errorf("agentkit: a caller budget of %v US dollars needs a price table to count dollars by; set %s (or Metrics.Prices), or budget Tokens instead", b.USD, EnvModelPrices)
	}
	now := s.now
	if now == nil {
		now = time.Now
	}
	return newLedger(b, prices, now), nil
}

// ledger is what each caller has spent in the current window, for one
// Server.
type ledger struct {
	Budget
	prices meter.Prices
	now    func() time.Time
	seed   maphash.Seed

	mu       sync.Mutex
	window   int64            // the current window's number since the epoch
	spent    map[uint64]spend // by the hash of the caller's name
	overflow spend            // the callers beyond MaxBudgetCallers, together
}

// spend is what one caller (or the overflow) spent in the window.
type spend struct {
	usd    float64
	tokens int64
}

func newLedger(b Budget, prices meter.Prices, now func() time.Time) *ledger {
	return &ledger{Budget: b, prices: prices, now: now, seed: maphash.MakeSeed(), spent: map[uint64]spend{}}
}

// roll starts a new window when now is past the current one, and returns
// when the current one ends. It is called with l.mu held.
func (l *ledger) roll() time.Duration {
	now := l.now().UnixNano()
	w := now / int64(l.Window)
	if w != l.window {
		l.window = w
		clear(l.spent) // keeps the map's memory: the next window reuses it
		l.overflow = spend{}
	}
	return time.Duration((w+1)*int64(l.Window) - now)
}

// account returns what name has spent in the window, and whether it is
// tracked on its own; a caller that is not, with MaxBudgetCallers tracked,
// is charged to the overflow.
func (l *ledger) account(key uint64) (spend, bool) {
	if s, ok := l.spent[key]; ok {
		return s, true
	}
	if len(l.spent) < MaxBudgetCallers {
		return spend{}, true
	}
	return l.overflow, false
}

// over reports whether name has spent its budget in the current window,
// and if so how long until the window ends.
func (l *ledger) over(name string) (time.Duration, bool) {
	key := maphashString(l, name)
	l.mu.Lock()
	defer l.mu.Unlock()
	left := l.roll()
	s, _ := l.account(key)
	if (l.USD > 0 && s.usd >= l.USD) || (l.Tokens > 0 && s.tokens >= l.Tokens) {
		return left, true
	}
	return 0, false
}

// charge adds a model call to what name has spent in the current window.
func (l *ledger) charge(name string, c ModelCall) {
	tokens := int64(max(c.InputTokens, 0)) + int64(max(c.OutputTokens, 0))
	var usd float64
	if l.USD > 0 {
		usd, _ = l.prices.Cost(ModelDimension(c.Model), c.InputTokens, c.OutputTokens)
	}
	key := maphashString(l, name)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll()
	s, own := l.account(key)
	s.usd += usd
	s.tokens += tokens
	if own {
		l.spent[key] = s
	} else {
		l.overflow = s
	}
}

// maphashString is the key name is tracked under: a 64-bit hash with a
// seed drawn at start, so that a tracked caller costs the same whatever
// its name's length, and no one can choose names that collide. Two names
// that collide anyway share a budget: among the MaxBudgetCallers of a
// window, a chance below one in 10^11.
func maphashString(l *ledger, name string) uint64 { return maphash.String(l.seed, name) }

// overBudget is the caller budget's refusal, wait before its window ends.
func overBudget(wait time.Duration) refusal {
	secs := max(int64(math.Ceil(wait.Seconds())), 1)
	return refusal{status: http.StatusTooManyRequests, retryAfter: strconv.FormatInt(secs, 10),
		msg: "the caller's budget for this window is spent; retry after the window ends"}
}

type ledgerKey struct{}

// withLedger makes ctx carry l, for RecordModelCall; a nil l leaves ctx.
func withLedger(ctx context.Context, l *ledger) context.Context {
	if l == nil {
		return ctx
	}
	return context.WithValue(ctx, ledgerKey{}, l)
}

func ledgerFrom(ctx context.Context) *ledger {
	l, _ := ctx.Value(ledgerKey{}).(*ledger)
	return l
}

// chargeCaller charges c to the caller of ctx, when ctx carries a ledger
// and a caller.
func chargeCaller(ctx context.Context, c ModelCall) {
	l := ledgerFrom(ctx)
	if l == nil {
		return
	}
	if caller, ok := CallerFrom(ctx); ok {
		l.charge(caller.Name, c)
	}
}

// budgeted answers 429 to a caller over its budget, after the caller
// check and before the handler; an anonymous request passes.
type budgeted struct {
	l    *ledger
	next http.Handler
}

// withBudget puts the budget in front of h; a nil l is no budget.
func withBudget(l *ledger, h http.Handler) http.Handler {
	if l == nil {
		return h
	}
	return &budgeted{l: l, next: h}
}

func (b *budgeted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, ok := CallerFrom(ctx)
	if !ok {
		b.next.ServeHTTP(w, r)
		return
	}
	if wait, over := b.l.over(c.Name); over {
		if m := meter.FromContext(ctx); m != nil {
			m.OverBudget()
		}
		refuse(w, r, overBudget(wait))
		return
	}
	// Serve's request contexts carry the ledger from their base; one made
	// by Server.Handler alone gets it here.
	if ledgerFrom(ctx) != b.l {
		r = r.WithContext(withLedger(ctx, b.l))
	}
	b.next.ServeHTTP(w, r)
}
