// Package timing turns the CDK's awscdk.Duration and count props into plain
// Go values for the CDK packages' pure-Go validation, and writes durations
// the way their messages show them. It is the one place that reads a
// Duration through jsii.
package timing

import (
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/token"
)

// Unresolved stands for a duration that is an unresolved CDK token.
// Validation skips every rule that involves it.
const Unresolved time.Duration = math.MinInt64

// UnresolvedCount stands for a count that is an unresolved CDK token.
// Validation skips every rule that involves it.
const UnresolvedCount = math.MinInt

// Seconds resolves d to a time.Duration. It reports false for a nil d and
// for a d whose amount is an unresolved token. Durations beyond what a
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

// Of returns the duration d holds, def when d is nil, and Unresolved when
// d is a token.
func Of(d awscdk.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	if v, ok := Seconds(d); ok {
		return v
	}
	return Unresolved
}

// Count returns the count n holds, def when n is nil, and UnresolvedCount
// when n is a token or does not fit an int. Counts that are not whole
// numbers are truncated: validate them first.
func Count(n *float64, def int) int {
	switch {
	case n == nil:
		return def
	case token.IsNumber(n) || math.IsNaN(*n) || math.Abs(*n) > 1<<53:
		return UnresolvedCount
	default:
		return int(*n)
	}
}

// Format writes d the way messages show it: whole seconds as "30s",
// anything finer as Go's time.Duration string.
func Format(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
