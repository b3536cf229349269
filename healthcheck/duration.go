package healthcheck

import (
	"math"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Seconds resolves d to a time.Duration. It reports false for a nil d and
// for a d whose amount is an unresolved token. It is the only function of
// this package's validation that calls into jsii. Durations beyond what a
// time.Duration holds (about 292 years) come back as the largest one.
func Seconds(d awscdk.Duration) (time.Duration, bool) {
	if d == nil || *d.IsUnresolved() {
		return 0, false
	}
	ms := *d.ToMilliseconds(&awscdk.TimeConversionOptions{Integral: jsii.Bool(false)})
	ns := ms * float64(time.Millisecond)
	if ns >= math.MaxInt64 {
		return math.MaxInt64, true
	}
	return time.Duration(math.Round(ns)), true
}

// resolve returns the duration d holds, def when d is nil, and Unresolved
// when d is a token.
func resolve(d awscdk.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	if v, ok := Seconds(d); ok {
		return v
	}
	return Unresolved
}
