// Package e2e runs the two example binaries together, as ECS runs them,
// against a local AWS emulator (moto: SQS, DynamoDB, Secrets Manager): the
// web agent of examples/basic serving the durable run API, and the queue
// worker of examples/worker executing the runs. Its test holds the promise
// of package agentkit/runs end to end: every run ends once, with every
// event seen once and in order, through a killed worker, a stopped one, a
// drained web task and clients that drop their streams.
package e2e
