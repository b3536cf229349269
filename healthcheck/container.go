package healthcheck

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/internal/token"
)

// ContainerProps configures the optional ECS container health check. The
// agent binary is its own probe (`/agent healthcheck` requests the health
// path on the local port), so distroless images need no curl or shell.
// The zero value (or a nil *ContainerProps) is the default probe.
type ContainerProps struct {
	// Command is the probe, starting with "CMD" (run directly) or
	// "CMD-SHELL" (run by /bin/sh). Default: ["CMD", "/agent",
	// agentkit.ProbeArg], which needs the agent binary at DefaultProbeBinary.
	Command *[]*string

	// Interval is the time between two probes, 5 to 300 s.
	// Default: DefaultContainerInterval (30 s).
	Interval awscdk.Duration

	// Timeout is how long one probe may take, 2 to 60 s and below Interval.
	// Default: DefaultContainerTimeout (5 s).
	Timeout awscdk.Duration

	// Retries is the number of failed probes in a row that mark the
	// container unhealthy, 1 to 10. Default: DefaultContainerRetries (3).
	Retries *float64

	// StartPeriod is the time after start during which failed probes do not
	// count, 0 to 300 s. Default: DefaultContainerStartPeriod (10 s).
	StartPeriod awscdk.Duration
}

// containerTiming holds the container probe's timing in plain Go values; a
// field that is an unresolved token holds Unresolved or UnresolvedCount.
type containerTiming struct {
	// Interval is the time between two probes.
	Interval time.Duration
	// Timeout is how long one probe may take.
	Timeout time.Duration
	// StartPeriod is the time after start during which failures do not count.
	StartPeriod time.Duration
	// Retries is the number of failed probes that mark the container unhealthy.
	Retries int
}

// Validate reports the first value ECS would refuse or that makes no
// sense: Interval 5..300 s, Timeout 2..60 s and below Interval, StartPeriod
// 0..300 s, all in whole seconds, Retries 1..10.
func (c containerTiming) Validate() error {
	checks := []error{
		checkDuration("Interval", c.Interval, minContainerInterval, maxContainerInterval),
		checkDuration("Timeout", c.Timeout, minContainerTimeout, maxContainerTimeout),
		checkBelow("Timeout", c.Timeout, "Interval", c.Interval),
		checkIntCount("Retries", c.Retries, minContainerRetries, maxContainerRetries),
		checkDuration("StartPeriod", c.StartPeriod, 0, maxContainerStartPeriod),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkCommand reports whether ECS accepts cmd as a health-check command:
// "CMD" or "CMD-SHELL" followed by at least one non-empty argument.
func checkCommand(cmd []string) error {
	if len(cmd) < 2 || (cmd[0] != "CMD" && cmd[0] != "CMD-SHELL") {
		return errorf("%s %q is not a health-check command; use [\"CMD\", binary, args...] or [\"CMD-SHELL\", script]", name("Command"), cmd)
	}
	for i, arg := range cmd[1:] {
		if arg == "" {
			return errorf("%s %q has an empty argument at position %d; drop it or fill it in", name("Command"), cmd, i+1)
		}
	}
	return nil
}

// Validate reports the first prop that ECS would refuse or that makes no
// sense. A nil receiver is the default probe and valid. Unresolved tokens
// are not judged.
func (p *ContainerProps) Validate() error {
	if p == nil {
		return nil
	}
	if p.Command != nil {
		cmd := make([]string, 0, len(*p.Command))
		judged := true
		for _, s := range *p.Command {
			if s == nil {
				cmd = append(cmd, "")
				continue
			}
			judged = judged && !token.IsString(s)
			cmd = append(cmd, *s)
		}
		if judged {
			if err := checkCommand(cmd); err != nil {
				return err
			}
		}
	}
	if p.Retries != nil && !token.IsNumber(p.Retries) {
		if err := checkCount("Retries", *p.Retries, minContainerRetries, maxContainerRetries); err != nil {
			return err
		}
	}
	t := p.timing()
	if err := t.Validate(); err != nil {
		return err
	}
	// The agent probe gives up after agentkit.ProbeTimeout; a shorter ECS
	// timeout would kill it first and count a healthy agent as failing.
	if min := agentkit.ProbeTimeout + time.Second; p.Command == nil && t.Timeout != Unresolved && t.Timeout < min {
		return errorf("%s %s is too short for the agent probe, which waits up to %s for /health; use at least %s", name("Timeout"), timing.Format(t.Timeout), timing.Format(agentkit.ProbeTimeout), timing.Format(min))
	}
	return nil
}

func (p *ContainerProps) timing() containerTiming {
	return containerTiming{
		Interval:    timing.Of(p.Interval, DefaultContainerInterval),
		Timeout:     timing.Of(p.Timeout, DefaultContainerTimeout),
		StartPeriod: timing.Of(p.StartPeriod, DefaultContainerStartPeriod),
		Retries:     timing.Count(p.Retries, DefaultContainerRetries),
	}
}
