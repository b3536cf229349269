// Package secrets turns SSM Parameter Store parameters (SecureString,
// optionally pinned to a version) and Secrets Manager secrets (whole, or
// one JSON field) into ECS container secrets: environment variables that
// ECS fills when the task starts, so no secret value ever appears in the
// CloudFormation template.
//
// Least privilege: ECS grants the task's execution role read access to
// exactly the parameters and secrets handed to the container (the
// parameter's ARN; the secret's ARN), and kms:Decrypt on exactly the
// customer-managed key given as EncryptionKey. Nothing is granted on a
// wildcard or a path prefix.
//
// Version pinning, and what ECS reads when: ECS reads a Parameter Store
// secret when it starts a task, and always reads the parameter's latest
// version; valueFrom has no version selector for Parameter Store (only
// Secrets Manager secrets take a version stage or id; see
// aws/containers-roadmap#636), and aws-cdk-lib leaves the version out of
// the ARN it hands ECS. A running task keeps the value it started with. So
// a pinned Version cannot choose the value; the agentservice constructs
// write it as a container Docker label (VersionLabels), so that changing
// the pin changes the task definition: the next deploy starts new tasks,
// which read the parameter's latest version. To roll out a new value, put
// it as a new version of the parameter, then raise the pin and deploy.
package secrets
