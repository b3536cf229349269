package scantest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/internal/mototest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

func TestRunsPassCdkNag(t *testing.T) {
	// GIVEN a web service and a worker sharing a RunStore, synthesized
	// with cdk-nag's AwsSolutions pack (TestTemplatesPassCfnLint lints
	// it, TestEveryServicePrincipalIsConfined walks it)
	s := astest.Runs.Synth(t)

	// THEN nothing is left unsuppressed in the construct tree
	stacktest.NoFindings(t, s.Findings)
	// AND, in the template as a scanner of CloudFormation reads it, nothing
	// of AwsSolutions, and no rule that could not run
	scan := stacktest.ScanPacks(t, s.TemplatePath, stacktest.Packs...)
	stacktest.NoFindings(t, scan[stacktest.AwsSolutions])
	stacktest.NoFindings(t, scan[""])
	// AND the runs add no AwsSolutions suppression: the table has
	// point-in-time recovery (DDB3) and its key rotates (KMS5), and the
	// grants name the table and the key; the suppressions are those of the
	// two constructs at their defaults
	stacktest.ExpectSuppressions(t, s.Suppressions(stacktest.AwsSolutions),
		stacktest.Suppression{Path: "/Runs/Agent/APIKeys/Resource", Rule: "AwsSolutions-SMG4"},
		stacktest.Suppression{Path: "/Runs/Agent/AccessLogs/Resource", Rule: "AwsSolutions-S1"},
		stacktest.Suppression{Path: "/Runs/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR1"},
		stacktest.Suppression{Path: "/Runs/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR2"},
		stacktest.Suppression{Path: "/Runs/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR3"},
		stacktest.Suppression{Path: "/Runs/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR4"},
		stacktest.Suppression{Path: "/Runs/Agent/TaskDef/Resource", Rule: "AwsSolutions-ECS2"},
		stacktest.Suppression{Path: "/Runs/Worker/TaskDef/Resource", Rule: "AwsSolutions-ECS2"},
		stacktest.Suppression{Path: "/Runs/Worker/TaskDef/TaskRole/DefaultPolicy/Resource", Rule: "AwsSolutions-IAM5",
			AppliesTo: []string{"Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<WorkerCluster89E4DD17>/*"}},
		stacktest.Suppression{Path: "/Runs/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role", Rule: "AwsSolutions-IAM4",
			AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
	)
	// AND the compliance packs find in the template only the web service's
	// one decision left to its user, deletion protection of its load
	// balancer: the table is on-demand (DynamoDBAutoScalingEnabled) with
	// point-in-time recovery (DynamoDBPITREnabled), its key rotates, every
	// alarm notifies the topic, and its not being in an AWS Backup plan
	// (DynamoDBInBackupPlan) is the accepted finding of docs/compliance.md
	for pack, rules := range map[stacktest.Pack][]string{
		stacktest.NIST80053R5: {"ELBDeletionProtectionEnabled"},
		stacktest.HIPAA:       {"ELBDeletionProtectionEnabled"},
		stacktest.PCIDSS321:   nil,
	} {
		stacktest.ExpectFindings(t, pack, scan[pack], rules...)
	}
}

// dynamoDB calls the DynamoDB JSON API of the emulator (the AWS SDK's
// DynamoDB client is not a dependency of this module) and decodes its
// answer into out.
func dynamoDB(t *testing.T, d *stacktest.Deployment, action string, in, out any) {
	t.Helper()
	ctx := context.Background()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, aws.ToString(d.Config.BaseEndpoint)+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+action)
	creds, err := d.Config.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "dynamodb", d.Config.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("dynamodb %s: %v", action, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dynamodb %s: %s %s", action, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("dynamodb %s: %v: %s", action, err, b)
	}
}

// tableDescription is what the test reads of DescribeTable.
type tableDescription struct {
	Table struct {
		TableName            string
		TableStatus          string
		KeySchema            []struct{ AttributeName, KeyType string }
		AttributeDefinitions []struct{ AttributeName, AttributeType string }
		BillingModeSummary   struct{ BillingMode string }
		SSEDescription       struct {
			Status, SSEType, KMSMasterKeyArn string
		}
	}
}

// TestRunsDeployDestroyAndDeployAgain deploys the runs' stack twice side by
// side to one moto_server, deletes one and deploys it again.
//
// What moto 5.2.1 does with the runs table: its CloudFormation makes the
// table from KeySchema, AttributeDefinitions and BillingMode, keeps
// SSESpecification but describes no encryption (it looks for "Enabled",
// where CloudFormation's property is "SSEEnabled"), and drops
// TimeToLiveSpecification and PointInTimeRecoverySpecification without an
// error (DescribeTimeToLive answers DISABLED): the template tests hold
// those three. It keeps a resource whose DeletionPolicy is Retain, as
// CloudFormation does. It checks no key policy. So nothing needs adapting
// (forMoto leaves the table alone), and the deploy proves the template
// deploys, that the table's generated names differ between two stacks and
// between a deploy and the deploy after a destroy, and that the destroy
// leaves the table where it was.
func TestRunsDeployDestroyAndDeployAgain(t *testing.T) {
	// GIVEN the runs' stack, synthesized
	s := astest.Runs.Synth(t)
	// WHEN it is deployed twice, as RunsA and RunsB, to one emulator: this
	// talks to the emulator with no jsii call, so it starts now and runs
	// while the package's sequential tests do
	mototest.Require(t)
	var (
		a, b   *stacktest.Deployment
		errs   [2]error
		stop   func()
		launch error
	)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		srv, err := mototest.Launch()
		if err != nil {
			launch = err
			return
		}
		stop = srv.Stop
		ctx := context.Background()
		a, errs[0] = stacktest.DeployContext(ctx, srv.Endpoint, "RunsA", s.TemplatePath)
		b, errs[1] = stacktest.DeployContext(ctx, srv.Endpoint, "RunsB", s.TemplatePath)
	}()
	t.Cleanup(func() {
		<-finished
		if stop != nil {
			stop()
		}
	})
	t.Parallel()
	<-finished
	if launch != nil {
		t.Fatalf("mototest: %v", launch)
	}
	for _, err := range errs {
		if err != nil {
			t.Fatalf("stacktest: %v", err)
		}
	}
	tableID := logicalIDOf(t, s, "AWS::DynamoDB::Table", "RunsTable")
	keyID := logicalIDOf(t, s, "AWS::KMS::Key", "RunsKey")

	// THEN both stacks complete, each with a table of its own name
	nameA, nameB := a.PhysicalIDs[tableID], b.PhysicalIDs[tableID]
	if nameA == "" || nameB == "" || nameA == nameB {
		t.Fatalf("tables %q and %q; want two, named apart", nameA, nameB)
	}
	// AND the table has agentkit's keys, on-demand billing and the stack's key
	var desc tableDescription
	dynamoDB(t, a, "DescribeTable", map[string]any{"TableName": nameA}, &desc)
	got := fmt.Sprintf("%s %s %v %v", desc.Table.TableStatus, desc.Table.BillingModeSummary.BillingMode,
		desc.Table.KeySchema, desc.Table.AttributeDefinitions)
	want := fmt.Sprintf("ACTIVE PAY_PER_REQUEST [{%s HASH} {%s RANGE}] [{%s S} {%s S}]", agentkit.RunsTablePartitionKey, agentkit.RunsTableSortKey,
		agentkit.RunsTablePartitionKey, agentkit.RunsTableSortKey)
	if got != want {
		t.Errorf("table %s:\n  %s\nwant\n  %s", nameA, got, want)
	}
	// AND the key moto made is the one the table names, should moto
	// describe it: moto 5.2.1 keeps SSESpecification but describes it only
	// when it holds "Enabled", where CloudFormation's property is
	// "SSEEnabled", so it describes no encryption (the template tests hold it)
	switch sse, key := desc.Table.SSEDescription, a.PhysicalIDs[keyID]; {
	case sse.SSEType == "":
		t.Logf("moto describes no encryption of a table its CloudFormation made (it reads SSESpecification.Enabled, not SSEEnabled)")
	case sse.SSEType != "KMS" || key == "" || !strings.HasSuffix(sse.KMSMasterKeyArn, key):
		t.Errorf("table %s is encrypted with %s %q, want KMS and the stack's key %q", nameA, sse.SSEType, sse.KMSMasterKeyArn, key)
	}
	// AND moto dropped the time-to-live (the template tests hold it), or,
	// should a later moto make it, made it on agentkit's attribute
	var ttl struct {
		TimeToLiveDescription struct{ TimeToLiveStatus, AttributeName string }
	}
	dynamoDB(t, a, "DescribeTimeToLive", map[string]any{"TableName": nameA}, &ttl)
	switch d := ttl.TimeToLiveDescription; {
	case d.TimeToLiveStatus == "DISABLED":
		t.Logf("moto's CloudFormation dropped TimeToLiveSpecification (DescribeTimeToLive: DISABLED)")
	case d.AttributeName != agentkit.RunsTableTTLAttribute:
		t.Errorf("time to live %+v, want attribute %q", d, agentkit.RunsTableTTLAttribute)
	}

	// WHEN RunsA is destroyed and deployed again
	again := a.DeployAgain(t, s.Synthesized)

	// THEN the first table is still there, and the new deployment has a
	// table of another name
	var kept tableDescription
	dynamoDB(t, again, "DescribeTable", map[string]any{"TableName": nameA}, &kept)
	if kept.Table.TableName != nameA || kept.Table.TableStatus != "ACTIVE" {
		t.Errorf("after the destroy, table %s is %q %q; want it kept", nameA, kept.Table.TableName, kept.Table.TableStatus)
	}
	if nameC := again.PhysicalIDs[tableID]; nameC == "" || nameC == nameA || nameC == nameB {
		t.Errorf("the deploy after the destroy made table %q; want a name other than %q and %q", nameC, nameA, nameB)
	}
	// AND no physical name in the template is fixed
	if fixed := stacktest.FixedNames(s.Synthesized.Template); len(fixed) > 0 {
		t.Errorf("fixed physical names: %s", strings.Join(fixed, ", "))
	}
}
