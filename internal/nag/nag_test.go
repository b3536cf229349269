package nag_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/agentcdk/agentcdk/internal/cdktest"
	"github.com/agentcdk/agentcdk/internal/nag"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

func TestMain(m *testing.M) {
	os.Exit(cdktest.Run(m))
}

const reason = "a reason a reviewer accepts"

// fixture is one stack, synthesized once with the AwsSolutions pack, that
// every case below reads.
type fixture struct {
	synth *stacktest.Synthesized
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	app := stacktest.NewApp(t)
	stack := awscdk.NewStack(app, jsii.String("Nag"), nil)

	// A bucket with no access logs and no TLS-only policy: S1 and S10.
	// S1 is suppressed on the L2 (reaching its CfnBucket), S10 is not.
	plain := awss3.NewBucket(stack, jsii.String("Plain"), &awss3.BucketProps{})
	nag.Suppress(plain, nag.Rule{ID: "AwsSolutions-S1", Reason: reason})

	// A role with a wildcard resource (IAM5[Resource::*]) and a wildcard
	// action (IAM5[Action::s3:*]): only the resource finding is suppressed,
	// on the policy's L1.
	role := awsiam.NewRole(stack, jsii.String("Role"), &awsiam.RoleProps{AssumedBy: awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil)})
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("ecr:GetAuthorizationToken", "s3:*"), Resources: jsii.Strings("*"),
	}))
	policy := role.Node().FindChild(jsii.String("DefaultPolicy")).Node().DefaultChild()
	nag.Suppress(policy, nag.Rule{ID: "AwsSolutions-IAM5", Reason: reason, AppliesTo: []string{"Resource::*"}})

	// A bucket suppressed first by cdk-nag itself, then by Suppress twice
	// (once repeating cdk-nag's rule): the three writes merge.
	merged := awss3.NewBucket(stack, jsii.String("Merged"), &awss3.BucketProps{
		EnforceSSL: jsii.Bool(true),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(merged, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-S1"), Reason: jsii.String(reason)},
	}, nil)
	nag.Suppress(merged, nag.Rule{ID: "AwsSolutions-S1", Reason: reason})
	nag.Suppress(merged, nag.Rule{ID: "AwsSolutions-S10", Reason: "TLS-only – enforced upstream"})

	return &fixture{synth: stacktest.Synth(t, stack, stacktest.AwsSolutions)}
}

func (f *fixture) has(rule, finding, pathSuffix string) bool {
	return slices.ContainsFunc(f.synth.Findings, func(x stacktest.Finding) bool {
		return x.Rule == rule && x.Finding == finding && strings.HasSuffix(x.Path, pathSuffix)
	})
}

func (f *fixture) metadata(t *testing.T, typ, idPrefix string) any {
	t.Helper()
	for id, r := range f.synth.Resources(typ) {
		if strings.HasPrefix(id, idPrefix) {
			md, _ := r["Metadata"].(map[string]any)
			return md[nag.MetadataKey]
		}
	}
	t.Fatalf("no %s resource %s* in the template", typ, idPrefix)
	return nil
}

func TestSuppress(t *testing.T) {
	// GIVEN a stack with suppressions written by Suppress and by cdk-nag,
	// WHEN it is synthesized once with the AwsSolutions pack
	f := newFixture(t)

	t.Run("writes rules_to_suppress on the L1 of an L2", func(t *testing.T) {
		// THEN the bucket's CloudFormation metadata holds cdk-nag's format
		want := map[string]any{"rules_to_suppress": []any{map[string]any{"id": "AwsSolutions-S1", "reason": reason}}}
		if got := f.metadata(t, "AWS::S3::Bucket", "Plain"); !reflect.DeepEqual(got, want) {
			t.Errorf("metadata = %v, want %v", got, want)
		}
	})

	t.Run("cdk-nag honours it and nothing else", func(t *testing.T) {
		// THEN the suppressed rule is gone and the other one still reported
		if f.has("AwsSolutions-S1", "", "/Plain/Resource") {
			t.Error("AwsSolutions-S1 on Plain reported despite its suppression")
		}
		if !f.has("AwsSolutions-S10", "", "/Plain/Resource") {
			t.Errorf("AwsSolutions-S10 on Plain not reported; findings: %v", f.synth.Findings)
		}
	})

	t.Run("applies_to suppresses only the listed findings", func(t *testing.T) {
		// THEN the wildcard resource is suppressed, the wildcard action not
		if f.has("AwsSolutions-IAM5", "Resource::*", "/Role/DefaultPolicy/Resource") {
			t.Error("AwsSolutions-IAM5[Resource::*] reported despite its suppression")
		}
		if !f.has("AwsSolutions-IAM5", "Action::s3:*", "/Role/DefaultPolicy/Resource") {
			t.Errorf("AwsSolutions-IAM5[Action::s3:*] not reported; findings: %v", f.synth.Findings)
		}
	})

	t.Run("merges with existing suppressions without duplicates", func(t *testing.T) {
		// THEN cdk-nag's own entry comes first, the repeated one is not
		// added again, and a non-Latin-1 reason is base64-encoded as cdk-nag does
		got, _ := json.Marshal(f.metadata(t, "AWS::S3::Bucket", "Merged"))
		want := `{"rules_to_suppress":[{"id":"AwsSolutions-S1","reason":"a reason a reviewer accepts"},` +
			`{"id":"AwsSolutions-S10","is_reason_encoded":true,"reason":"VExTLW9ubHkg4oCTIGVuZm9yY2VkIHVwc3RyZWFt"}]}`
		if string(got) != want {
			t.Errorf("metadata = %s, want %s", got, want)
		}
		if f.has("AwsSolutions-S1", "", "/Merged/Resource") || f.has("AwsSolutions-S10", "", "/Merged/Resource") {
			t.Errorf("Merged still has findings: %v", f.synth.Findings)
		}
	})

	t.Run("stacktest lists every suppression", func(t *testing.T) {
		// THEN the listing names path, rule and findings of each one
		var got []string
		for _, s := range f.synth.Suppressions() {
			got = append(got, s.String())
		}
		want := []string{
			"AwsSolutions-S1 on /Nag/Merged/Resource",
			"AwsSolutions-S10 on /Nag/Merged/Resource",
			"AwsSolutions-S1 on /Nag/Plain/Resource",
			"AwsSolutions-IAM5 on /Nag/Role/DefaultPolicy/Resource applies_to Resource::*",
		}
		if !slices.Equal(got, want) {
			t.Errorf("suppressions =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	})
}

func TestSuppressRefusesBadInput(t *testing.T) {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Bad"), nil)
	bucket := awss3.NewBucket(stack, jsii.String("Bucket"), nil)
	group := constructs.NewConstruct(stack, jsii.String("Group"))
	cases := []struct {
		name  string
		c     constructs.IConstruct
		rules []nag.Rule
		want  string
	}{
		{"no rule", bucket, nil, "nag: Suppress needs at least one rule"},
		{"empty id", bucket, []nag.Rule{{Reason: reason}}, `nag: rule id is empty; use a cdk-nag rule id such as "AwsSolutions-IAM5"`},
		{"finding in id", bucket, []nag.Rule{{ID: "AwsSolutions-IAM5[Resource::*]", Reason: reason}},
			`nag: rule id "AwsSolutions-IAM5[Resource::*]" holds a finding; use ID "AwsSolutions-IAM5" and AppliesTo ["Resource::*"]`},
		{"short reason", bucket, []nag.Rule{{ID: "AwsSolutions-S1", Reason: "because"}},
			`nag: rule AwsSolutions-S1: reason "because" is 7 characters; give at least 10`},
		{"empty finding", bucket, []nag.Rule{{ID: "AwsSolutions-IAM5", Reason: reason, AppliesTo: []string{""}}},
			"nag: rule AwsSolutions-IAM5: AppliesTo holds an empty finding; leave AppliesTo nil to suppress every finding"},
		{"not a resource", group, []nag.Rule{{ID: "AwsSolutions-S1", Reason: reason}},
			"nag: Bad/Group is not a CloudFormation resource and has no default child that is one; suppress on the construct that owns the resource"},
		{"nil construct", nil, []nag.Rule{{ID: "AwsSolutions-S1", Reason: reason}}, "nag: Suppress needs a construct; got nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN a bad rule or construct
			// WHEN Suppress is called
			// THEN it panics with the message
			if got := panicOf(func() { nag.Suppress(tc.c, tc.rules...) }); got != tc.want {
				t.Errorf("panic = %q\nwant    %q", got, tc.want)
			}
		})
	}
}

func panicOf(f func()) (msg string) {
	defer func() { msg = fmt.Sprint(recover()) }()
	f()
	return "<nil>"
}
