// Package scantest holds no code: its tests hold the main option
// combinations of package agentservice's constructs (astest's cases) to
// what a security team and a first deploy run over them: cdk-nag's
// AwsSolutions pack on the construct tree and every compliance pack on the
// template, cfn-lint, the confused-deputy walker, and deploys to moto. They
// are a package of their own so that their test process runs beside
// agentservice's template tests: `go test ./...` then keeps each package
// well inside its time on a two-core machine.
package scantest
