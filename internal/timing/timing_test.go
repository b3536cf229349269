package timing_test

import (
	"os"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/timing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

func TestSecondsResolvesDurations(t *testing.T) {
	cases := []struct {
		name string
		d    awscdk.Duration
		want float64 // seconds; -1 = not resolved
	}{
		{"nil", nil, -1},
		{"seconds", awscdk.Duration_Seconds(jsii.Number(30)), 30},
		{"minutes", awscdk.Duration_Minutes(jsii.Number(2)), 120},
		{"millis", awscdk.Duration_Millis(jsii.Number(1500)), 1.5},
		{"token", awscdk.Duration_Seconds(awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())), -1},
	}
	for _, c := range cases {
		// GIVEN a duration WHEN Seconds resolves it THEN it has the right value, or none
		got, ok := timing.Seconds(c.d)
		if c.want < 0 {
			if ok {
				t.Errorf("%s: Seconds = %v, true; want false", c.name, got)
			}
			continue
		}
		if !ok || got.Seconds() != c.want {
			t.Errorf("%s: Seconds = %v, %v; want %vs, true", c.name, got, ok, c.want)
		}
	}
}

func TestOfAndCountFillDefaultsAndMarkTokens(t *testing.T) {
	// GIVEN an unset, a set and a token duration and count
	token := awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())
	five := 5.0

	// WHEN each is read with a default
	// THEN nil is the default, a value is itself and a token is unresolved
	if got := timing.Of(nil, 7*time.Second); got != 7*time.Second {
		t.Errorf("Of(nil, 7s) = %v", got)
	}
	if got := timing.Of(awscdk.Duration_Minutes(jsii.Number(2)), time.Second); got != 2*time.Minute {
		t.Errorf("Of(2 min, 1s) = %v", got)
	}
	if got := timing.Of(awscdk.Duration_Seconds(token), time.Second); got != timing.Unresolved {
		t.Errorf("Of(token, 1s) = %v, want Unresolved", got)
	}
	if got := timing.Count(nil, 3); got != 3 {
		t.Errorf("Count(nil, 3) = %v", got)
	}
	if got := timing.Count(&five, 3); got != 5 {
		t.Errorf("Count(5, 3) = %v", got)
	}
	if got := timing.Count(token, 3); got != timing.UnresolvedCount {
		t.Errorf("Count(token, 3) = %v, want UnresolvedCount", got)
	}
}

func TestFormatWritesWholeSecondsPlainly(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 30 * time.Second: "30s", 2 * time.Minute: "120s", 1500 * time.Millisecond: "1.5s",
	} {
		// GIVEN a duration WHEN a message writes it THEN whole seconds read as seconds
		if got := timing.Format(d); got != want {
			t.Errorf("Format(%v) = %q, want %q", d, got, want)
		}
	}
}
