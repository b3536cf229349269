package agentservice

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
)

// Admission defaults: what each task serves at once, and the largest body
// it reads (agentkit's "Admission").
const (
	// DefaultMiBPerRequestInFlight is the memory a request in flight is
	// assumed to hold, from which MaxRequestsInFlight's default comes: the
	// task's memory over it, 64 for the reference's 2 GiB. An agent request
	// that waits on a model holds its prompt, its answer and the SDK's
	// buffers, a few MiB; 32 leaves room for the runtime and the rest of
	// the process. It is an assumption, not a measurement: the dashboard's
	// most requests at once in a task and its memory use tell a service's
	// own figure.
	DefaultMiBPerRequestInFlight = 32

	// DefaultInFlightHeadroom is how far above the concurrency scaling's
	// target (requests in flight per task) MaxRequestsInFlight sits at
	// least, as a factor: at twice the target a task refuses only once its
	// load has doubled past what the scaling aims for, which the scaling
	// has been adding tasks against since the first three minutes above
	// the target (target tracking's scale-out alarm).
	DefaultInFlightHeadroom = 2

	// DefaultMaxRequestBodyBytes is the largest request body a task
	// accepts when MaxRequestBodyBytes is unset: agentkit's own default.
	DefaultMaxRequestBodyBytes = agentkit.DefaultMaxRequestBytes
)

// maxRequestsInFlight is the cap the tasks get: MaxRequestsInFlight, or
// its default from the task's memory and the concurrency target. ok is
// false when the default would come from a token (validation asks for the
// prop then).
func (p *Props) maxRequestsInFlight() (n *float64, ok bool) {
	if p.MaxRequestsInFlight != nil {
		return p.MaxRequestsInFlight, true
	}
	if token.IsNumber(p.MemoryLimitMiB) {
		return nil, false
	}
	byMemory := math.Max(1, math.Floor(p.memory()/DefaultMiBPerRequestInFlight))
	target, on := concurrencyTarget(p.Scaling)
	if !on {
		return jsii.Number(byMemory), true
	}
	if token.IsNumber(&target) {
		return nil, false
	}
	return jsii.Number(math.Max(byMemory, math.Ceil(DefaultInFlightHeadroom*target-1e-9))), true
}

// validateAdmission holds MaxRequestsInFlight and MaxRequestBodyBytes to
// what agentkit accepts, and the cap above the concurrency target, so that
// the service scales out before its tasks refuse.
func (p *Props) validateAdmission() error {
	if v := p.MaxRequestBodyBytes; v != nil && !token.IsNumber(v) && !wholeIn(*v, 1, agentkit.MaxRequestBytesLimit) {
		return fmt.Errorf("agentservice: MaxRequestBodyBytes %s is out of range; use a whole number of bytes from 1 to %d (1 GiB)", plain(*v), agentkit.MaxRequestBytesLimit)
	}
	n, ok := p.maxRequestsInFlight()
	if !ok {
		return errors.New("agentservice: Scaling.Concurrency.RequestsInFlightPerTask or MemoryLimitMiB is an unresolved token, so MaxRequestsInFlight cannot be derived from it; set MaxRequestsInFlight too")
	}
	if token.IsNumber(n) {
		return nil
	}
	if !wholeIn(*n, 1, agentkit.MaxInFlightLimit) {
		return fmt.Errorf("agentservice: MaxRequestsInFlight %s is out of range; use a whole number from 1 to %d", plain(*n), agentkit.MaxInFlightLimit)
	}
	if target, on := concurrencyTarget(p.Scaling); on && !token.IsNumber(&target) && *n <= target {
		return fmt.Errorf("agentservice: MaxRequestsInFlight %v is not above the concurrency scaling target %v (Scaling.Concurrency.RequestsInFlightPerTask); use more than %v, so that the service scales out before its tasks refuse requests",
			*n, target, target)
	}
	return nil
}

// plain formats v without an exponent: 1073741825, not 1.073741825e+09.
func plain(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func wholeIn(v float64, lo, hi int64) bool {
	return v == math.Trunc(v) && v >= float64(lo) && v <= float64(hi)
}

// admissionEnv is the container's side of agentkit's admission contract.
func (p *Props) admissionEnv() map[string]*string {
	n, _ := p.maxRequestsInFlight()
	return map[string]*string{
		agentkit.EnvMaxInFlight:     envNumber(n),
		agentkit.EnvMaxRequestBytes: envNumber(defaults.Ptr(p.MaxRequestBodyBytes, float64(DefaultMaxRequestBodyBytes))),
	}
}

// envNumber is a whole number as an environment variable's value; a token
// stays a token.
func envNumber(v *float64) *string {
	if token.IsNumber(v) {
		return awscdk.Tokenization_StringifyNumber(v)
	}
	return jsii.String(fmt.Sprint(int64(*v)))
}
