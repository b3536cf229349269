package stacktest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// physicalNames are the properties that name a resource in its account
// and Region (or, for a service, its cluster): CloudFormation generates a
// unique name when the property is absent, and fails the create when a
// given name exists. Properties named per parent resource only (an inline
// policy's PolicyName, a scaling policy's PolicyName) are not listed: two
// stacks cannot collide on them.
var physicalNames = map[string][]string{
	"AWS::CloudWatch::Alarm":                    {"AlarmName"},
	"AWS::CloudWatch::Dashboard":                {"DashboardName"},
	"AWS::DynamoDB::Table":                      {"TableName"},
	"AWS::EC2::SecurityGroup":                   {"GroupName"},
	"AWS::ECR::Repository":                      {"RepositoryName"},
	"AWS::ECS::Cluster":                         {"ClusterName"},
	"AWS::ECS::Service":                         {"ServiceName"},
	"AWS::ElasticLoadBalancingV2::LoadBalancer": {"Name"},
	"AWS::ElasticLoadBalancingV2::TargetGroup":  {"Name"},
	"AWS::Events::Rule":                         {"Name"},
	"AWS::IAM::ManagedPolicy":                   {"ManagedPolicyName"},
	"AWS::IAM::Role":                            {"RoleName"},
	"AWS::KMS::Alias":                           {"AliasName"},
	"AWS::Lambda::Function":                     {"FunctionName"},
	"AWS::Logs::LogGroup":                       {"LogGroupName"},
	"AWS::S3::Bucket":                           {"BucketName"},
	"AWS::SNS::Topic":                           {"TopicName"},
	"AWS::SQS::Queue":                           {"QueueName"},
	"AWS::SSM::Parameter":                       {"Name"},
	"AWS::SecretsManager::Secret":               {"Name"},
	"AWS::WAFv2::WebACL":                        {"Name"},
}

// FixedNames lists the physical names in template that are the same on
// every deployment, as "Type Property=value" (an intrinsic function shown as
// JSON), sorted. A name is fixed unless it refers to AWS::StackId, which
// is new on every create, or to another resource of the stack: such a name
// changes when the stack is created again, and two stacks never share it.
// A fixed name collides with itself when the stack is deployed again after
// a destroy that retained the resource, and with any other stack, in the
// account and Region, that fixes the same name.
func FixedNames(template map[string]any) []string {
	resources, _ := template["Resources"].(map[string]any)
	var out []string
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res, _ := resources[id].(map[string]any)
		typ, _ := res["Type"].(string)
		props, _ := res["Properties"].(map[string]any)
		for _, prop := range physicalNames[typ] {
			v, ok := props[prop]
			if !ok || variesPerDeployment(v, resources) {
				continue
			}
			s, isString := v.(string)
			if !isString {
				b, _ := json.Marshal(v)
				s = string(b)
			}
			out = append(out, fmt.Sprintf("%s %s=%s", typ, prop, s))
		}
	}
	slices.Sort(out)
	return out
}

// variesPerDeployment reports whether a template value refers to
// AWS::StackId or to a resource of the template.
func variesPerDeployment(v any, resources map[string]any) bool {
	switch n := v.(type) {
	case map[string]any:
		if ref, ok := n["Ref"].(string); ok {
			_, resource := resources[ref]
			return ref == "AWS::StackId" || resource
		}
		if att, ok := n["Fn::GetAtt"].([]any); ok && len(att) > 0 {
			name, _ := att[0].(string)
			_, resource := resources[name]
			return resource
		}
		for _, child := range n {
			if variesPerDeployment(child, resources) {
				return true
			}
		}
	case []any:
		for _, child := range n {
			if variesPerDeployment(child, resources) {
				return true
			}
		}
	}
	return false
}

// ExpectFixedNames fails t unless the template's fixed physical names (see
// FixedNames) are exactly want.
func ExpectFixedNames(t testing.TB, template map[string]any, want ...string) {
	t.Helper()
	got := FixedNames(template)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("fixed physical names:\n got  %s\n want %s", strings.Join(got, "; "), strings.Join(want, "; "))
	}
}
