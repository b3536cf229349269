package scaling_test

import (
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/scaling"
)

func FuzzPlan(f *testing.F) {
	f.Add(1.0, 10.0, 70.0, 100.0, 75.0, int64(60e9), int64(30e9), true)
	f.Add(-1.0, 0.0, 0.0, 0.0, 101.0, int64(-1), int64(1), false)
	f.Fuzz(func(t *testing.T, lo, hi, cpu, requests, memory float64, in, out int64, memoryOn bool) {
		// GIVEN any plan
		pol := func(target float64) scaling.PolicyPlan {
			return scaling.PolicyPlan{Enabled: true, Target: target, ScaleInCooldown: time.Duration(in), ScaleOutCooldown: time.Duration(out)}
		}
		p := scaling.Plan{MinCapacity: lo, MaxCapacity: hi, Cpu: pol(cpu), Requests: pol(requests), Memory: pol(memory)}
		p.Memory.Enabled = memoryOn
		// WHEN it is validated
		if err := p.Validate(); err != nil {
			// THEN a refusal carries the package prefix and no final period
			if msg := err.Error(); !strings.HasPrefix(msg, "scaling: ") || strings.HasSuffix(msg, ".") {
				t.Fatalf("bad message %q", msg)
			}
			return
		}
		// THEN an accepted plan keeps every rule
		if lo < 0 || hi < 1 || lo > hi || cpu < 1 || cpu > 100 || requests < 1 || in < 0 || out < 0 ||
			time.Duration(in)%time.Second != 0 || (memoryOn && (memory < 1 || memory > 100)) {
			t.Fatalf("Validate accepted %+v", p)
		}
	})
}
