// Package cdktest is the TestMain of the packages whose tests synthesize
// CDK stacks.
package cdktest

import (
	"os"
	"testing"

	"github.com/aws/jsii-runtime-go"
)

// Run runs m with aws-cdk-lib's built-in CloudFormation validation off,
// then closes the jsii runtime, and returns m's exit code; a package's
// TestMain is os.Exit(cdktest.Run(m)).
//
// Why off: aws-cdk-lib (since 2.262.0) checks every template it
// synthesizes with a built-in linter (CloudFormationValidatePlugin, in
// WebAssembly). Loading it costs a test process about 8 CPU-seconds before
// its first synthesis, and each synthesis after costs about a fifth more
// with it (measured on the web service's default stack: 13.5 CPU-s for six
// synthesises with it, 3.5 without). Its findings are warnings printed to
// stderr, which no test reads: the tests check templates with cdk-nag and
// cfn-lint. `cdk synth`, and the examples' apps when run as apps, keep it
// on.
//
// CDK_VALIDATION=false is the switch aws-cdk-lib 2.276.0 reads for it
// (the App prop builtinCloudFormationValidation is the other); it is set
// before the jsii runtime's Node.js process starts, so every app of the
// test process sees it. In that version it turns off nothing else: construct validations
// (Node.AddValidation) still run, which agentservice's
// TestTheCredentialGuardSeesVariablesAddedAfterNew would notice if a later
// version changed that.
func Run(m *testing.M) int {
	os.Setenv("CDK_VALIDATION", "false")
	// The runtime's client was made when the CDK packages registered their
	// types, at init, and took the environment of that moment; closing it
	// makes the first jsii call start one that has the variable. (The types
	// stay registered: the registry is the runtime's, not the client's.)
	jsii.Close()
	code := m.Run()
	jsii.Close()
	return code
}
