package healthcheck_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/healthcheck"
)

func TestLinearPausesIsCloudFormationsStepCount(t *testing.T) {
	cases := []struct {
		step float64
		want int
	}{
		{100, 0}, {50, 1}, {33.3, 3}, {25, 3}, {20, 4}, {11, 9}, {10, 9}, {3, 33}, {0.1, 999}, {0, 0},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.step), func(t *testing.T) {
			// GIVEN a linear step WHEN its pauses are counted
			got := healthcheck.LinearPauses(c.step)

			// THEN there is one after each shift but the last
			if got != c.want {
				t.Errorf("LinearPauses(%v) = %d, want %d", c.step, got, c.want)
			}
		})
	}
}

func TestShiftDeployAddsEveryPhase(t *testing.T) {
	min := time.Minute
	cases := []struct {
		name  string
		shift healthcheck.Shift
		want  time.Duration
	}{
		// 120 s healthy + traffic + 65 s drained + 60 s stopped
		{"blue/green, 5 min bake", healthcheck.Shift{BakeTime: 5 * min}, 545 * time.Second},
		{"canary, 10 min step, 5 min bake", healthcheck.Shift{Pauses: 1, StepBakeTime: 10 * min, BakeTime: 5 * min}, 1145 * time.Second},
		{"linear 10 %, 6 min steps, 5 min bake", healthcheck.Shift{Pauses: 9, StepBakeTime: 6 * min, BakeTime: 5 * min}, 3785 * time.Second},
		{"no bake at all", healthcheck.Shift{}, 245 * time.Second},
		{"unresolved bake", healthcheck.Shift{BakeTime: healthcheck.Unresolved}, 0},
		{"unresolved step", healthcheck.Shift{Pauses: 1, StepBakeTime: healthcheck.Unresolved}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the default budget WHEN a shifted deploy is timed
			got := healthcheck.DefaultTiming().ShiftDeploy(c.shift)

			// THEN it is healthy + pauses × step + bake + drained + stopped
			if got != c.want {
				t.Errorf("ShiftDeploy(%+v) = %v, want %v", c.shift, got, c.want)
			}
		})
	}
}

func TestShiftDeployIsZeroWhenTheBudgetIsUnresolved(t *testing.T) {
	// GIVEN a budget whose stop timeout is a token
	tm := healthcheck.DefaultTiming()
	tm.StopTimeout = healthcheck.Unresolved

	// WHEN a blue/green deploy is timed THEN there is no figure to give
	if got := tm.ShiftDeploy(healthcheck.Shift{BakeTime: time.Minute}); got != 0 {
		t.Errorf("ShiftDeploy = %v, want 0", got)
	}
}
