// Package scaling sets the task-count range of an ECS service and its
// target-tracking policies: CPU utilisation and requests per target (both
// on by default), memory utilisation (off by default). Each policy can be
// turned off or tuned (target and both cooldowns).
//
// Apply creates the policies under the service's scalable task count with
// the fixed construct IDs "Cpu", "Requests" and "Memory". Plan is the same
// configuration in plain Go values; its Validate holds every rule, so that
// Props.Validate needs jsii only to read durations and the rules can be
// fuzzed without it. Values that are unresolved CDK tokens are never
// judged.
//
// Scaling a queue worker on its backlog per task is a separate policy
// that will sit beside these three; Props and Plan leave room for it.
package scaling
