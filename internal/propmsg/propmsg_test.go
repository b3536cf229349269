package propmsg_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/agentcdk/agentcdk/internal/propmsg"
)

func TestAMessageIsRenderedWhereThePropWasSet(t *testing.T) {
	// GIVEN a message of package healthcheck about two of its props
	err := propmsg.Errorf("healthcheck", "%s %s is not below %s %s; use a timeout shorter than the interval",
		propmsg.Name("Timeout"), "30s", propmsg.Name("Interval"), "30s")
	cases := []struct {
		name string
		got  error
		want string
	}{
		{"as its own package writes it", err,
			"healthcheck: Timeout 30s is not below Interval 30s; use a timeout shorter than the interval"},
		{"under a nested prop", propmsg.In(err, "agentservice", propmsg.Prefix("HealthCheck.")),
			"agentservice: HealthCheck.Timeout 30s is not below HealthCheck.Interval 30s; use a timeout shorter than the interval"},
		{"with the same names", propmsg.In(err, "agentservice", propmsg.Same),
			"agentservice: Timeout 30s is not below Interval 30s; use a timeout shorter than the interval"},
		{"with only some names mapped", propmsg.In(err, "agentservice", func(n propmsg.Name) string {
			return map[propmsg.Name]string{"Interval": "Every"}[n]
		}), "agentservice: Timeout 30s is not below Every 30s; use a timeout shorter than the interval"},
		{"within a prop", propmsg.Within(err, "agentservice", "Secrets"),
			"agentservice: Secrets: Timeout 30s is not below Interval 30s; use a timeout shorter than the interval"},
		{"wrapped, under a nested prop", propmsg.In(fmt.Errorf("check: %w", err), "agentservice", propmsg.Prefix("HealthCheck.")),
			"agentservice: HealthCheck.Timeout 30s is not below HealthCheck.Interval 30s; use a timeout shorter than the interval"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// WHEN it is rendered THEN it reads as the caller's
			if c.got == nil || c.got.Error() != c.want {
				t.Fatalf("got %v\nwant %s", c.got, c.want)
			}
		})
	}
	// AND the original is untouched
	if want := "healthcheck: Timeout 30s is not below Interval 30s; use a timeout shorter than the interval"; err.Error() != want {
		t.Errorf("original = %s", err)
	}
}

func TestOtherErrorsPassThrough(t *testing.T) {
	// GIVEN an error that is not a propmsg.Error, and no error
	plain := errors.New("agentservice: Cpu 1000 is not a Fargate size")

	// WHEN each is rendered for another package THEN it is unchanged
	if got := propmsg.In(plain, "x", propmsg.Same); got != plain {
		t.Errorf("In changed a plain error: %v", got)
	}
	if got := propmsg.Within(plain, "x", "P"); got != plain {
		t.Errorf("Within changed a plain error: %v", got)
	}
	if propmsg.In(nil, "x", propmsg.Same) != nil || propmsg.Within(nil, "x", "P") != nil {
		t.Error("a nil error became one")
	}
}
