package scantest_test

import (
	"os"
	"testing"

	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

func TestMain(m *testing.M) { os.Exit(astest.Run(m)) }
