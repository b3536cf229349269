package agentservice

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/internal/token"
)

// CallerBudget is a spend budget per caller per window, which each task's
// agentkit enforces (agentkit.Budget; see "Caller budget" in its package
// documentation and docs/caller-identity.md): a caller that has spent
// either amount in the current window is answered 429 with Retry-After
// until the window ends. Set at least one amount.
//
// It holds per task, in the task's memory: the service-wide bound for
// one caller is the budget times the tasks that serve it (up to the
// scaling's maximum, and a task that starts during a window starts with
// every caller's budget whole). Requests without a caller (the caller
// check's opt-out) are not budgeted.
type CallerBudget struct {
	// USDPerWindow is the most estimated model spend, in US dollars, one
	// caller may run up on one task per window, from the prices in
	// ModelPrices, which it requires (calls to models ModelPrices does not
	// list cost nothing here). Above 0, at most agentkit.MaxBudgetUSD. The
	// container gets it as AGENTKIT_CALLER_BUDGET_USD.
	//
	// Default: - no dollar budget.
	USDPerWindow *float64

	// TokensPerWindow is the most model tokens, input and output together,
	// one caller may use on one task per window: a whole number from 1 to
	// agentkit.MaxBudgetTokens. The container gets it as
	// AGENTKIT_CALLER_BUDGET_TOKENS.
	//
	// Default: - no token budget.
	TokensPerWindow *float64

	// Window is the budget's window: fixed windows of this length from the
	// Unix epoch (an hour's begin on the hour, UTC), from 1 minute to 24
	// hours. In any span of one window, a caller may spend up to twice the
	// budget on a task (the end of one window and the start of the next),
	// plus what its requests admitted under budget go on to spend: the
	// budget is checked when a request arrives, and a call already running
	// is never cut. The container gets it as AGENTKIT_CALLER_BUDGET_WINDOW.
	//
	// Default: 1 hour (agentkit.DefaultBudgetWindow).
	Window awscdk.Duration
}

// validateCallerBudget holds CallerBudget to what agentkit accepts: an
// amount at least, each in range, a window of 1 minute to 24 hours, and
// ModelPrices for a dollar budget.
func (p *Props) validateCallerBudget() error {
	b := p.CallerBudget
	if b == nil {
		return nil
	}
	if b.USDPerWindow == nil && b.TokensPerWindow == nil {
		return errors.New("agentservice: CallerBudget sets neither USDPerWindow nor TokensPerWindow; set one of them, or leave CallerBudget nil for no budget")
	}
	if p.Auth != nil && p.Auth.method == agentkit.AuthNone {
		return errors.New("agentservice: CallerBudget is set with Auth AuthNone; a budget is kept per caller, and with no caller check every request is anonymous and unbudgeted: drop AuthNone (API keys by default, or AuthJWT), or drop CallerBudget")
	}
	if v := b.USDPerWindow; v != nil && !token.IsNumber(v) {
		if !(*v > 0 && *v <= agentkit.MaxBudgetUSD) {
			return fmt.Errorf("agentservice: CallerBudget.USDPerWindow %v is out of range; use US dollars above 0 up to %d", *v, agentkit.MaxBudgetUSD)
		}
		if len(p.ModelPrices) == 0 {
			return fmt.Errorf("agentservice: CallerBudget.USDPerWindow %v is set without ModelPrices; the tasks count dollars by the prices ModelPrices gives, so give them, or budget TokensPerWindow instead", *v)
		}
	}
	if v := b.TokensPerWindow; v != nil && !token.IsNumber(v) && !wholeIn(*v, 1, agentkit.MaxBudgetTokens) {
		return fmt.Errorf("agentservice: CallerBudget.TokensPerWindow %s is out of range; use a whole number from 1 to %d", plain(*v), int64(agentkit.MaxBudgetTokens))
	}
	if w, ok := timing.Seconds(b.Window); ok && (w < agentkit.MinBudgetWindow || w > agentkit.MaxBudgetWindow) {
		return fmt.Errorf("agentservice: CallerBudget.Window %s is out of range; use %s to %s", timing.Format(w), timing.Format(agentkit.MinBudgetWindow), timing.Format(agentkit.MaxBudgetWindow))
	}
	return nil
}

// callerBudgetEnv is the container's side of agentkit's caller budget;
// empty without a CallerBudget.
func (p *Props) callerBudgetEnv() map[string]*string {
	b := p.CallerBudget
	if b == nil {
		return nil
	}
	env := map[string]*string{}
	if v := b.USDPerWindow; v != nil {
		if token.IsNumber(v) {
			env[agentkit.EnvCallerBudgetUSD] = awscdk.Tokenization_StringifyNumber(v)
		} else {
			env[agentkit.EnvCallerBudgetUSD] = jsii.String(strconv.FormatFloat(*v, 'f', -1, 64))
		}
	}
	if v := b.TokensPerWindow; v != nil {
		env[agentkit.EnvCallerBudgetTokens] = envNumber(v)
	}
	window := b.Window
	if window == nil {
		window = awscdk.Duration_Seconds(jsii.Number(math.Round(agentkit.DefaultBudgetWindow.Seconds())))
	}
	env[agentkit.EnvCallerBudgetWindow] = envDuration(window)
	return env
}
