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
// Version pinning: ECS's valueFrom accepts a parameter's name or ARN but
// documents no version selector for Parameter Store (only Secrets Manager
// secrets take a version stage or id), and aws-cdk-lib leaves the version
// out of the parameter ARN it hands ECS. So a task always reads the
// parameter's latest version when it starts. A pinned Version is
// validated, kept on the imported parameter, and exposed by VersionLabels
// as container Docker labels: changing the pin changes the task
// definition, which rolls the service so that every task reads the value
// current at that deploy.
package secrets
