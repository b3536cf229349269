package agentservice_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestCDKPackagesDoNotLinkTheRuntimesSQSCode(t *testing.T) {
	// GIVEN the go command
	goCmd, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go command not found on PATH")
		}
		t.Skip("go command not found on PATH; install Go to run this test")
	}

	// WHEN the dependencies of the CDK packages are listed
	out, err := exec.Command(goCmd, "list", "-deps", "../agentservice", "../healthcheck", "../scaling", "../secrets").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}

	// THEN neither the consumer nor the AWS SDK's SQS client is among them:
	// the contract they share with the runtime is agentkit's constants
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/agentcdk/agentcdk/agentkit/sqsworker") || strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/sqs") {
			t.Errorf("a CDK package depends on %s", pkg)
		}
	}
}
