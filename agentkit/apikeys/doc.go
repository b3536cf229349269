// Package apikeys keeps an agent's API keys in one AWS Secrets Manager
// secret and refreshes them without a restart: rotate a key in the secret,
// and every task takes the new set within RefreshInterval. It is the
// agentkit.APIKeySource for agentkit.APIKeyAuth; it lives apart from agentkit
// because it needs the AWS SDK, and agentkit imports only the standard
// library.
//
// # The secret
//
// The secret's current value (stage AWSCURRENT) is a JSON object of caller
// names to keys, one key per caller:
//
//	{"billing-batch": "k3Y...", "support-bot": "Qz9..."}
//
// Each key is at least agentkit.MinAPIKeyLength (16) printable ASCII
// characters without spaces, unique, and names its caller in the logs and in
// agentkit.CallerFrom; agentkit.NewAPIKeySet gives the rules. Callers send
// their key as "Authorization: Bearer <key>".
//
// To rotate a caller's key without refusing it for a moment, give the
// caller a second name with the new key ({"support-bot": "old",
// "support-bot-2": "new"}), wait RefreshInterval, move the caller to the new
// key, then drop the old name. Removing a key refuses it on every task
// within RefreshInterval.
//
// # Refresh and failures
//
// FromEnv (or Load) reads the secret once before the server starts, and
// fails when it cannot: a task without access to its keys should fail its
// deployment, not serve 503s. Run then reads it every RefreshInterval
// (DefaultRefreshInterval, 1 minute; FromEnv takes another from
// AGENTKIT_API_KEYS_REFRESH_INTERVAL), each read bounded by FetchTimeout.
// A read that fails, or a value that is not a valid key set, is logged and
// changes nothing: the last good set stays in force, so an outage of Secrets
// Manager refuses no caller. Each read is one GetSecretValue call: at the
// default interval, 43,200 a month per task.
//
// # Permissions
//
// The task role (not the execution role: the task reads the secret itself,
// at run time) needs secretsmanager:GetSecretValue on the secret, and, when
// the secret is encrypted with a customer managed KMS key, kms:Decrypt on
// that key. The task needs a route to Secrets Manager (a NAT gateway or an
// interface VPC endpoint).
package apikeys
