package agentkit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

func TestEnvDefaults(t *testing.T) {
	// GIVEN no contract variables in the environment
	for _, k := range []string{agentkit.EnvPort, agentkit.EnvStopTimeout, agentkit.EnvIdleTimeout} {
		t.Setenv(k, "")
	}

	// WHEN they are read
	port, perr := agentkit.PortFromEnv()
	stop, serr := agentkit.StopTimeoutFromEnv()
	idle, ierr := agentkit.IdleTimeoutFromEnv()

	// THEN the defaults apply
	if perr != nil || serr != nil || ierr != nil || port != 8080 || stop != 30*time.Second || idle != 60*time.Second {
		t.Fatalf("port %d %v, stop %s %v, idle %s %v", port, perr, stop, serr, idle, ierr)
	}
}

func TestDrainDeadlinesLeaveMarginsBeforeSIGKILL(t *testing.T) {
	for stop := agentkit.MinStopTimeout; stop <= agentkit.MaxStopTimeout; stop += 500 * time.Millisecond {
		// GIVEN any stop timeout Fargate accepts WHEN the timeline is computed
		cancelAt, closeAt := agentkit.DrainDeadlines(stop)

		// THEN work is cancelled at least 500ms before the close, which is at
		// least 1s before SIGKILL
		if cancelAt <= 0 || closeAt-cancelAt < 500*time.Millisecond || stop-closeAt < time.Second {
			t.Fatalf("stop %s: cancelAt %s closeAt %s", stop, cancelAt, closeAt)
		}
	}
}

func TestHeartbeatIntervalIsWellInsideTheIdleTimeout(t *testing.T) {
	cases := []struct{ idle, want time.Duration }{
		{time.Second, 250 * time.Millisecond},
		{60 * time.Second, 15 * time.Second},
		{4000 * time.Second, 15 * time.Second},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.idle), func(t *testing.T) {
			// GIVEN an idle timeout WHEN the heartbeat interval is derived
			// THEN it is a quarter of it, at most 15s
			if got := agentkit.HeartbeatInterval(c.idle); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}
