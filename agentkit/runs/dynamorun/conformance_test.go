package dynamorun_test

import (
	"testing"

	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/runstest"
)

// TestConformanceAgainstMoto holds the store to runs.Store's contract
// (runstest) on a table made as the construct makes it. moto evaluates the
// condition expressions the store relies on (the stale holder's writes are
// refused there, and TestMotoEvaluatesTheConditions reads the table to be
// sure).
func TestConformanceAgainstMoto(t *testing.T) {
	s, _, _ := motoStore(t)
	runstest.TestStore(t, func(*testing.T) runs.Store { return s })
}
