// Package agentservice puts an AI agent's HTTP service on ECS Fargate
// behind an Application Load Balancer, with production defaults, in one
// construct:
//
//	agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
//		Image:   agentservice.ImageFromDirectory("./agent"),
//		Secrets: secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY"),
//	})
//
// New makes (or reuses, when given) a VPC and a cluster, a log group, the
// Fargate task definition and its container, the load balancer with its
// listener and target group, the service, its autoscaling (CPU, requests
// per target, and requests in flight per task from agentkit's metrics), a
// CloudWatch dashboard, a latency alarm and a stack output with the
// service URL. Every child is an exported field of Service, so a
// caller can reach past the construct the way aws-ecs-patterns allows.
//
// NewWorker makes the other half of an agent platform: long jobs (minutes,
// not seconds) go through an SQS queue to a worker service without a load
// balancer, scaled on the queue's backlog per task with CloudWatch metric
// math (no Lambda), from zero when the first message arrives. Its tasks run
// agentkit/sqsworker, which heartbeats message visibility, holds ECS task
// scale-in protection while busy and releases unfinished jobs on SIGTERM, so
// no job is lost or run twice on a deploy or a scale-in. It shares the web
// service's defaults for the network, the container, logging and secrets.
//
// # Defaults
//
// The defaults are the reference stack: 2 availability zones with 1 NAT
// gateway, Container Insights on, 1 vCPU and 2 GiB, 2 tasks, port 8080,
// awslogs with stream prefix "agent" kept one week, a public load balancer,
// the health check and timing budget of package healthcheck and the
// scaling of package scaling. Deployments are rolling and safe: minimum
// healthy 100 %, maximum 200 %, and the deployment circuit breaker rolls a
// failing deployment back. Props.Deployment turns on ECS's blue/green,
// canary or linear deploys instead (see Deployment), and Props.DeployTime
// gives the worst-case duration of one deploy of any of them.
//
// # The contract with agentkit
//
// The container gets PORT, AGENTKIT_STOP_TIMEOUT (its stopTimeout) and
// AGENTKIT_IDLE_TIMEOUT (the load balancer's idle timeout), the names
// package agentkit defines. An agent built on agentkit therefore drains
// within the stop timeout and keeps its keep-alive connections open longer
// than the load balancer's, without any configuration of its own.
//
// It also gets AGENTKIT_METRICS_NAMESPACE and AGENTKIT_METRICS_SERVICE
// (and AGENTKIT_MODEL_PRICES with ModelPrices): where agentkit writes its
// metrics, as CloudWatch Embedded Metric Format lines in the logs. The
// construct scales on them (the concurrency policy tracks
// agentkit.MetricRequestsInFlight), graphs them on its dashboard, and
// names them only through agentkit's constants, so the two sides cannot
// drift apart. The Service dimension is the stack name and the
// construct's path ("BasicAgent/Agent"); a worker's metrics are the same
// family with its own Service.
//
// # Bad input
//
// New validates its props before it creates anything and panics with the
// message of Props.Validate, which names the prop, the bad value and what
// is allowed. Callers that prefer an error call Validate first. Values that
// are unresolved tokens are not judged. Every message starts
// "agentservice: " and names the prop as it is written on Props, also when
// package healthcheck, scaling or secrets judges it
// ("agentservice: HealthCheck.Interval 4s is out of range; use 5s to
// 300s"); a value the construct derives from another prop (the
// deregistration delay from RequestTimeout) is reported as the prop it
// comes from.
//
// # Construct IDs
//
// The IDs of the children are part of the contract, since renaming one
// replaces the resource. Service: Vpc, Cluster, Logs, TaskDef, LB,
// LBSecurityGroup, TargetGroup, Service, URL, Target5xxAlarm,
// UnhealthyTargetsAlarm, LatencyAlarm, Dashboard, AccessLogs (the bucket),
// Certificate and Alias (with a domain), ExecLogs (with ECS Exec),
// AlternateTargetGroup, ProductionRule, TestRule and DeployRole (with a
// blue/green-family Deployment), under LB, Listener, and under the
// service's task count the policies of package scaling (Cpu, Requests,
// Memory, Concurrency). Worker: Vpc, Cluster, Logs, TaskDef, Queue,
// DeadLetterQueue, DeadLetterAlarm, OldestMessageAlarm, Dashboard, Service,
// QueueUrl, and under the service's task count BacklogPerTask,
// ScaleFromZero and ScaleFromZeroAlarm.
package agentservice
