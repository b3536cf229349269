package healthcheck

import (
	"math"
	"time"
)

// Shift is how a blue/green, canary or linear deploy moves production
// traffic from the old tasks to the new ones. ECS starts a full set of new
// tasks beside the old set, moves the listener rule's weights to them in
// steps, holds each step for StepBakeTime, and after the last step keeps
// the old set for BakeTime: until then a rollback is a weight flip back to
// it. Then the old tasks are deregistered, drained and stopped.
type Shift struct {
	// Pauses is how many times traffic holds split between the two sets:
	// 0 for blue/green, 1 for canary, LinearPauses(step) for linear. ECS
	// does not hold after the last shift.
	Pauses int
	// StepBakeTime is how long each pause lasts.
	StepBakeTime time.Duration
	// BakeTime is how long the old set stays after all traffic has moved.
	BakeTime time.Duration
}

// LinearPauses is the number of pauses of a linear deploy that shifts
// stepPercent of the traffic at a time: one after each shift but the last,
// ceil(100 / stepPercent) - 1. It is CloudFormation's own count of
// "deployment steps" (AWS::ECS::Service LinearConfiguration: 100 /
// stepPercent - 1 when it divides evenly, floor(100 / stepPercent)
// otherwise). stepPercent is counted in the tenths ECS accepts.
func LinearPauses(stepPercent float64) int {
	tenths := int(math.Round(stepPercent * 10))
	if tenths <= 0 {
		return 0
	}
	return (1000+tenths-1)/tenths - 1
}

// TrafficTime is the time a Shift holds traffic split, plus its final
// bake: Pauses × StepBakeTime + BakeTime.
func (s Shift) TrafficTime() time.Duration {
	return time.Duration(s.Pauses)*s.StepBakeTime + s.BakeTime
}

// ShiftDeploy is the worst-case duration of a blue/green, canary or linear
// deploy with this budget: the new set becomes healthy (NewTaskHealthy; the
// tasks start together), traffic moves and bakes (s.TrafficTime), then the
// old set is drained (DeregistrationDelay) and stopped (StopTimeout, after
// which ECS sends SIGKILL):
//
//	NewTaskHealthy + Pauses × StepBakeTime + BakeTime + DeregistrationDelay + StopTimeout
//
// With the defaults and a canary of one 10-minute pause and a 5-minute bake
// it is 120s + 600s + 300s + 65s + 60s = 1145s. Lifecycle hooks, which may
// hold a stage for up to 24 hours, are not counted. It returns 0 when a
// field it needs is unresolved.
func (t Timing) ShiftDeploy(s Shift) time.Duration {
	healthy, ok := t.newTaskHealthy()
	if !ok || t.DeregistrationDelay == Unresolved || t.StopTimeout == Unresolved ||
		s.StepBakeTime == Unresolved || s.BakeTime == Unresolved {
		return 0
	}
	return healthy + s.TrafficTime() + t.DeregistrationDelay + t.StopTimeout
}
