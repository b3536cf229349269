package agentkit

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// The runtime contract shared with the CDK side. The agentservice construct
// imports these names; agentkit never imports CDK code.
const (
	// HealthPath is the path the load balancer and the container probe check.
	HealthPath = "/health"

	// EnvPort names the environment variable that holds the container port.
	EnvPort = "PORT"

	// EnvStopTimeout names the environment variable that holds the
	// container's ECS stopTimeout as a Go duration (for example "60s").
	// agentkit finishes its drain before it, so the process exits on its
	// own before ECS sends SIGKILL.
	EnvStopTimeout = "AGENTKIT_STOP_TIMEOUT"

	// EnvIdleTimeout names the environment variable that holds the load
	// balancer's idle timeout as a Go duration. agentkit keeps idle
	// keep-alive connections open longer than it (or the ALB answers 502)
	// and sends stream heartbeats well inside it.
	EnvIdleTimeout = "AGENTKIT_IDLE_TIMEOUT"

	// ProbeArg is the argument that runs an agent binary as its own
	// container health check: `agent healthcheck`.
	ProbeArg = "healthcheck"
)

// Defaults used when the environment does not say otherwise.
const (
	// DefaultPort is the port used when PORT is unset.
	DefaultPort = 8080

	// DefaultStopTimeout is ECS's own default stopTimeout, used when
	// AGENTKIT_STOP_TIMEOUT is unset.
	DefaultStopTimeout = 30 * time.Second

	// MaxStopTimeout is the largest stopTimeout Fargate accepts.
	MaxStopTimeout = 120 * time.Second

	// MinStopTimeout is the smallest stopTimeout agentkit can drain within:
	// below it there is no room for the safety margin.
	MinStopTimeout = 2 * time.Second

	// DefaultIdleTimeout is the ALB's own default idle timeout, used when
	// AGENTKIT_IDLE_TIMEOUT is unset.
	DefaultIdleTimeout = 60 * time.Second

	// MaxIdleTimeout is the largest idle timeout an ALB accepts.
	MaxIdleTimeout = 4000 * time.Second
)

// PortFromEnv returns the port in PORT, or DefaultPort when it is unset.
func PortFromEnv() (int, error) {
	v, ok := os.LookupEnv(EnvPort)
	if !ok || v == "" {
		return DefaultPort, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("agentkit: %s %q is not a port; use a number from 1 to 65535", EnvPort, v)
	}
	return p, nil
}

// StopTimeoutFromEnv returns the duration in AGENTKIT_STOP_TIMEOUT, or
// DefaultStopTimeout when it is unset.
func StopTimeoutFromEnv() (time.Duration, error) {
	return durationFromEnv(EnvStopTimeout, DefaultStopTimeout, MinStopTimeout, MaxStopTimeout)
}

// IdleTimeoutFromEnv returns the duration in AGENTKIT_IDLE_TIMEOUT, or
// DefaultIdleTimeout when it is unset.
func IdleTimeoutFromEnv() (time.Duration, error) {
	return durationFromEnv(EnvIdleTimeout, DefaultIdleTimeout, time.Second, MaxIdleTimeout)
}

func durationFromEnv(name string, def, lo, hi time.Duration) (time.Duration, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("agentkit: %s %q is not a Go duration (for example \"60s\"): %w", name, v, err)
	}
	if d < lo || d > hi {
		return 0, fmt.Errorf("agentkit: %s %s is out of range; use %s to %s", name, d, lo, hi)
	}
	return d, nil
}
