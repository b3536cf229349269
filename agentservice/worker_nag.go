package agentservice

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/nag"
)

// suppressWorkerFindings records, on the resources concerned, the cdk-nag
// AwsSolutions findings that the worker's design makes inherent, each
// narrowed to the exact finding and with the reason a reviewer needs.
// taskProtection is the resource of the task-protection statement.
func (w *Worker) suppressWorkerFindings(p *WorkerProps, taskProtection *string) {
	suppressTask(w.TaskDefinition, defaults.Or(p.EnableExecuteCommand, false))
	rules := []nag.Rule{{
		ID: "AwsSolutions-IAM5",
		Reason: "ECS task scale-in protection is set on the task's own ARN, whose task id is only known at run time; " +
			"the resource is narrowed to the tasks of this cluster, and the actions to UpdateTaskProtection and GetTaskProtection",
		AppliesTo: []string{"Resource::" + flattenCfn(awscdk.Stack_Of(w).Resolve(taskProtection))},
	}}
	if p.allowSend() && p.QueueEncryptionKey != nil {
		rules = append(rules, nag.Rule{
			ID: "AwsSolutions-IAM5",
			Reason: "The CDK's SQS send grant on a KMS-encrypted queue: GenerateDataKey* and ReEncrypt* cover the data-key operations SQS performs " +
				"for the sender, on this one key (QueueEncryptionKey) only",
			AppliesTo: []string{"Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*"},
		})
	}
	suppressOnce(defaultPolicy(w.TaskDefinition.TaskRole()), rules...)
}

// suppressOnce adds the rules that c's resource does not hold yet (same id
// and findings), so that the worker's rules and the shared task rules on
// the same policy are each recorded once.
func suppressOnce(c constructs.IConstruct, rules ...nag.Rule) {
	res, ok := c.Node().DefaultChild().(awscdk.CfnResource)
	if !ok {
		nag.Suppress(c, rules...) // panics with nag's message
		return
	}
	held := map[string]bool{}
	if md, ok := res.GetMetadata(jsii.String(nag.MetadataKey)).(map[string]any); ok {
		list, _ := md["rules_to_suppress"].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			id, _ := m["id"].(string)
			var applies []string
			for _, a := range asSlice(m["applies_to"]) {
				if s, ok := a.(string); ok {
					applies = append(applies, s)
				}
			}
			held[ruleKey(id, applies)] = true
		}
	}
	var add []nag.Rule
	for _, r := range rules {
		if !held[ruleKey(r.ID, r.AppliesTo)] {
			add = append(add, r)
		}
	}
	if len(add) > 0 {
		nag.Suppress(c, add...)
	}
}

func ruleKey(id string, appliesTo []string) string {
	sorted := slices.Sorted(slices.Values(appliesTo))
	return id + "\x00" + strings.Join(sorted, "\x00")
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// pullsFromECR reports whether the task's execution role was granted
// ecr:GetAuthorizationToken, which an image from ECR (an asset, or an ECR
// repository) brings.
func pullsFromECR(def awsecs.FargateTaskDefinition) bool {
	role := def.ExecutionRole()
	if role == nil || role.Node().TryFindChild(jsii.String("DefaultPolicy")) == nil {
		return false
	}
	policy, ok := defaultPolicy(role).(awsiam.Policy)
	if !ok {
		return false
	}
	doc, _ := awscdk.Stack_Of(def).Resolve(policy.Document()).(map[string]any)
	for _, st := range asSlice(doc["Statement"]) {
		m, _ := st.(map[string]any)
		if onEveryResource(m) && slices.Contains(stringsOf(m["Action"]), ecrAuthorization) {
			return true
		}
	}
	return false
}

// defaultPolicy is the role's DefaultPolicy, which its grants write to.
func defaultPolicy(role constructs.IConstruct) constructs.IConstruct {
	return role.Node().FindChild(jsii.String("DefaultPolicy"))
}

// flattenCfn renders a resolved CloudFormation value the way cdk-nag names
// it in a finding (cdk-nag's flattenCfnReference): Fn::Join joined, Ref as
// <Id>, Fn::GetAtt as <Id.Attr>, Fn::Sub's ${x} as <x>, anything else as
// JSON.
func flattenCfn(v any) string {
	switch n := v.(type) {
	case nil:
		return ""
	case string:
		return strings.NewReplacer("${", "<", "}", ">").Replace(n)
	case map[string]any:
		if j, ok := n["Fn::Join"].([]any); ok && len(j) == 2 {
			sep, _ := j[0].(string)
			items, _ := j[1].([]any)
			parts := make([]string, len(items))
			for i, item := range items {
				parts[i] = flattenCfn(item)
			}
			return strings.Join(parts, sep)
		}
		if s, ok := n["Fn::Sub"]; ok {
			return flattenCfn(s)
		}
		if g, ok := n["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return "<" + flattenCfn(g[0]) + "." + flattenCfn(g[1]) + ">"
		}
		if i, ok := n["Fn::ImportValue"]; ok {
			return flattenCfn(i)
		}
		if r, ok := n["Ref"]; ok {
			return "<" + flattenCfn(r) + ">"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
