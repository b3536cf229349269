// Package healthcheck holds the health checks of an agent service and its
// timing budget: the ALB target-group health check with its ECS grace
// period, the optional ECS container health check (the agent binary probes
// itself, so distroless images need no curl), and Timing, the pure-Go
// budget that ties deregistration delay, stop timeout, idle timeout and
// the health checks together and checks them against each other; it also
// times a deploy: one rolling step (Timing.DeployStep) or a blue/green,
// canary or linear traffic shift (Timing.ShiftDeploy).
//
// Every optional prop has a documented default, exported as a Default...
// constant. The health path is agentkit.HealthPath: the runtime package
// defines it and this package imports it, never the other way round.
//
// Validation happens in plain Go: Props.Validate and ContainerProps.Validate
// read their awscdk.Duration values once and hand every rule to the same
// checks Timing.Validate uses, so a range is written down once. Values that
// are unresolved CDK tokens are never judged. The agentservice constructs
// turn these props into the target group, the service's grace period and
// the container definition.
package healthcheck
