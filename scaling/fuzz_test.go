package scaling_test

import (
	"math"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/scaling"
)

// FuzzValidate judges any capacities and targets; with its cooldowns left
// unset, Props.Validate runs without jsii.
func FuzzValidate(f *testing.F) {
	f.Add(1.0, 10.0, 70.0, 100.0, 75.0, true, false)
	f.Add(-1.0, 0.0, 0.0, 0.0, 101.0, false, true)
	f.Fuzz(func(t *testing.T, lo, hi, cpu, requests, memory float64, memoryOn, requestsOff bool) {
		// GIVEN any props
		p := &scaling.Props{
			MinCapacity: &lo, MaxCapacity: &hi,
			Cpu: &scaling.TargetProps{TargetPercent: &cpu},
		}
		if requestsOff {
			p.DisableRequests = &requestsOff
		} else {
			p.Requests = &scaling.RequestProps{RequestsPerTarget: &requests}
		}
		if memoryOn {
			p.Memory = &scaling.TargetProps{TargetPercent: &memory}
		}
		// WHEN they are validated
		if err := p.Validate(); err != nil {
			// THEN a refusal carries the package prefix and no final period
			if msg := err.Error(); !strings.HasPrefix(msg, "scaling: ") || strings.HasSuffix(msg, ".") {
				t.Fatalf("bad message %q", msg)
			}
			return
		}
		// THEN accepted props keep every rule
		if lo < 0 || hi < 1 || lo > hi || lo != math.Trunc(lo) || hi != math.Trunc(hi) ||
			cpu < 1 || cpu > 100 || (!requestsOff && requests < 1) || (memoryOn && (memory < 1 || memory > 100)) {
			t.Fatalf("Validate accepted min %v max %v cpu %v requests %v (off %v) memory %v (on %v)",
				lo, hi, cpu, requests, requestsOff, memory, memoryOn)
		}
	})
}
