package stacktest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// Delete deletes the stack, as `cdk destroy` does, and waits until no
// stack of its name is left. moto keeps what a DeletionPolicy of Retain
// keeps, as CloudFormation does, and refuses to create a log group whose
// name exists, so a Deploy of the same template after Delete fails where a
// real redeploy would, on a fixed name the first deployment left behind.
// Delete fails the test when the stack does not delete.
func (d *Deployment) Delete(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	client := cloudformation.NewFromConfig(d.Config)
	_, err := client.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(d.StackID)})
	switch {
	case motoCouldNotDelete(err):
		t.Logf("stacktest: delete stack %s: moto kept what its CloudFormation cannot delete (see moto.go): %v", d.StackName, err)
	case err != nil:
		t.Fatalf("stacktest: delete stack %s: %v", d.StackName, err)
	default:
		if err := d.wait(ctx, "DELETE_COMPLETE"); err != nil {
			t.Fatalf("stacktest: delete stack %s: %v", d.StackName, err)
		}
	}
	if err := d.gone(ctx, client); err != nil {
		t.Fatalf("stacktest: delete stack %s: %v", d.StackName, err)
	}
}

// DeployAgain runs the rest of the cycle `cdk deploy`, `cdk destroy`,
// `cdk deploy` on a deployment of s: it deletes the stack (Delete) and
// deploys s's template again under the same name, to the same emulator,
// and returns the new deployment. It fails the test when a step fails (on
// moto the second deploy fails on a fixed name the first left behind, see
// Delete), and unless every log group the stack keeps at its delete
// (DeletionPolicy Retain) has, in the second deployment, a name other than
// the one the first left behind.
func (d *Deployment) DeployAgain(t testing.TB, s *Synthesized) *Deployment {
	t.Helper()
	kept := map[string]string{}
	for id, r := range s.Resources("AWS::Logs::LogGroup") {
		if r["DeletionPolicy"] == "Retain" {
			kept[id] = d.PhysicalIDs[id]
		}
	}
	d.Delete(t)
	again := Deploy(t, d.endpoint, d.StackName, s.TemplatePath)
	for id, before := range kept {
		if after := again.PhysicalIDs[id]; before == "" || after == before {
			t.Errorf("stacktest: log group %s kept at delete: first deployment %q, second %q; want two different names", id, before, after)
		}
	}
	return again
}

// gone reports an error unless DescribeStacks knows no live stack of the
// deployment's name: a deleted stack is found by its ID only.
func (d *Deployment) gone(ctx context.Context, client *cloudformation.Client) error {
	out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(d.StackName)})
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationError" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe stack: %w", err)
	}
	return fmt.Errorf("stack is still %s", out.Stacks[0].StackStatus)
}
