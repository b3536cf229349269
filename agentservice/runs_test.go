package agentservice_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

// viaDynamoDB is the condition that confines a use of the runs key to
// DynamoDB in the stack's Region.
var viaDynamoDB = map[string]any{"Fn::Join": []any{"", []any{"dynamodb.", map[string]any{"Ref": "AWS::Region"}, ".", map[string]any{"Ref": "AWS::URLSuffix"}}}}

// accountRoot is the stack's account as a key policy's principal.
var accountRoot = map[string]any{"AWS": map[string]any{"Fn::Join": []any{"", []any{
	"arn:", map[string]any{"Ref": "AWS::Partition"}, ":iam::", map[string]any{"Ref": "AWS::AccountId"}, ":root",
}}}}

func TestRunStoreMakesTheRunsTable(t *testing.T) {
	// GIVEN a web service and a worker sharing a RunStore at its defaults
	s := astest.Runs.Synth(t)
	tables := s.Template.FindResources(jsii.String("AWS::DynamoDB::Table"), nil)
	if len(*tables) != 1 {
		t.Fatalf("%d tables, want 1", len(*tables))
	}
	var table map[string]any
	var tableID string
	for id, r := range *tables {
		tableID, table = id, *r
	}

	// THEN the table has the string keys agentkit/runs writes, on-demand
	// billing, point-in-time recovery, agentkit's TTL attribute and the
	// store's key, and no TableName: CloudFormation names it, so a deploy
	// after a destroy, and two stacks side by side, do not collide
	// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-dynamodb-table.html:
	// "If you specify a name, you cannot perform updates that require
	// replacement of this resource")
	keyID := ""
	for id := range *s.Template.FindResources(jsii.String("AWS::KMS::Key"), nil) {
		if strings.HasPrefix(id, "RunsKey") {
			keyID = id
		}
	}
	if keyID == "" {
		t.Fatal("no key RunsKey...")
	}
	same(t, "the table's properties", table["Properties"], map[string]any{
		"AttributeDefinitions": []any{
			map[string]any{"AttributeName": agentkit.RunsTablePartitionKey, "AttributeType": "S"},
			map[string]any{"AttributeName": agentkit.RunsTableSortKey, "AttributeType": "S"},
		},
		"BillingMode": "PAY_PER_REQUEST",
		"KeySchema": []any{
			map[string]any{"AttributeName": agentkit.RunsTablePartitionKey, "KeyType": "HASH"},
			map[string]any{"AttributeName": agentkit.RunsTableSortKey, "KeyType": "RANGE"},
		},
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification": map[string]any{
			"KMSMasterKeyId": map[string]any{"Fn::GetAtt": []any{keyID, "Arn"}},
			"SSEEnabled":     true,
			"SSEType":        "KMS",
		},
		"TimeToLiveSpecification": map[string]any{"AttributeName": agentkit.RunsTableTTLAttribute, "Enabled": true},
	})
	// AND a destroy keeps the table and its key: the runs are the callers' data
	for _, id := range []string{tableID, keyID} {
		r := resourcesOf(s)[id].(map[string]any)
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain, Retain", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	// AND the key rotates yearly, and its policy lets the account
	// administer it (the KMS console's key administrators, without
	// kms:CreateGrant) and use it through DynamoDB in this Region only, as
	// DynamoDB's example key policy for a customer managed key does
	// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html;
	// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)
	key := resourcesOf(s)[keyID].(map[string]any)["Properties"].(map[string]any)
	same(t, "EnableKeyRotation", key["EnableKeyRotation"], true)
	same(t, "the key policy", key["KeyPolicy"], map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{
				"Sid": "AdministerTheKey", "Effect": "Allow", "Principal": accountRoot, "Resource": "*",
				"Action": []any{"kms:CreateAlias", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
					"kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
					"kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"},
			},
			map[string]any{
				"Sid": "UseThroughDynamoDB", "Effect": "Allow", "Principal": accountRoot, "Resource": "*",
				"Action": []any{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"},
				"Condition": map[string]any{"StringEquals": map[string]any{
					"kms:CallerAccount": map[string]any{"Ref": "AWS::AccountId"},
					"kms:ViaService":    viaDynamoDB,
				}},
			},
		},
	})
}

// roleStatements are the statements of the policies attached to role.
func roleStatements(t *testing.T, s *astest.Synthesized, role *string) []any {
	t.Helper()
	want := jsonOf(t, s.Stack.Resolve(role))
	var out []any
	for _, p := range policies(t, s.Template) {
		for _, r := range asAnySlice(p["Roles"]) {
			if jsonOf(t, r) == want {
				out = append(out, p["PolicyDocument"].(map[string]any)["Statement"].([]any)...)
			}
		}
	}
	return out
}

func asAnySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func TestRunsGrantTheTaskRolesTheItemCallsOnTheTableAlone(t *testing.T) {
	// GIVEN a web service and a worker sharing a RunStore
	s := astest.Runs.Synth(t)
	table := map[string]any{"Fn::GetAtt": []any{*logicalID(s.Stack, tableOf(t, s)), "Arn"}}
	key := map[string]any{"Fn::GetAtt": []any{*logicalID(s.Stack, keyOf(t, s)), "Arn"}}
	for name, role := range map[string]*string{
		"web":    s.Web.TaskDefinition.TaskRole().RoleName(),
		"worker": s.Worker.TaskDefinition.TaskRole().RoleName(),
	} {
		t.Run(name, func(t *testing.T) {
			// THEN the task role may make the item calls agentkit/runs makes
			// (TransactWriteItems is authorized as its Put and Update, and
			// ConditionCheckItem: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html)
			// on the table's ARN alone (no index, no "*"), and use its key
			// only through DynamoDB; no other statement names the table or
			// the key, or any dynamodb: or kms: action
			var runs []string
			for _, st := range roleStatements(t, s, role) {
				text := jsonOf(t, st)
				if strings.Contains(text, "dynamodb") || strings.Contains(text, "kms:") || strings.Contains(text, *logicalID(s.Stack, tableOf(t, s))) {
					runs = append(runs, text)
				}
			}
			want := []string{
				jsonOf(t, map[string]any{
					"Action":   []any{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"},
					"Effect":   "Allow",
					"Resource": table,
				}),
				jsonOf(t, map[string]any{
					"Action":    []any{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"},
					"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": viaDynamoDB}},
					"Effect":    "Allow",
					"Resource":  key,
				}),
			}
			if !slices.Equal(runs, want) {
				t.Errorf("the task role's statements on the runs =\n  %s\nwant\n  %s", strings.Join(runs, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

// tableOf and keyOf are the runs table and key of the case, found in the
// construct tree under the store's id "Runs".
func tableOf(t *testing.T, s *astest.Synthesized) constructs.IConstruct {
	t.Helper()
	return s.Stack.Node().FindChild(jsii.String("Runs")).Node().FindChild(jsii.String("Table"))
}

func keyOf(t *testing.T, s *astest.Synthesized) constructs.IConstruct {
	t.Helper()
	return s.Stack.Node().FindChild(jsii.String("Runs")).Node().FindChild(jsii.String("Key"))
}

func TestRunsSetTheContractOnBothContainers(t *testing.T) {
	// GIVEN a web service and a worker sharing a RunStore at its defaults
	s := astest.Runs.Synth(t)
	table := map[string]any{"Ref": *logicalID(s.Stack, tableOf(t, s))}
	// THEN both containers get the table's name and the lease and
	// retention as Go durations, agentkit's defaults
	for _, c := range properties(t, s.Template, "AWS::ECS::TaskDefinition") {
		cd := c["ContainerDefinitions"].([]any)[0].(map[string]any)
		env := map[string]any{}
		for _, kv := range cd["Environment"].([]any) {
			m := kv.(map[string]any)
			env[m["Name"].(string)] = m["Value"]
		}
		same(t, cd["Name"].(string)+" "+agentkit.EnvRunsTable, env[agentkit.EnvRunsTable], table)
		same(t, cd["Name"].(string)+" "+agentkit.EnvRunLease, env[agentkit.EnvRunLease], "60s")
		same(t, cd["Name"].(string)+" "+agentkit.EnvRunRetention, env[agentkit.EnvRunRetention], "604800s")
		if d, err := time.ParseDuration(env[agentkit.EnvRunRetention].(string)); err != nil || d != agentkit.DefaultRunRetention {
			t.Errorf("%s %v reads as %v, %v; want %v", agentkit.EnvRunRetention, env[agentkit.EnvRunRetention], d, err, agentkit.DefaultRunRetention)
		}
	}
	// AND a service without Runs gets none of them
	env := containerEnv(t, astest.Defaults.Synth(t).Template)
	for _, name := range []string{agentkit.EnvRunsTable, agentkit.EnvRunLease, agentkit.EnvRunRetention} {
		if _, ok := env[name]; ok {
			t.Errorf("a service without Runs has %s", name)
		}
	}
}

func TestRunsFailedAlarmReadsWhatTheTasksWrite(t *testing.T) {
	// GIVEN a web service and a worker sharing a RunStore, with a topic
	s := astest.Runs.Synth(t)
	resources := resourcesOf(s)
	services := containerMetrics(t, resources)
	for name, c := range map[string]struct {
		alarm     constructs.IConstruct
		container string
	}{
		"web":    {s.Web.RunsFailedAlarm, agentservice.DefaultContainerName},
		"worker": {s.Worker.RunsFailedAlarm, agentservice.DefaultWorkerContainerName},
	} {
		t.Run(name, func(t *testing.T) {
			if c.alarm == nil {
				t.Fatal("RunsFailedAlarm is nil")
			}
			// THEN the alarm sums agentkit's RunsFailed, in the namespace
			// and with the Service the construct's container writes, over 5
			// minutes, fires at 5 and notifies the topic
			alarm := resources[*logicalID(s.Stack, c.alarm)].(map[string]any)["Properties"].(map[string]any)
			same(t, "the alarm", alarm, map[string]any{
				"AlarmActions":       []any{"arn:aws:sns:us-east-1:123456789012:alarms"},
				"AlarmDescription":   "The agent's tasks ended at least 5 runs failed within 5 minutes (agentkit RunsFailed)",
				"ComparisonOperator": "GreaterThanOrEqualToThreshold",
				"DatapointsToAlarm":  1,
				"EvaluationPeriods":  1,
				"Metrics": []any{map[string]any{
					"Id": "m1", "Label": "Runs ended failed", "ReturnData": true,
					"MetricStat": map[string]any{
						"Metric": map[string]any{
							"Dimensions": []any{map[string]any{"Name": agentkit.DimensionService, "Value": services[c.container][1]}},
							"MetricName": agentkit.MetricRunsFailed,
							"Namespace":  services[c.container][0],
						},
						"Period": 300, "Stat": "Sum",
					},
				}},
				"Threshold":        agentservice.DefaultFailedRunsAlarmThreshold,
				"TreatMissingData": "notBreaching",
			})
		})
	}
	// AND the metric is one agentkit writes
	if _, ok := agentkitMetrics(t)[agentkit.MetricRunsFailed]; !ok {
		t.Errorf("agentkit does not write %s", agentkit.MetricRunsFailed)
	}
	// AND without Runs there is no such alarm
	if a := astest.Defaults.Synth(t).Web.RunsFailedAlarm; a != nil {
		t.Errorf("Service.RunsFailedAlarm = %v without Runs, want nil", a)
	}
}

func TestRunsAreGraphedWithWhatTheStackEmits(t *testing.T) {
	// GIVEN a web service and a worker sharing a RunStore
	resources := resourcesOf(astest.Runs.Synth(t))
	ours := agentkitMetrics(t)
	written := map[string]bool{}
	for _, nsv := range containerMetrics(t, resources) {
		written[nsv[1]] = true
	}
	// THEN each dashboard graphs the runs created, started and ended and
	// the runs held, with agentkit's names and a Service a container
	// writes, and the worker's the age of its oldest queued run: every
	// metric a graph or alarm names is one the stack emits
	runs := map[string]map[string]bool{}
	for _, r := range append(dashboardMetrics(t, resources), alarmMetrics(resources)...) {
		switch {
		case r.namespace == agentkit.DefaultMetricsNamespace:
			if _, ok := ours[r.name]; !ok {
				t.Errorf("%s: %s is not a metric agentkit writes", r.where, r.name)
			}
			if !written[r.service] {
				t.Errorf("%s: %s has Service %q, which no container writes", r.where, r.name, r.service)
			}
		case r.namespace == "(math)" || slices.Contains(awsMetrics[r.namespace], r.name):
		default:
			t.Errorf("%s: %s/%s is not a metric the stack emits", r.where, r.namespace, r.name)
		}
		if strings.Contains(r.where, "Run") || strings.Contains(r.where, "run") {
			if runs[r.where] == nil {
				runs[r.where] = map[string]bool{}
			}
			runs[r.where][r.name] = true
		}
	}
	created := []string{agentkit.MetricRunsCreated, agentkit.MetricRunsStarted, agentkit.MetricRunsSucceeded, agentkit.MetricRunsFailed, agentkit.MetricRunsCancelled}
	for _, want := range []struct {
		title   string
		metrics []string
	}{
		{`"Runs per minute"`, created},
		{`"Runs running, all tasks"`, []string{"running / 6", agentkit.MetricRunsRunning}},
		{`"Age of the oldest queued run (s)"`, []string{"ApproximateAgeOfOldestMessage"}},
	} {
		n := 0
		for where, names := range runs {
			if strings.HasSuffix(where, want.title) {
				n++
				if got := slices.Sorted(maps.Keys(names)); !slices.Equal(got, slices.Sorted(slices.Values(want.metrics))) {
					t.Errorf("%s graphs %v, want %v", where, got, want.metrics)
				}
			}
		}
		wantN := 2
		if strings.Contains(want.title, "queued") {
			wantN = 1 // the worker's only
		}
		if n != wantN {
			t.Errorf("%d graphs %s, want %d", n, want.title, wantN)
		}
	}
}

func TestRunStoreOptions(t *testing.T) {
	// GIVEN a store that is deleted with the stack and keeps runs one day,
	// with a 30 s lease, and one encrypted with a key of the user's,
	// and a tag on the first (it is a construct: a scope and a tag target)
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Stores"), nil)
	gone := agentservice.NewRunStore(stack, jsii.String("Gone"), &agentservice.RunStoreProps{
		RemovalPolicy:            awscdk.RemovalPolicy_DESTROY,
		RunRetention:             awscdk.Duration_Days(jsii.Number(1)),
		RunLease:                 secs(30),
		FailedRunsAlarmThreshold: jsii.Number(2),
	})
	awscdk.Tags_Of(gone).Add(jsii.String("team"), jsii.String("agents"), nil)
	awssqs.NewQueue(gone, jsii.String("Child"), nil)
	const ownKey = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
	own := agentservice.NewRunStore(stack, jsii.String("Own"), &agentservice.RunStoreProps{
		EncryptionKey: awskms.Key_FromKeyArn(stack, jsii.String("OwnKey"), jsii.String(ownKey)),
	})
	kept := agentservice.NewRunStore(stack, jsii.String("Kept"), &agentservice.RunStoreProps{RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE})
	role := awsiam.NewRole(stack, jsii.String("Reader"), &awsiam.RoleProps{AssumedBy: awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil)})
	own.GrantRuns(role)
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN the first table and its key are deleted with the stack (the
	// key after KMS's waiting period), and both carry the tag
	for _, typ := range []string{"AWS::DynamoDB::Table", "AWS::KMS::Key"} {
		tmpl.HasResource(jsii.String(typ), obj(map[string]any{
			"DeletionPolicy": "Delete",
			"Properties":     obj(map[string]any{"Tags": arrayWith(map[string]any{"Key": "team", "Value": "agents"})}),
		}))
	}
	tmpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), obj(map[string]any{"Tags": arrayWith(map[string]any{"Key": "team", "Value": "agents"})}))
	if gone.Lease != 30*time.Second || gone.Retention != 24*time.Hour || gone.FailedRunsAlarmThreshold != 2 {
		t.Errorf("Lease, Retention, FailedRunsAlarmThreshold = %v, %v, %v; want 30s, 24h, 2", gone.Lease, gone.Retention, gone.FailedRunsAlarmThreshold)
	}
	// AND the third keeps its table and key but lets a failed create roll back
	for _, c := range []constructs.IConstruct{kept.Table, kept.Key} {
		r := (*tmpl.ToJSON())["Resources"].(map[string]any)[*logicalID(stack, c)].(map[string]any)
		if r["DeletionPolicy"] != "RetainExceptOnCreate" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("%s: DeletionPolicy %v, UpdateReplacePolicy %v; want RetainExceptOnCreate, Retain", *c.Node().Path(), r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	// AND the second makes no key and encrypts with the given one, which
	// it exposes
	tmpl.ResourceCountIs(jsii.String("AWS::KMS::Key"), jsii.Number(2)) // Gone's and Kept's
	tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), obj(map[string]any{
		"SSESpecification": map[string]any{"KMSMasterKeyId": ownKey, "SSEEnabled": true, "SSEType": "KMS"},
	}))
	if got := *own.Key.KeyArn(); got != ownKey {
		t.Errorf("Key = %s, want %s", got, ownKey)
	}
	// AND GrantRuns gives a role of one's own the item calls on that table
	// and the given key through DynamoDB
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), obj(map[string]any{
		"Roles": []any{map[string]any{"Ref": *logicalID(stack, role)}},
		"PolicyDocument": obj(map[string]any{"Statement": []any{
			map[string]any{
				"Action":   []any{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"},
				"Effect":   "Allow",
				"Resource": map[string]any{"Fn::GetAtt": []any{*logicalID(stack, own.Table), "Arn"}},
			},
			map[string]any{
				"Action":    []any{"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"},
				"Condition": map[string]any{"StringEquals": map[string]any{"kms:ViaService": viaDynamoDB}},
				"Effect":    "Allow",
				"Resource":  ownKey,
			},
		}}),
	}))
}

func TestRunStoreRefusesBadProps(t *testing.T) {
	cases := []struct {
		name  string
		props func() *agentservice.RunStoreProps
		want  string
	}{
		{"lease below 1s", func() *agentservice.RunStoreProps {
			return &agentservice.RunStoreProps{RunLease: awscdk.Duration_Millis(jsii.Number(500))}
		}, "agentservice: RunStoreProps.RunLease 500ms is out of range; use whole seconds from 1s to 900s"},
		{"lease above 15 minutes", func() *agentservice.RunStoreProps {
			return &agentservice.RunStoreProps{RunLease: awscdk.Duration_Minutes(jsii.Number(16))}
		}, "agentservice: RunStoreProps.RunLease 960s is out of range; use whole seconds from 1s to 900s"},
		{"lease a token", func() *agentservice.RunStoreProps {
			return &agentservice.RunStoreProps{RunLease: awscdk.Duration_Seconds(awscdk.Token_AsNumber(jsii.String("x")))}
		}, "agentservice: RunStoreProps.RunLease is an unresolved token; give a duration, since it is checked at synth time"},
		{"retention below an hour", func() *agentservice.RunStoreProps {
			return &agentservice.RunStoreProps{RunRetention: awscdk.Duration_Minutes(jsii.Number(30))}
		}, "agentservice: RunStoreProps.RunRetention 1800s is out of range; use whole seconds from 3600s to 31536000s"},
		{"retention above a year", func() *agentservice.RunStoreProps {
			return &agentservice.RunStoreProps{RunRetention: awscdk.Duration_Days(jsii.Number(366))}
		}, "agentservice: RunStoreProps.RunRetention 31622400s is out of range; use whole seconds from 3600s to 31536000s"},
		{"a snapshot", func() *agentservice.RunStoreProps {
			return &agentservice.RunStoreProps{RemovalPolicy: awscdk.RemovalPolicy_SNAPSHOT}
		}, `agentservice: RunStoreProps.RemovalPolicy awscdk.RemovalPolicy_SNAPSHOT is not a policy a DynamoDB table takes; use awscdk.RemovalPolicy_RETAIN, awscdk.RemovalPolicy_DESTROY or awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE`},
		{"alarm at 0", func() *agentservice.RunStoreProps {
			return &agentservice.RunStoreProps{FailedRunsAlarmThreshold: jsii.Number(0)}
		}, "agentservice: RunStoreProps.FailedRunsAlarmThreshold 0 is not a run count; use a whole number of at least 1"},
		{"alarm at 1.5", func() *agentservice.RunStoreProps {
			return &agentservice.RunStoreProps{FailedRunsAlarmThreshold: jsii.Number(1.5)}
		}, "agentservice: RunStoreProps.FailedRunsAlarmThreshold 1.5 is not a run count; use a whole number of at least 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN bad props WHEN they are validated, and a store made of them
			err := c.props().Validate()
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Bad"), nil)
			msg := synthError(func() { agentservice.NewRunStore(stack, jsii.String("Runs"), c.props()) })
			// THEN both say the one message, and nothing was made
			if err == nil || err.Error() != c.want {
				t.Errorf("Validate() = %v\nwant %s", err, c.want)
			}
			if msg != c.want {
				t.Errorf("NewRunStore panicked with %q\nwant %q", msg, c.want)
			}
			if n := len(*stack.Node().Children()); n != 0 {
				t.Errorf("the stack holds %d constructs after the refusal, want 0", n)
			}
		})
	}
	// AND nil props, and the bounds themselves, are valid
	for _, p := range []*agentservice.RunStoreProps{nil, {
		RunLease: secs(agentkit.MinRunLease.Seconds()), RunRetention: secs(agentservice.MinRunRetention.Seconds()),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN_ON_UPDATE_OR_DELETE, FailedRunsAlarmThreshold: jsii.Number(1),
	}, {RunLease: secs(agentkit.MaxRunLease.Seconds()), RunRetention: secs(agentservice.MaxRunRetention.Seconds())}} {
		if err := p.Validate(); err != nil {
			t.Errorf("Validate() = %v, want nil", err)
		}
	}
}

func TestRunsRefusedWhereTheyContradict(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Leases"), nil)
	long := agentservice.NewRunStore(stack, jsii.String("Long"), &agentservice.RunStoreProps{RunLease: awscdk.Duration_Seconds(jsii.Number(90))})
	short := agentservice.NewRunStore(stack, jsii.String("Short"), &agentservice.RunStoreProps{RunLease: secs(agentkit.DefaultQueueVisibilityTimeout.Seconds())})
	brief := agentservice.NewRunStore(stack, jsii.String("Brief"), &agentservice.RunStoreProps{RunRetention: awscdk.Duration_Days(jsii.Number(1))})
	cases := []struct {
		name string
		err  error
		want string
	}{
		{
			// GIVEN a worker whose store's lease outlasts the queue's
			// visibility timeout
			"worker lease", (&agentservice.WorkerProps{Image: astest.RegistryImage(), Runs: long}).Validate(),
			"agentservice: Runs has RunLease 90s, longer than the worker queue's visibility timeout 60s (agentkit.DefaultQueueVisibilityTimeout); " +
				"the message of a run whose worker died comes back after the visibility timeout, and while the dead worker's lease lasts it only fails and is retried, " +
				"each delivery counting towards MaxReceiveCount and the dead-letter queue; give NewRunStore a RunLease of at most 60s",
		},
		{
			// GIVEN a worker whose queue keeps a message longer than the
			// store keeps a run
			"worker retention", (&agentservice.WorkerProps{Image: astest.RegistryImage(), Runs: brief}).Validate(),
			"agentservice: Runs has RunRetention 86400s, not longer than QueueRetentionPeriod 345600s; a run whose message waits in the queue that long would expire before a worker claims it; give NewRunStore a longer RunRetention, or use a shorter QueueRetentionPeriod",
		},
		{
			// GIVEN the runs' variables in Environment
			"web environment", (&agentservice.Props{Image: astest.RegistryImage(), Environment: &map[string]*string{agentkit.EnvRunsTable: jsii.String("t")}}).Validate(),
			"agentservice: Environment sets AGENTKIT_RUNS_TABLE, which the construct sets from Runs; set Runs instead",
		},
		{
			"worker environment", (&agentservice.WorkerProps{Image: astest.RegistryImage(), Environment: &map[string]*string{agentkit.EnvRunLease: jsii.String("5s")}}).Validate(),
			"agentservice: Environment sets AGENTKIT_RUN_LEASE, which the construct sets from Runs; set Runs instead",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// THEN validation refuses it with one message naming the prop
			if c.err == nil || c.err.Error() != c.want {
				t.Errorf("Validate() = %v\nwant %s", c.err, c.want)
			}
		})
	}
	// AND the same long lease is fine for a web service (no queue), and a
	// lease of the visibility timeout for a worker
	if err := (&agentservice.Props{Image: astest.RegistryImage(), Runs: long}).Validate(); err != nil {
		t.Errorf("web service with a 90s lease: %v", err)
	}
	if err := (&agentservice.WorkerProps{Image: astest.RegistryImage(), Runs: short}).Validate(); err != nil {
		t.Errorf("worker with a 60s lease: %v", err)
	}
	// AND the short retention is fine with a queue that keeps messages less
	// long, or a given queue, whose retention the construct does not know
	for _, p := range []*agentservice.WorkerProps{
		{Image: astest.RegistryImage(), Runs: brief, QueueRetentionPeriod: awscdk.Duration_Hours(jsii.Number(12))},
		{Image: astest.RegistryImage(), Runs: brief, Queue: awssqs.Queue_FromQueueArn(stack, jsii.String("Given"), jsii.String("arn:aws:sqs:us-east-1:123456789012:jobs"))},
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("worker with a 1-day retention: %v", err)
		}
	}
}
