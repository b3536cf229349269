package runs_test

import (
	"testing"

	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/runstest"
)

func TestMemoryStore(t *testing.T) {
	runstest.TestStore(t, func(*testing.T) runs.Store { return &runs.MemoryStore{} })
}
