package agentservice_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
	"github.com/agentcdk/agentcdk/scaling"
)

// The tests in this file read one template for what moto does not check
// and a real account does: key policies and service principals, resource
// policies, physical names, log redaction and the cdk-nag suppressions.
// Each cites the AWS page it follows.

// realAccountStack is what they read: a web service with ECS Exec, a
// blue/green deploy, an image from ECR and a header of its own to redact,
// a worker in its cluster that logs in blocking mode, the library's alarm
// topic for both, and a user's grants on "*" to the task roles and the
// execution role, synthesized once with cdk-nag's AwsSolutions pack, with
// the CDK's statement merging on (@aws-cdk/aws-iam:minimizePolicies, as
// `cdk init` sets it), which may put a user's action and an inherent one in
// one statement.
type realAccountStack struct {
	*stacktest.Synthesized
	stack  awscdk.Stack
	web    *agentservice.Service
	worker *agentservice.Worker
	topic  *agentservice.AlarmTopic
}

// userWildcardActions are the grants on "*" the user adds to each role.
var userWildcardActions = []string{"s3:GetObject", "bedrock:InvokeModel", "secretsmanager:GetSecretValue"}

func synthRealAccount(t *testing.T) *realAccountStack {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir:  jsii.String(t.TempDir()),
		Context: &map[string]any{"@aws-cdk/aws-iam:minimizePolicies": true},
	})
	r := &realAccountStack{stack: awscdk.NewStack(app, jsii.String("RealAccount"), nil)}
	r.topic = agentservice.NewAlarmTopic(r.stack, jsii.String("Alarms"), &agentservice.AlarmTopicProps{DisplayName: jsii.String("Agent alarms")})
	repo := awsecr.Repository_FromRepositoryName(r.stack, jsii.String("Repo"), jsii.String("agents"))
	r.web = agentservice.New(r.stack, jsii.String("Agent"), &agentservice.Props{
		Image:                  agentservice.ImageFromContainerImage(awsecs.ContainerImage_FromEcrRepository(repo, jsii.String("1.0.0"))),
		EnableExecuteCommand:   jsii.Bool(true),
		ReadonlyRootFilesystem: jsii.Bool(false),
		Deployment:             &agentservice.Deployment{Strategy: awsecs.DeploymentStrategy_BLUE_GREEN},
		Scaling:                &scaling.Props{DisableRequests: jsii.Bool(true)},
		Firewall:               &agentservice.Firewall{RedactHeaders: jsii.Strings("X-Agent-Token")},
		AlarmTopic:             r.topic.Topic,
	})
	r.worker = agentservice.NewWorker(r.stack, jsii.String("Worker"), &agentservice.WorkerProps{
		Image: astest.RegistryImage(), Cluster: r.web.Cluster, AlarmTopic: r.topic.Topic,
		LogDriverMode: awsecs.AwsLogDriverMode_BLOCKING,
	})
	for _, role := range []awsiam.IRole{r.web.TaskDefinition.TaskRole(), r.web.TaskDefinition.ExecutionRole(), r.worker.TaskDefinition.TaskRole()} {
		for _, action := range userWildcardActions {
			role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: jsii.Strings(action), Resources: jsii.Strings("*"),
			}))
		}
	}
	r.Synthesized = stacktest.Synth(t, r.stack, stacktest.AwsSolutions)
	return r
}

func TestTheDefaultsDeployOnARealAccount(t *testing.T) {
	// GIVEN the stack, synthesized once
	r := synthRealAccount(t)

	t.Run("log keys let the Regional CloudWatch Logs principal use them", func(t *testing.T) {
		// CloudWatch Logs' encryption guide gives the key policy statement:
		// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
		// (the Regional principal logs.REGION.amazonaws.com, and the
		// encryption context aws:logs:arn of the account's log groups, which
		// pins the account and Region; the guide shows no aws:SourceAccount
		// condition). The global logs.amazonaws.com fails the log group's
		// create: aws/aws-cdk#28304, hashicorp/terraform-provider-aws#29282.
		want := map[string]any{
			"Sid":       "AllowCloudWatchLogs",
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": raJoin("logs.", raRef("AWS::Region"), ".", raRef("AWS::URLSuffix"))},
			"Action":    []any{"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"},
			"Resource":  "*",
			"Condition": map[string]any{"ArnLike": map[string]any{
				"kms:EncryptionContext:aws:logs:arn": raJoin("arn:", raRef("AWS::Partition"), ":logs:", raRef("AWS::Region"), ":", raRef("AWS::AccountId"), ":*"),
			}},
		}
		for _, key := range []string{r.id(t, r.web.LogKey), r.id(t, r.worker.LogKey)} {
			st := raStatement(t, r.Resources("AWS::KMS::Key")[key]["Properties"].(map[string]any)["KeyPolicy"], "AllowCloudWatchLogs")
			raSame(t, key+" AllowCloudWatchLogs", st, want)
		}
		// AND every log group of the stack is encrypted with one of them
		for id, lg := range r.Resources("AWS::Logs::LogGroup") {
			if _, ok := lg["Properties"].(map[string]any)["KmsKeyId"]; !ok {
				t.Errorf("log group %s has no KmsKeyId", id)
			}
		}
	})

	t.Run("no physical name is fixed, and the web ACL's log group is new on every create", func(t *testing.T) {
		// AWS WAF logs only to groups named aws-waf-logs-*
		// (https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html,
		// "Log group naming"), so that group cannot take a generated name; a
		// destroy keeps it (DeletionPolicy Retain, as every log group here).
		// Its name ends with the UUID of the stack's ID, new on every create,
		// so a deploy after the destroy does not fail on the name.
		stacktest.ExpectFixedNames(t, r.Template)
		lg := r.Resources("AWS::Logs::LogGroup")[r.LogicalID(t, "AWS::Logs::LogGroup", "/RealAccount/Agent/FirewallLogs/Resource")]
		name, _ := lg["Properties"].(map[string]any)["LogGroupName"].(map[string]any)
		parts, _ := name["Fn::Join"].([]any)
		if len(parts) != 2 {
			t.Fatalf("web ACL log group name = %v, want an Fn::Join", name)
		}
		items, _ := parts[1].([]any)
		prefix, _ := items[0].(string)
		if !strings.HasPrefix(prefix, "aws-waf-logs-") || len(items) != 2 ||
			!strings.Contains(fmt.Sprint(items[1]), "AWS::StackId") || lg["DeletionPolicy"] != "Retain" {
			t.Errorf("web ACL log group: name %v, deletion policy %v; want aws-waf-logs-... and the stack ID's UUID, kept", name, lg["DeletionPolicy"])
		}
		// (CloudWatch Logs: names of at most 512 characters; the UUID is 36.)
		if n := len(prefix) + 36; n > 512 {
			t.Errorf("web ACL log group name is %d characters, over 512", n)
		}
	})

	t.Run("the web ACL's log redacts credentials and query strings", func(t *testing.T) {
		// AWS WAF redacts only UriPath, QueryString, SingleHeader and Method,
		// at most 100 fields
		// (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html,
		// RedactedFields): the query string, the default headers and the
		// caller's RedactHeaders
		configs := r.Resources("AWS::WAFv2::LoggingConfiguration")
		if len(configs) != 1 {
			t.Fatalf("%d logging configurations, want 1", len(configs))
		}
		for _, cfg := range configs {
			got := cfg["Properties"].(map[string]any)["RedactedFields"]
			raSame(t, "RedactedFields", got, []any{
				map[string]any{"QueryString": map[string]any{}},
				map[string]any{"SingleHeader": map[string]any{"Name": "authorization"}},
				map[string]any{"SingleHeader": map[string]any{"Name": "cookie"}},
				map[string]any{"SingleHeader": map[string]any{"Name": "x-api-key"}},
				map[string]any{"SingleHeader": map[string]any{"Name": "X-Agent-Token"}},
			})
		}
	})

	t.Run("the deploy role holds the managed policy's load balancer actions", func(t *testing.T) {
		// AmazonECSInfrastructureRolePolicyForLoadBalancers v6
		// (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonECSInfrastructureRolePolicyForLoadBalancers.html)
		// grants, for an Application Load Balancer: the four Describe
		// actions on "*", RegisterTargets and DeregisterTargets on target
		// groups, ModifyListener on listeners and ModifyRule on listener
		// rules. The role has each, on this service's own resources.
		role := r.id(t, r.web.DeployRole)
		got := map[string]string{}
		for id, p := range r.Resources("AWS::IAM::ManagedPolicy") {
			props := p["Properties"].(map[string]any)
			if fmt.Sprint(props["Roles"]) != fmt.Sprint([]any{raRef(role)}) {
				continue
			}
			for _, st := range raList(props["PolicyDocument"].(map[string]any)["Statement"]) {
				m := st.(map[string]any)
				for _, a := range raList(m["Action"]) {
					got[a.(string)] = r.PathOf(id) + " " + raJSON(map[string]any{"Resource": m["Resource"]})
				}
			}
		}
		inherent := "/RealAccount/Agent/DeployRole/InherentPolicy"
		policy := "/RealAccount/Agent/DeployRole/DefaultPolicy/Resource"
		tg, alt, listener := raRef(r.id(t, r.web.TargetGroup)), raRef(r.id(t, r.web.AlternateTargetGroup)), raRef(r.id(t, r.web.Listener))
		on := func(resource any) string { return raJSON(map[string]any{"Resource": resource}) }
		want := map[string]string{
			"elasticloadbalancing:DescribeListeners":    inherent + " " + on("*"),
			"elasticloadbalancing:DescribeRules":        inherent + " " + on("*"),
			"elasticloadbalancing:DescribeTargetGroups": inherent + " " + on("*"),
			"elasticloadbalancing:DescribeTargetHealth": inherent + " " + on("*"),
			"elasticloadbalancing:RegisterTargets":      policy + " " + on([]any{tg, alt}),
			"elasticloadbalancing:DeregisterTargets":    policy + " " + on([]any{tg, alt}),
			"elasticloadbalancing:ModifyRule":           policy + " " + on(raRef(r.id(t, r.web.ProductionRule))),
			"elasticloadbalancing:ModifyListener":       policy + " " + on(listener),
		}
		if !maps.Equal(got, want) {
			t.Errorf("deploy role grants (action: policy resource):\n got  %v\n want %v", got, want)
		}
	})

	t.Run("the alarm topic lets this account's alarms publish, and only them", func(t *testing.T) {
		// A topic policy replaces SNS's default one; CloudWatch alarms need
		// an Allow for cloudwatch.amazonaws.com to sns:Publish
		// (https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger),
		// and, on an encrypted topic, kms:Decrypt and kms:GenerateDataKey* on
		// a customer-managed key, with aws:SourceAccount and aws:SourceArn
		// against the confused deputy
		// (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
		conditions := map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": raRef("AWS::AccountId")},
			"ArnLike":      map[string]any{"aws:SourceArn": raJoin("arn:", raRef("AWS::Partition"), ":cloudwatch:", raRef("AWS::Region"), ":", raRef("AWS::AccountId"), ":alarm:*")},
		}
		topic, key := r.id(t, r.topic.Topic), r.id(t, r.topic.Key)
		for _, p := range r.Resources("AWS::SNS::TopicPolicy") {
			doc := p["Properties"].(map[string]any)["PolicyDocument"]
			raSame(t, "topic policy Allow", raStatement(t, doc, "AllowCloudWatchAlarms"), map[string]any{
				"Sid": "AllowCloudWatchAlarms", "Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
				"Action": "sns:Publish", "Resource": raRef(topic), "Condition": conditions,
			})
			raSame(t, "topic policy TLS", raStatement(t, doc, "AllowPublishThroughSSLOnly"), map[string]any{
				"Sid": "AllowPublishThroughSSLOnly", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": raRef(topic),
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			})
		}
		k := r.Resources("AWS::KMS::Key")[key]
		raSame(t, "key policy", raStatement(t, k["Properties"].(map[string]any)["KeyPolicy"], "AllowCloudWatchAlarms"), map[string]any{
			"Sid": "AllowCloudWatchAlarms", "Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
			"Action": []any{"kms:Decrypt", "kms:GenerateDataKey*"}, "Resource": "*", "Condition": conditions,
		})
		// AND the topic shows its display name, and is encrypted with that
		// key, which goes with the stack
		if got := r.Resources("AWS::SNS::Topic")[topic]["Properties"].(map[string]any)["DisplayName"]; got != "Agent alarms" {
			t.Errorf("topic DisplayName = %v, want Agent alarms", got)
		}
		if got := r.Resources("AWS::SNS::Topic")[topic]["Properties"].(map[string]any)["KmsMasterKeyId"]; raJSON(got) != raJSON(map[string]any{"Fn::GetAtt": []any{key, "Arn"}}) {
			t.Errorf("topic KmsMasterKeyId = %v, want the alarm key", got)
		}
		if k["DeletionPolicy"] != "Delete" {
			t.Errorf("alarm key DeletionPolicy = %v, want Delete", k["DeletionPolicy"])
		}
		// AND every alarm but the worker's scale-from-zero step notifies it
		var silent []string
		for id, a := range r.Resources("AWS::CloudWatch::Alarm") {
			if raJSON(a["Properties"].(map[string]any)["AlarmActions"]) != raJSON([]any{raRef(topic)}) {
				silent = append(silent, r.PathOf(id))
			}
		}
		if want := []string{"/RealAccount/Worker/Service/TaskCount/ScaleFromZeroAlarm/Resource"}; !slices.Equal(silent, want) {
			t.Errorf("alarms that do not notify the topic: %v, want %v", silent, want)
		}
	})

	t.Run("containers log in the mode set, non-blocking with a 10 MiB buffer by default", func(t *testing.T) {
		// The awslogs driver's mode and max-buffer-size
		// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LogConfiguration.html):
		// ECS's default mode is an account setting, so the construct sets
		// it; max-buffer-size applies to non-blocking mode only.
		got := map[string]string{}
		for _, td := range r.Resources("AWS::ECS::TaskDefinition") {
			for _, c := range raList(td["Properties"].(map[string]any)["ContainerDefinitions"]) {
				cd := c.(map[string]any)
				opts := cd["LogConfiguration"].(map[string]any)["Options"].(map[string]any)
				got[cd["Name"].(string)] = fmt.Sprint(opts["mode"], " ", opts["max-buffer-size"])
			}
		}
		want := map[string]string{
			agentservice.DefaultContainerName:       "non-blocking 10485760b",
			agentservice.DefaultWorkerContainerName: "blocking <nil>",
		}
		if !maps.Equal(got, want) {
			t.Errorf("awslogs mode and buffer by container = %v, want %v", got, want)
		}
	})

	t.Run("each container's log group has an alarm on rejected EMF lines", func(t *testing.T) {
		// AWS/Logs EMFValidationErrors and EMFParsingErrors, dimension
		// LogGroupName
		// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Monitoring-CloudWatch-Metrics.html).
		for _, c := range []struct {
			alarm, logs string
		}{
			{r.id(t, r.web.EMFErrorsAlarm), r.id(t, r.web.LogGroup)},
			{r.id(t, r.worker.EMFErrorsAlarm), r.id(t, r.worker.LogGroup)},
		} {
			props := r.Resources("AWS::CloudWatch::Alarm")[c.alarm]["Properties"].(map[string]any)
			var read []string
			for _, q := range raList(props["Metrics"]) {
				if stat, ok := q.(map[string]any)["MetricStat"].(map[string]any); ok {
					m := stat["Metric"].(map[string]any)
					read = append(read, fmt.Sprint(m["Namespace"], " ", m["MetricName"], " ", raJSON(m["Dimensions"]), " ", stat["Stat"]))
				}
			}
			slices.Sort(read)
			dims := raJSON([]any{map[string]any{"Name": "LogGroupName", "Value": raRef(c.logs)}})
			want := []string{"AWS/Logs EMFParsingErrors " + dims + " Sum", "AWS/Logs EMFValidationErrors " + dims + " Sum"}
			if !slices.Equal(read, want) || props["Threshold"] != float64(1) || props["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
				t.Errorf("%s reads %v at %v %v; want %v at >= 1", c.alarm, read, props["ComparisonOperator"], props["Threshold"], want)
			}
		}
	})

	t.Run("cdk-nag reports the user's grants on * and no inherent one", func(t *testing.T) {
		// cdk-nag's applies_to matches a finding ("Resource::*"), not a
		// statement: the grants AWS allows on "*" only (ecr:GetAuthorizationToken,
		// https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html;
		// ECS Exec's channel, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html;
		// the ELB Describe actions) live in a policy of their own, whose
		// suppression cannot cover the user's grant
		want := []string{
			"AwsSolutions-IAM5[Resource::*] /RealAccount/Agent/TaskDef/ExecutionRole/DefaultPolicy/Resource",
			"AwsSolutions-IAM5[Resource::*] /RealAccount/Agent/TaskDef/TaskRole/DefaultPolicy/Resource",
			"AwsSolutions-IAM5[Resource::*] /RealAccount/Worker/TaskDef/TaskRole/DefaultPolicy/Resource",
		}
		var got []string
		for _, f := range r.Findings {
			got = append(got, fmt.Sprintf("%s[%s] %s", f.Rule, f.Finding, f.Path))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("findings:\n got  %q\n want %q", got, want)
		}
		// AND a scanner of the template sees the same three
		scanned := 0
		for _, f := range stacktest.ScanTemplate(t, r.TemplatePath, stacktest.AwsSolutions) {
			if f.Rule == "AwsSolutions-IAM5" && f.Finding == "Resource::*" {
				scanned++
			} else {
				t.Errorf("template scan: unexpected finding %s", f)
			}
		}
		if scanned != len(want) {
			t.Errorf("template scan: %d IAM5 Resource::* findings, want %d", scanned, len(want))
		}
	})

	t.Run("each inherent grant is in its role's own policy only", func(t *testing.T) {
		// WHEN each role's policies are read
		byPath := map[string][]string{}
		for id, p := range r.Resources("AWS::IAM::ManagedPolicy") {
			for _, st := range raList(p["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"]) {
				m := st.(map[string]any)
				if m["Resource"] != "*" {
					continue
				}
				for _, a := range raList(m["Action"]) {
					byPath[r.PathOf(id)] = append(byPath[r.PathOf(id)], a.(string))
				}
			}
		}
		for p := range byPath {
			slices.Sort(byPath[p])
		}
		// THEN the actions on "*" are, per policy, the inherent ones in the
		// InherentPolicy and the user's in the DefaultPolicy, even where the
		// CDK merged them into one statement
		user := slices.Sorted(slices.Values(userWildcardActions))
		want := map[string][]string{
			"/RealAccount/Agent/TaskDef/ExecutionRole/InherentPolicy":         {"ecr:GetAuthorizationToken"},
			"/RealAccount/Agent/TaskDef/ExecutionRole/DefaultPolicy/Resource": user,
			"/RealAccount/Agent/TaskDef/TaskRole/InherentPolicy": {"logs:DescribeLogGroups", "ssmmessages:CreateControlChannel",
				"ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"},
			"/RealAccount/Agent/TaskDef/TaskRole/DefaultPolicy/Resource":  user,
			"/RealAccount/Worker/TaskDef/TaskRole/DefaultPolicy/Resource": user,
			"/RealAccount/Agent/DeployRole/InherentPolicy":                slices.Sorted(slices.Values([]string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"})),
		}
		if !maps.EqualFunc(byPath, want, slices.Equal) {
			t.Errorf("actions on * by policy:\n got  %v\n want %v", byPath, want)
		}
		// AND the services start only once their roles' inherent grants exist
		for _, svc := range []struct {
			id   string
			want []string
		}{
			{r.id(t, r.web.Service), []string{"/RealAccount/Agent/TaskDef/ExecutionRole/InherentPolicy", "/RealAccount/Agent/TaskDef/TaskRole/InherentPolicy", "/RealAccount/Agent/DeployRole/InherentPolicy"}},
		} {
			deps := map[string]bool{}
			for _, d := range raList(r.Resources("AWS::ECS::Service")[svc.id]["DependsOn"]) {
				deps[r.PathOf(d.(string))] = true
			}
			for _, w := range svc.want {
				if !deps[w] {
					t.Errorf("service %s does not depend on %s (depends on %v)", svc.id, w, slices.Sorted(maps.Keys(deps)))
				}
			}
		}
	})
}

// id is the logical id of a construct's CloudFormation resource.
func (r *realAccountStack) id(t *testing.T, c constructs.IConstruct) string {
	t.Helper()
	cfn, ok := c.Node().DefaultChild().(awscdk.CfnElement)
	if !ok {
		t.Fatalf("%s has no CloudFormation resource", *c.Node().Path())
	}
	id, _ := r.stack.Resolve(r.stack.GetLogicalId(cfn)).(string)
	return id
}

// raStatement is the statement of a policy document with sid.
func raStatement(t *testing.T, doc any, sid string) any {
	t.Helper()
	for _, st := range raList(doc.(map[string]any)["Statement"]) {
		if st.(map[string]any)["Sid"] == sid {
			return st
		}
	}
	t.Fatalf("no statement %s in %s", sid, raJSON(doc))
	return nil
}

// raSame compares two template values as JSON, the lists of a statement's
// Action and Resource in any order (the CDK sorts them when it merges
// statements).
func raSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := raJSON(got), raJSON(want); g != w {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

// raJSON renders a template value as JSON, with the lists under Action and
// Resource sorted.
func raJSON(v any) string {
	b, _ := json.Marshal(raSorted(v))
	return string(b)
}

func raSorted(v any) any {
	switch n := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(n))
		for k, e := range n {
			out[k] = raSorted(e)
			if l, ok := e.([]any); ok && (k == "Action" || k == "Resource") {
				sorted := slices.Clone(l)
				slices.SortFunc(sorted, func(a, b any) int { return strings.Compare(raJSON(a), raJSON(b)) })
				out[k] = sorted
			}
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			out[i] = raSorted(e)
		}
		return out
	}
	return v
}

// raList reads a template value that is one item or a list of them.
func raList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func raRef(id string) map[string]any { return map[string]any{"Ref": id} }

// join is an Fn::Join with "" of parts.
func raJoin(parts ...any) map[string]any {
	return map[string]any{"Fn::Join": []any{"", parts}}
}
