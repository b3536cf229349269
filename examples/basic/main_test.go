package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/agentcdk/agentcdk/internal/cdktest"
	"github.com/agentcdk/agentcdk/internal/mototest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

func TestMain(m *testing.M) {
	os.Exit(cdktest.Run(m))
}

// synthBasic builds the reference stack in a fresh app and synthesizes it
// once with the given cdk-nag packs.
func synthBasic(t *testing.T, packs ...stacktest.Pack) *stacktest.Synthesized {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	app := stacktest.NewApp(t)
	return stacktest.Synth(t, newStack(app, "BasicAgent", root), packs...)
}

// The suppressions a reviewer accepts on the reference stack; anything
// else cdk-nag finds must be fixed.
var basicSuppressions = []stacktest.Suppression{
	// CloudFront on its own domain (docs/front.md): the country list is the
	// owner's, the web ACL is on the load balancer (CLOUDFRONT scope is
	// us-east-1 only), the load balancer's access log has every request, and
	// the default certificate's minimum protocol is fixed at TLSv1.
	{Path: "/BasicAgent/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR1"},
	{Path: "/BasicAgent/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR2"},
	{Path: "/BasicAgent/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR3"},
	{Path: "/BasicAgent/Agent/Distribution/Resource", Rule: "AwsSolutions-CFR4"},
	// The access-log bucket cannot log to itself.
	{Path: "/BasicAgent/Agent/AccessLogs/Resource", Rule: "AwsSolutions-S1"},
	// The callers' API keys rotate by put-secret-value without a deploy; the
	// tasks read them every minute.
	{Path: "/BasicAgent/Agent/APIKeys/Resource", Rule: "AwsSolutions-SMG4"},
	// PORT and the AGENTKIT_* timings are the runtime contract, not secrets.
	{Path: "/BasicAgent/Agent/TaskDef/Resource", Rule: "AwsSolutions-ECS2"},
	// ecr:GetAuthorizationToken has no resource-level permissions: it lives
	// in a policy of its own, so the suppression covers no grant of yours.
	{Path: "/BasicAgent/Agent/TaskDef/ExecutionRole/InherentPolicy", Rule: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*"}},
	// The CDK's provider that empties the default security group logs
	// through the managed Lambda basic execution policy.
	{Path: "/BasicAgent/Custom::VpcRestrictDefaultSGCustomResourceProvider/Role", Rule: "AwsSolutions-IAM4",
		AppliesTo: []string{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
}

func TestBasicStack(t *testing.T) {
	// GIVEN the reference stack, synthesized once with cdk-nag's AwsSolutions pack
	s := synthBasic(t, stacktest.AwsSolutions)
	// AND its template scanned, as a scanner of CloudFormation reads it, by
	// every pack in one synthesis
	scan := stacktest.ScanPacks(t, s.TemplatePath, stacktest.Packs...)

	t.Run("cdk-nag AwsSolutions", func(t *testing.T) {
		// THEN nothing is left unsuppressed, in the construct tree or in the
		// template, and no rule failed to run
		stacktest.NoFindings(t, s.Findings)
		stacktest.NoFindings(t, scan[stacktest.AwsSolutions])
		stacktest.NoFindings(t, scan[""])
		// AND exactly the accepted suppressions are in the template
		stacktest.ExpectSuppressions(t, s.Suppressions(stacktest.AwsSolutions), basicSuppressions...)
	})

	// The NIST 800-53 R5, HIPAA Security and PCI DSS 3.2.1 packs, as a
	// regulated team's scanner would run them.
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
		for _, pack := range []stacktest.Pack{stacktest.NIST80053R5, stacktest.HIPAA, stacktest.PCIDSS321} {
			t.Run(string(pack), func(t *testing.T) {
				// THEN only the findings left to the user remain
				stacktest.ExpectFindings(t, pack, scan[pack], userDecisions[pack]...)
			})
		}
	})

	t.Run("the container health check is the agent's own probe", func(t *testing.T) {
		// WHEN the task definition's container is read
		var checks []string
		for _, r := range s.Template["Resources"].(map[string]any) {
			res := r.(map[string]any)
			if res["Type"] != "AWS::ECS::TaskDefinition" {
				continue
			}
			for _, c := range res["Properties"].(map[string]any)["ContainerDefinitions"].([]any) {
				checks = append(checks, fmt.Sprint(c.(map[string]any)["HealthCheck"].(map[string]any)["Command"]))
			}
		}

		// THEN ECS runs `/agent healthcheck`, which examples/basic/agent answers
		if want := "[CMD /agent healthcheck]"; len(checks) != 1 || checks[0] != want {
			t.Fatalf("container health checks = %q, want one, %s", checks, want)
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

	t.Run("the agent checks its callers as the template sets it up", func(t *testing.T) {
		t.Parallel()
		agentChecksCallers(t, s)
	})

	t.Run("deploys, updates, is destroyed and deploys again in moto", func(t *testing.T) {
		t.Parallel()
		// GIVEN a local AWS emulator
		endpoint := mototest.Start(t)

		// WHEN the template is deployed
		d := stacktest.Deploy(t, endpoint, "BasicAgent", s.TemplatePath)
		if len(d.Skipped) > 0 {
			t.Logf("moto's CloudFormation does not implement (not deployed): %s", strings.Join(d.Skipped, ", "))
		}

		// THEN the service runs 2 tasks of the stack's task definition
		taskDef := onlyPhysicalID(t, d, s, "AWS::ECS::TaskDefinition")
		services := d.Services(t)
		if len(services) != 1 {
			t.Fatalf("%d services, want 1", len(services))
		}
		if svc := services[0]; svc.DesiredCount != 2 || aws.ToString(svc.TaskDefinition) != taskDef || aws.ToString(svc.Status) != "ACTIVE" {
			t.Errorf("service: desired %d, task definition %s, status %s; want 2, %s, ACTIVE",
				svc.DesiredCount, aws.ToString(svc.TaskDefinition), aws.ToString(svc.Status), taskDef)
		}
		// AND the target group checks GET /health on port 8080 every 30 s with a 5 s timeout
		groups := d.TargetGroups(t)
		if len(groups) != 1 {
			t.Fatalf("%d target groups, want 1", len(groups))
		}
		tg := groups[0]
		got := fmt.Sprintf("%s %d %s every %ds timeout %ds unhealthy after %d, code %s", tg.Protocol, aws.ToInt32(tg.Port),
			aws.ToString(tg.HealthCheckPath), aws.ToInt32(tg.HealthCheckIntervalSeconds), aws.ToInt32(tg.HealthCheckTimeoutSeconds),
			aws.ToInt32(tg.UnhealthyThresholdCount), aws.ToString(tg.Matcher.HttpCode))
		if want := "HTTP 8080 /health every 30s timeout 5s unhealthy after 3, code 200"; got != want {
			t.Errorf("target group = %s, want %s", got, want)
		}
		// AND the service scales from 1 to 10 tasks on CPU 70 % and 100 requests per target,
		// and on 10 requests in flight per task (the average of agentkit's RequestsInFlight)
		targets := d.ScalableTargets(t)
		if len(targets) != 1 || aws.ToInt32(targets[0].MinCapacity) != 1 || aws.ToInt32(targets[0].MaxCapacity) != 10 {
			t.Errorf("scalable targets = %+v, want one from 1 to 10", targets)
		}
		var policies []string
		for _, p := range d.ScalingPolicies(t) {
			c := p.TargetTrackingScalingPolicyConfiguration
			metric := "?"
			switch m, custom := c.PredefinedMetricSpecification, c.CustomizedMetricSpecification; {
			case m != nil:
				metric = string(m.PredefinedMetricType)
			case custom != nil && len(custom.Dimensions) == 1:
				metric = fmt.Sprintf("%s/%s{%s=%s} %s", aws.ToString(custom.Namespace), aws.ToString(custom.MetricName),
					aws.ToString(custom.Dimensions[0].Name), aws.ToString(custom.Dimensions[0].Value), custom.Statistic)
			}
			policies = append(policies, fmt.Sprintf("%s %v in %ds out %ds", metric,
				aws.ToFloat64(c.TargetValue), aws.ToInt32(c.ScaleInCooldown), aws.ToInt32(c.ScaleOutCooldown)))
		}
		slices.Sort(policies)
		if want := []string{
			"ALBRequestCountPerTarget 100 in 120s out 30s",
			"AgentCDK/RequestsInFlight{Service=BasicAgent/Agent} Average 10 in 120s out 30s",
			"ECSServiceAverageCPUUtilization 70 in 60s out 30s",
		}; !slices.Equal(policies, want) {
			t.Errorf("scaling policies = %q, want %q", policies, want)
		}
		// AND moto's CloudFormation made the dashboard (it implements
		// AWS::CloudWatch::Dashboard, not AWS::CloudWatch::Alarm)
		for id := range s.Resources("AWS::CloudWatch::Dashboard") {
			if d.PhysicalIDs[id] == "" {
				t.Errorf("dashboard %s was not made", id)
			}
		}

		// WHEN an update changes the container definition
		d.Update(t, stacktest.NewRevision(d.Template, 2))

		// THEN the stack completes on a new revision of the same task definition family
		// (moto 5.2.1 stores an updated revision's container definitions with
		// CloudFormation's key case, so DescribeTaskDefinition shows them empty,
		// and it does not move the service to it: it re-applies only resources
		// whose own template text changed. Both are moto's, not the template's.)
		next := onlyPhysicalID(t, d, s, "AWS::ECS::TaskDefinition")
		td := d.TaskDefinition(t, next)
		if prefix, _, _ := strings.Cut(taskDef, ":task-definition/"); !strings.HasPrefix(next, prefix) || td.Revision != 2 ||
			aws.ToString(td.Family) != familyOf(taskDef) {
			t.Errorf("task definition after the update = %s (revision %d), want revision 2 of %s", next, td.Revision, familyOf(taskDef))
		}

		deployAgain(t, d, s)
	})
}

// familyOf returns the family of a task definition ARN (…:task-definition/FAMILY:REVISION).
func familyOf(arn string) string {
	_, rest, _ := strings.Cut(arn, ":task-definition/")
	family, _, _ := strings.Cut(rest, ":")
	return family
}

// onlyPhysicalID returns the physical id of the template's one resource of typ.
func onlyPhysicalID(t *testing.T, d *stacktest.Deployment, s *stacktest.Synthesized, typ string) string {
	t.Helper()
	ids := slices.Collect(maps.Keys(s.Resources(typ)))
	if len(ids) != 1 {
		t.Fatalf("%d %s resources, want 1", len(ids), typ)
	}
	return d.PhysicalIDs[ids[0]]
}

// userDecisions are the compliance findings the examples leave to their
// user, by pack: deletion protection off, so that cdk destroy works
// (DeletionProtection closes it). Viewers get HTTPS from CloudFront, so no
// HTTP finding is left; the example gives its alarms a topic, so no alarm
// is left without an action. The README lists them. Every other finding is
// fixed or recorded as inherent.
var userDecisions = map[stacktest.Pack][]string{
	stacktest.NIST80053R5: {"ELBDeletionProtectionEnabled"},
	stacktest.HIPAA:       {"ELBDeletionProtectionEnabled"},
	stacktest.PCIDSS321:   nil,
}

func TestRunWritesTheAssemblyAndReportsIt(t *testing.T) {
	// GIVEN an output directory, as the CDK CLI gives one through CDK_OUTDIR
	out := t.TempDir()
	t.Setenv("CDK_OUTDIR", out)

	// WHEN the app runs
	var report strings.Builder
	if err := run(&report); err != nil {
		t.Fatalf("run() = %v", err)
	}

	// THEN the template is in that directory and the report names it and what it holds
	template := filepath.Join(out, "BasicAgent.template.json")
	if _, err := os.Stat(template); err != nil {
		t.Fatalf("no template: %v", err)
	}
	for _, want := range []string{"stack BasicAgent", "template: " + template, "1  AWS::ECS::Service", "1  AWS::ElasticLoadBalancingV2::LoadBalancer", "output: AgentURL"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}
}
