package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/internal/cdktest"
	"github.com/agentcdk/agentcdk/internal/mototest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

func TestMain(m *testing.M) {
	os.Exit(cdktest.Run(m))
}

// synthWorker builds the example's stack in a fresh app and synthesizes it
// once with the given cdk-nag packs.
func synthWorker(t *testing.T, packs ...stacktest.Pack) *stacktest.Synthesized {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	app := stacktest.NewApp(t)
	return stacktest.Synth(t, newStack(app, "WorkerAgent", root), packs...)
}

// The suppressions a reviewer accepts on the example's stack; anything else
// cdk-nag finds must be fixed.
var workerSuppressions = []stacktest.Suppression{
	// The web agent's, as on examples/basic:
	// CloudFront on its own domain (docs/front.md): the country list is the
	// owner's, the web ACL is on the load balancer (CLOUDFRONT scope is
	// us-east-1 only), the load balancer's access log has every request, and
	// the default certificate's minimum protocol is fixed at TLSv1.
	{Path: "/WorkerAgent/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR1"},
	{Path: "/WorkerAgent/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR2"},
	{Path: "/WorkerAgent/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR3"},
	{Path: "/WorkerAgent/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR4"},
	// the access-log bucket cannot log to itself;
	{Path: "/WorkerAgent/Agent/AccessLogs/Resource", Rule: "AwsSolutions-S1"},
	// PORT and the AGENTKIT_* timings are the runtime contract, not secrets;
	{Path: "/WorkerAgent/Agent/TaskDef/Resource", Rule: "AwsSolutions-ECS2"},
	// the callers' API keys rotate by put-secret-value without a deploy,
	// read by the tasks every minute;
	{Path: "/WorkerAgent/Agent/APIKeys/Resource", Rule: "AwsSolutions-SMG4"},
	// ecr:GetAuthorizationToken has no resource-level permissions: it lives
	// in a policy of its own, so the suppression covers no grant of yours.
	{Path: "/WorkerAgent/Agent/TaskDef/ExecutionRole/InherentPolicy", Rule: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*"}},
	// The worker's:
	// the queue URL, concurrency and stop timeout are the contract, not secrets;
	{Path: "/WorkerAgent/Worker/TaskDef/Resource", Rule: "AwsSolutions-ECS2"},
	// scale-in protection is set on the task's own ARN, known only at run time;
	{Path: "/WorkerAgent/Worker/TaskDef/TaskRole/DefaultPolicy/Resource", Rule: "AwsSolutions-IAM5",
		AppliesTo: []string{"Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<AgentClusterF1EC2E82>/*"}},
	// ecr:GetAuthorizationToken has no resource-level permissions: it lives
	// in a policy of its own, so the suppression covers no grant of yours.
	{Path: "/WorkerAgent/Worker/TaskDef/ExecutionRole/InherentPolicy", Rule: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*"}},
	// The CDK's provider that empties the default security group logs
	// through the managed Lambda basic execution policy.
	{Path: "/WorkerAgent/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role", Rule: "AwsSolutions-IAM4",
		AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
}

func TestWorkerStack(t *testing.T) {
	// GIVEN the example's stack, synthesized once with cdk-nag's AwsSolutions pack
	s := synthWorker(t, stacktest.AwsSolutions)
	// AND its template scanned, as a scanner of CloudFormation reads it, by
	// every pack in one synthesis
	scan := stacktest.ScanPacks(t, s.TemplatePath, stacktest.Packs...)

	t.Run("resources", func(t *testing.T) {
		// THEN one VPC and one cluster hold two services: the web agent and the worker
		for typ, want := range map[string]int{
			"AWS::EC2::VPC":                               1,
			"AWS::ECS::Cluster":                           1,
			"AWS::ECS::Service":                           2,
			"AWS::ElasticLoadBalancingV2::LoadBalancer":   1,
			"AWS::SQS::Queue":                             2,
			"AWS::SQS::QueuePolicy":                       2,
			"AWS::ApplicationAutoScaling::ScalableTarget": 2,
			// web: CPU, requests and concurrency; worker: backlog per task and scale from zero
			"AWS::ApplicationAutoScaling::ScalingPolicy": 5,
			// web: 5xx, unhealthy targets, latency, rejected EMF lines and
			// failed runs; worker: dead letters, oldest message, scale from
			// zero, rejected EMF lines and failed runs
			"AWS::CloudWatch::Alarm": 10,
			// the runs both services share
			"AWS::DynamoDB::Table": 1,
			// one for each
			"AWS::CloudWatch::Dashboard": 2,
		} {
			if got := len(s.Resources(typ)); got != want {
				t.Errorf("%d %s, want %d", got, typ, want)
			}
		}
		// AND the worker keeps 40 visible messages per task: 5 min × 4 jobs / 30 s jobs
		if got := backlogTargets(s.Template["Resources"].(map[string]any)); !slices.Equal(got, []float64{40}) {
			t.Errorf("backlog targets = %v, want [40]", got)
		}
		// AND the web agent gets the queue URL, and its role may send to the queue
		queue := s.LogicalID(t, "AWS::SQS::Queue", "/WorkerAgent/Worker/Queue/Resource")
		web := containerEnv(t, s, "/WorkerAgent/Agent/TaskDef/Resource")
		if got := fmt.Sprint(web[EnvAgentQueueURL]); got != fmt.Sprint(map[string]any{"Ref": queue}) {
			t.Errorf("web agent's %s = %s, want the worker queue's URL", EnvAgentQueueURL, got)
		}
		if !rolePolicyHas(s, "AgentTaskDefTaskRole", "sqs:SendMessage", map[string]any{"Fn::GetAtt": []any{queue, "Arn"}}) {
			t.Error("the web agent's task role may not send to the worker's queue")
		}
		// AND the worker gets the queue URL, the concurrency, the stop timeout and the job length
		worker := containerEnv(t, s, "/WorkerAgent/Worker/TaskDef/Resource")
		got := fmt.Sprint(worker["AGENTKIT_QUEUE_URL"], " ", worker["AGENTKIT_WORKER_CONCURRENCY"], " ", worker["AGENTKIT_STOP_TIMEOUT"], " ", worker["AGENT_SIMULATED_LATENCY"])
		if want := fmt.Sprint(map[string]any{"Ref": queue}, " 4 120s 30s"); got != want {
			t.Errorf("worker environment = %s, want %s", got, want)
		}
		// AND both read and write the one runs table, whose name each gets
		table := s.LogicalID(t, "AWS::DynamoDB::Table", "/WorkerAgent/Runs/Table/Resource")
		for name, env := range map[string]map[string]any{"web agent": web, "worker": worker} {
			if got := fmt.Sprint(env["AGENTKIT_RUNS_TABLE"]); got != fmt.Sprint(map[string]any{"Ref": table}) {
				t.Errorf("%s's AGENTKIT_RUNS_TABLE = %s, want the runs table's name", name, got)
			}
		}
		// AND both write their metrics to one namespace, told apart by the Service dimension
		got = fmt.Sprint(web["AGENTKIT_METRICS_NAMESPACE"], " ", web["AGENTKIT_METRICS_SERVICE"], " ", worker["AGENTKIT_METRICS_NAMESPACE"], " ", worker["AGENTKIT_METRICS_SERVICE"])
		if want := "AgentCDK WorkerAgent/Agent AgentCDK WorkerAgent/Worker"; got != want {
			t.Errorf("metrics namespace and Service (web, worker) = %s, want %s", got, want)
		}
	})

	t.Run("cdk-nag AwsSolutions", func(t *testing.T) {
		// THEN nothing is left unsuppressed, in the construct tree or in the
		// template, and no rule failed to run
		stacktest.NoFindings(t, s.Findings)
		stacktest.NoFindings(t, scan[stacktest.AwsSolutions])
		stacktest.NoFindings(t, scan[""])
		// AND exactly the accepted suppressions are in the template
		stacktest.ExpectSuppressions(t, s.Suppressions(stacktest.AwsSolutions), workerSuppressions...)
	})

	// Confused-deputy conditions: the ECS task role and the VPC flow log
	// role name their source (task-iam-roles.html, flow-logs-iam-role.html
	// in the ECS and VPC guides), the alarm topic and its key name the
	// account's alarms, the log key CloudWatch Logs' encryption context;
	// stacktest.DeputyExceptions lists, with its AWS page, each statement
	// whose guide documents none.
	t.Run("confused deputy", func(t *testing.T) {
		// THEN every policy statement that lets an AWS service in is
		// confined to this account, or a documented exception
		for _, open := range stacktest.UnconfinedServiceStatements(s.Template, stacktest.DeputyExceptions) {
			t.Error(open)
		}
	})

	t.Run("compliance packs", func(t *testing.T) {
		// THEN the NIST 800-53 R5, HIPAA Security and PCI DSS 3.2.1 packs
		// find only what examples/basic leaves to its user: deletion
		// protection off (the README lists it)
		decisions := map[stacktest.Pack][]string{
			stacktest.NIST80053R5: {"ELBDeletionProtectionEnabled"},
			stacktest.HIPAA:       {"ELBDeletionProtectionEnabled"},
			stacktest.PCIDSS321:   nil,
		}
		for pack, rules := range decisions {
			stacktest.ExpectFindings(t, pack, scan[pack], rules...)
		}
	})

	// cfn-lint and the deploy to moto make no jsii call: they run side by
	// side once the subtests above are done.
	t.Run("cfn-lint", func(t *testing.T) {
		t.Parallel()
		// WHEN cfn-lint checks the template
		// THEN it reports no error and no warning
		stacktest.CfnLint(t, s.TemplatePath)
	})

	t.Run("a real account", func(t *testing.T) { realAccount(t, s) })

	t.Run("deploys, is destroyed and deploys again in moto", func(t *testing.T) {
		t.Parallel()
		// GIVEN a local AWS emulator
		endpoint := mototest.Start(t)

		// WHEN the template is deployed
		d := stacktest.Deploy(t, endpoint, "WorkerAgent", s.TemplatePath)
		if len(d.Skipped) > 0 {
			t.Logf("moto's CloudFormation does not implement (not deployed): %s", strings.Join(d.Skipped, ", "))
		}

		// THEN the job queue sends a message to the DLQ after 5 receives,
		// hides a received one for 60 s and keeps messages 4 days
		client := sqs.NewFromConfig(d.Config)
		url := d.Outputs[outputKey(t, s, "WorkerQueueUrl")]
		attrs, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("get the job queue's attributes (%q): %v", url, err)
		}
		dlq := d.PhysicalIDs[s.LogicalID(t, "AWS::SQS::Queue", "/WorkerAgent/Worker/DeadLetterQueue/Resource")]
		got := fmt.Sprint(attrs.Attributes["VisibilityTimeout"], " ", attrs.Attributes["MessageRetentionPeriod"], " ",
			strings.Contains(attrs.Attributes["RedrivePolicy"], `"maxReceiveCount": 5`) || strings.Contains(attrs.Attributes["RedrivePolicy"], `"maxReceiveCount":5`),
			" ", strings.Contains(attrs.Attributes["RedrivePolicy"], queueName(dlq)))
		if want := "60 345600 true true"; got != want {
			t.Errorf("job queue: visibility, retention, redrive after 5, to the DLQ = %s, want %s (redrive policy %s)", got, want, attrs.Attributes["RedrivePolicy"])
		}
		// AND both services exist in the one cluster
		if n := len(d.Services(t)); n != 2 {
			t.Errorf("%d services, want 2", n)
		}
		// AND the worker scales between 0 and 10 tasks
		var ranges []string
		for _, st := range d.ScalableTargets(t) {
			ranges = append(ranges, fmt.Sprintf("%d..%d", aws.ToInt32(st.MinCapacity), aws.ToInt32(st.MaxCapacity)))
		}
		slices.Sort(ranges)
		if want := []string{"0..10", "1..10"}; !slices.Equal(ranges, want) {
			t.Errorf("scalable target ranges = %q, want %q (worker, web)", ranges, want)
		}
		var policies []string
		for _, p := range d.ScalingPolicies(t) {
			policies = append(policies, string(p.PolicyType))
		}
		t.Logf("scaling policies in moto: %q", policies)
		// AND moto's CloudFormation made both dashboards
		for id := range s.Resources("AWS::CloudWatch::Dashboard") {
			if d.PhysicalIDs[id] == "" {
				t.Errorf("dashboard %s was not made", id)
			}
		}

		deployAgain(t, d, s)
	})
}

// outputKey returns the key of the stack output whose key starts with prefix.
func outputKey(t *testing.T, s *stacktest.Synthesized, prefix string) string {
	t.Helper()
	outputs, _ := s.Template["Outputs"].(map[string]any)
	for k := range outputs {
		if strings.HasPrefix(k, prefix) {
			return k
		}
	}
	t.Fatalf("no output %s*", prefix)
	return ""
}

// queueName is the last part of a queue URL or ARN.
func queueName(urlOrArn string) string {
	return urlOrArn[strings.LastIndexAny(urlOrArn, "/:")+1:]
}

// containerEnv returns the environment of the one container of the task
// definition at path.
func containerEnv(t *testing.T, s *stacktest.Synthesized, path string) map[string]any {
	t.Helper()
	res := s.Resources("AWS::ECS::TaskDefinition")[s.LogicalID(t, "AWS::ECS::TaskDefinition", path)]
	containers := res["Properties"].(map[string]any)["ContainerDefinitions"].([]any)
	env := map[string]any{}
	for _, e := range containers[0].(map[string]any)["Environment"].([]any) {
		kv := e.(map[string]any)
		env[kv["Name"].(string)] = kv["Value"]
	}
	return env
}

// rolePolicyHas reports whether the policy of the role whose logical id
// starts with rolePrefix allows action on resource.
func rolePolicyHas(s *stacktest.Synthesized, rolePrefix, action string, resource any) bool {
	for _, res := range s.Resources("AWS::IAM::ManagedPolicy") {
		props := res["Properties"].(map[string]any)
		ref, _ := props["Roles"].([]any)[0].(map[string]any)["Ref"].(string)
		if !strings.HasPrefix(ref, rolePrefix) {
			continue
		}
		for _, st := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			m := st.(map[string]any)
			actions, _ := m["Action"].([]any)
			if slices.Contains(actions, any(action)) && fmt.Sprint(m["Resource"]) == fmt.Sprint(resource) {
				return true
			}
		}
	}
	return false
}
