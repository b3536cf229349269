// Package scaling sets the task-count range of an ECS service and its
// target-tracking policies: CPU utilisation, requests per target and
// concurrency, the average requests in flight per task that agentkit.Server
// reports (all three on by default), and memory utilisation (off by
// default). Each policy can be turned off or tuned (target and both
// cooldowns).
//
// Apply creates the policies under the service's scalable task count with
// the fixed construct IDs "Cpu", "Requests", "Memory" and "Concurrency". Props.Validate
// holds every rule in plain Go and needs jsii only to read durations that
// are set, so the rules can be fuzzed without it. Values that are
// unresolved CDK tokens are never judged.
//
// A queue worker scales on its backlog per task instead: see
// agentservice.NewWorker.
package scaling
