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
// A key only the task may use: by default a SecureString parameter is
// encrypted with the account's AWS-managed aws/ssm key, which any principal
// allowed ssm:GetParameter on it may decrypt: an administrator, a CI role,
// the agent's own task role. NewParameterKey makes a customer-managed key
// whose policy lets the account manage it and encrypt with it through
// Parameter Store, and lets decrypt with it only the execution roles Bind
// grants the parameters to, through Parameter Store only (kms:ViaService):
//
//	key := secrets.NewParameterKey(stack, jsii.String("ParameterKey"))
//	list := secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY")
//	for _, s := range list {
//		s.EncryptionKey = key
//	}
//	// then: aws ssm put-parameter --name /agents/prod/OPENAI_API_KEY \
//	//   --type SecureString --key-id <the key's ARN> --value ...
//
// The parameters must be encrypted with that key (a value put under
// aws/ssm stays readable as before); see docs/secrets.md.
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
