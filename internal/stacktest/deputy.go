package stacktest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// DeputyException is a service principal's statement that carries no
// confused-deputy condition because the service's own guide documents
// none for it. A statement matches when it allows Service and the logical
// ID of the resource that holds it contains Resource.
type DeputyException struct {
	Service, Resource string
	// Page is the AWS page that gives the statement without conditions;
	// Reason says why the statement is safe as it is.
	Page, Reason string
}

// DeputyExceptions are the documented exceptions of the templates the
// constructs write (docs/compliance.md lists them too).
var DeputyExceptions = []DeputyException{
	{
		Service: "ecs-tasks.amazonaws.com", Resource: "ExecutionRole",
		Page:   "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html",
		Reason: "the task execution role's guide gives its trust policy without conditions (the task role's guide, which recommends them, covers the task role only); a condition ECS did not send would stop every task from starting",
	},
	{
		Service: "ecs.amazonaws.com", Resource: "DeployRole",
		Page:   "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html",
		Reason: "ECS's infrastructure role for load balancers is documented with a trust policy without conditions",
	},
	{
		Service: "logdelivery.elasticloadbalancing.amazonaws.com", Resource: "AccessLogsPolicy",
		Page:   "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html",
		Reason: "ELB's guide gives the log-delivery statement without conditions; it is scoped by its resource, the AWSLogs/ACCOUNT/ prefix, where ELB writes only this account's load balancers' logs",
	},
	{
		Service: "lambda.amazonaws.com", Resource: "CustomVpcRestrictDefaultSGCustomResourceProviderRole",
		Page:   "https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html",
		Reason: "the role of the CDK's own provider that empties a new VPC's default security group; Lambda's execution-role guide gives its trust policy without conditions, and CloudFormation alone invokes the function",
	},
}

// confined reports a condition block that ties a service principal to this
// account: aws:SourceAccount or aws:SourceArn under any operator, or, for
// CloudWatch Logs on a key, the encryption context its guide uses for the
// same purpose (kms:EncryptionContext:aws:logs:arn, a log group's ARN in
// this account and Region).
func confined(condition map[string]any, service string) bool {
	for _, keys := range condition {
		m, _ := keys.(map[string]any)
		for key := range m {
			k := strings.ToLower(key)
			if k == "aws:sourceaccount" || k == "aws:sourcearn" {
				return true
			}
			if k == "kms:encryptioncontext:aws:logs:arn" && strings.HasPrefix(service, "logs.") {
				return true
			}
		}
	}
	return false
}

// UnconfinedServiceStatements walks every policy of a synthesized template
// (role trust policies, the policies of buckets, topics, queues and log
// groups, key policies, and Lambda permissions) and describes each
// statement that allows an AWS service principal with neither
// aws:SourceAccount nor aws:SourceArn, unless it is one of exceptions.
// Sorted; empty when every such statement is confined.
func UnconfinedServiceStatements(template map[string]any, exceptions []DeputyException) []string {
	resources, _ := template["Resources"].(map[string]any)
	var out []string
	for id, res := range resources {
		r, _ := res.(map[string]any)
		typ, _ := r["Type"].(string)
		props, _ := r["Properties"].(map[string]any)
		if typ == "AWS::Lambda::Permission" {
			service := render(props["Principal"])
			if strings.HasSuffix(service, ".amazonaws.com") && props["SourceAccount"] == nil && props["SourceArn"] == nil && !excepted(exceptions, service, id) {
				out = append(out, fmt.Sprintf("%s (%s): Lambda permission for %s without SourceAccount or SourceArn", id, typ, service))
			}
			continue
		}
		for _, doc := range policyDocuments(props) {
			for i, st := range statements(doc.value) {
				if st["Effect"] != "Allow" {
					continue
				}
				principal, _ := st["Principal"].(map[string]any)
				condition, _ := st["Condition"].(map[string]any)
				for _, service := range services(principal["Service"]) {
					if confined(condition, service) || excepted(exceptions, service, id) {
						continue
					}
					out = append(out, fmt.Sprintf("%s (%s) %s statement %d: %s without aws:SourceAccount or aws:SourceArn", id, typ, doc.name, i, service))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

type namedDocument struct {
	name  string
	value any
}

// policyDocuments are the policy documents a resource's properties hold.
func policyDocuments(props map[string]any) []namedDocument {
	var docs []namedDocument
	for _, name := range []string{"AssumeRolePolicyDocument", "PolicyDocument", "KeyPolicy"} {
		if v, ok := props[name]; ok {
			if s, isString := v.(string); isString { // AWS::Logs::ResourcePolicy holds JSON text
				var parsed any
				if json.Unmarshal([]byte(s), &parsed) == nil {
					v = parsed
				}
			}
			docs = append(docs, namedDocument{name, v})
		}
	}
	return docs
}

func statements(doc any) []map[string]any {
	d, _ := doc.(map[string]any)
	var out []map[string]any
	switch s := d["Statement"].(type) {
	case []any:
		for _, x := range s {
			if m, ok := x.(map[string]any); ok {
				out = append(out, m)
			}
		}
	case map[string]any:
		out = append(out, s)
	}
	return out
}

// services lists a Principal's Service entries as text, an intrinsic
// rendered with its references ("logs.${AWS::Region}.${AWS::URLSuffix}").
func services(v any) []string {
	switch s := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, x := range s {
			out = append(out, render(x))
		}
		return out
	}
	return []string{render(v)}
}

// render writes a template value as text: strings as they are, Ref as
// ${Name}, Fn::Join joined, anything else as JSON.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok {
			return "${" + ref + "}"
		}
		if join, ok := x["Fn::Join"].([]any); ok && len(join) == 2 {
			sep, _ := join[0].(string)
			parts, _ := join[1].([]any)
			var s []string
			for _, p := range parts {
				s = append(s, render(p))
			}
			return strings.Join(s, sep)
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func excepted(exceptions []DeputyException, service, id string) bool {
	return slices.ContainsFunc(exceptions, func(e DeputyException) bool {
		return e.Service == service && strings.Contains(id, e.Resource)
	})
}
