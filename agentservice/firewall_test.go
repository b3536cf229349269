package agentservice_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

func TestAPublicLoadBalancerGetsAWebACL(t *testing.T) {
	// GIVEN the default service WHEN it synthesizes
	s := astest.Defaults.Synth(t)
	tmpl, svc := s.Template, s.Web

	// THEN a regional web ACL allows by default and runs the IP reputation
	// list, the common rule set with its body-size rule only counted, the
	// known-bad-inputs set, a rate limit of 600 per viewer IP per 5 minutes
	// (the viewer's address read from the header the CloudFront function
	// overwrites, since the connection comes from CloudFront), and one of
	// 600 per Authorization value and per x-api-key value
	// (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-aggregation-options.html)
	if svc.Firewall == nil {
		t.Fatal("Firewall is nil")
	}
	managed := func(name string) any {
		return obj(map[string]any{"Statement": obj(map[string]any{"ManagedRuleGroupStatement": obj(map[string]any{"VendorName": "AWS", "Name": name})})})
	}
	tmpl.HasResourceProperties(jsii.String("AWS::WAFv2::WebACL"), obj(map[string]any{
		"Scope":         "REGIONAL",
		"DefaultAction": map[string]any{"Allow": map[string]any{}},
		"Rules": []any{
			managed("AWSManagedRulesAmazonIpReputationList"),
			obj(map[string]any{"Statement": obj(map[string]any{"ManagedRuleGroupStatement": obj(map[string]any{
				"Name":                "AWSManagedRulesCommonRuleSet",
				"RuleActionOverrides": []any{map[string]any{"Name": "SizeRestrictions_BODY", "ActionToUse": map[string]any{"Count": map[string]any{}}}},
			})})}),
			managed("AWSManagedRulesKnownBadInputsRuleSet"),
			obj(map[string]any{"Name": "RateLimitPerIP", "Action": map[string]any{"Block": map[string]any{}},
				"Statement": map[string]any{"RateBasedStatement": map[string]any{"Limit": 600, "AggregateKeyType": "FORWARDED_IP",
					"ForwardedIPConfig": map[string]any{"HeaderName": agentservice.ViewerIPHeader, "FallbackBehavior": "NO_MATCH"}}}}),
			perCaller("RateLimitPerAuthorization", "authorization", 600),
			perCaller("RateLimitPerApiKey", "x-api-key", 600),
		},
	}))
	// AND it guards the load balancer and logs to an aws-waf-logs- group
	// (whose name ends with the stack ID's UUID: realaccount_test.go)
	tmpl.ResourceCountIs(jsii.String("AWS::WAFv2::WebACLAssociation"), jsii.Number(1))
	tmpl.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{
		"LogGroupName": obj(map[string]any{"Fn::Join": arrayWith(arrayWith(assertions.Match_StringLikeRegexp(jsii.String("^aws-waf-logs-"))))}),
	}))
	tmpl.ResourceCountIs(jsii.String("AWS::WAFv2::LoggingConfiguration"), jsii.Number(1))
}

// perCaller matches a rate rule that blocks above limit per value of header.
func perCaller(name, header string, limit float64) assertions.Matcher {
	return obj(map[string]any{"Name": name, "Action": map[string]any{"Block": map[string]any{}},
		"Statement": map[string]any{"RateBasedStatement": map[string]any{"Limit": limit, "AggregateKeyType": "CUSTOM_KEYS",
			"CustomKeys": []any{map[string]any{"Header": map[string]any{
				"Name": header, "TextTransformations": []any{map[string]any{"Priority": 0, "Type": "NONE"}}}}}}}})
}

func TestTheFirewallIsTunableReplaceableAndRemovable(t *testing.T) {
	cases := []struct {
		name         string
		props        *agentservice.Props
		acls, assocs int
		rate         float64
		// key is the per-IP rule's aggregate key: the connection's address
		// on a public load balancer, the viewer's behind CloudFront.
		key string
	}{
		{"a rate limit of its own", &agentservice.Props{Image: astest.RegistryImage(), Firewall: &agentservice.Firewall{RateLimit: jsii.Number(100)}}, 1, 1, 100, "FORWARDED_IP"},
		{"a rate limit on a public load balancer", &agentservice.Props{Image: astest.RegistryImage(), Front: agentservice.FrontPublicHTTP,
			Firewall: &agentservice.Firewall{RateLimit: jsii.Number(100)}}, 1, 1, 100, "IP"},
		{"a web ACL of the caller's", &agentservice.Props{Image: astest.RegistryImage(), Firewall: &agentservice.Firewall{
			WebAclArn: jsii.String("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mine/1")}}, 0, 1, 0, ""},
		{"off", &agentservice.Props{Image: astest.RegistryImage(), Firewall: &agentservice.Firewall{Off: jsii.Bool(true)}}, 0, 0, 0, ""},
		{"an internal load balancer", &agentservice.Props{Image: astest.RegistryImage(), PublicLoadBalancer: jsii.Bool(false)}, 0, 0, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the firewall prop WHEN it synthesizes
			tmpl, _ := synth(t, c.props)

			// THEN the web ACL and its association are as asked
			tmpl.ResourceCountIs(jsii.String("AWS::WAFv2::WebACL"), jsii.Number(float64(c.acls)))
			tmpl.ResourceCountIs(jsii.String("AWS::WAFv2::WebACLAssociation"), jsii.Number(float64(c.assocs)))
			if c.rate != 0 {
				tmpl.HasResourceProperties(jsii.String("AWS::WAFv2::WebACL"), obj(map[string]any{
					"Rules": arrayWith(obj(map[string]any{"Name": "RateLimitPerIP",
						"Statement": map[string]any{"RateBasedStatement": obj(map[string]any{"Limit": c.rate, "AggregateKeyType": c.key})}})),
				}))
			}
			if c.props.Firewall != nil && c.props.Firewall.WebAclArn != nil {
				tmpl.HasResourceProperties(jsii.String("AWS::WAFv2::WebACLAssociation"), obj(map[string]any{"WebACLArn": *c.props.Firewall.WebAclArn}))
			}
		})
	}
}

func TestValidateRefusesABadFirewall(t *testing.T) {
	img := astest.RegistryImage()
	cases := []struct {
		name  string
		props *agentservice.Props
		want  string
	}{
		{"rate limit too low", &agentservice.Props{Image: img, Firewall: &agentservice.Firewall{RateLimit: jsii.Number(5)}},
			"agentservice: Firewall.RateLimit 5 is not a rate limit; use a whole number of requests per 5 minutes from 10 to 2000000000"},
		{"off with a rate", &agentservice.Props{Image: img, Firewall: &agentservice.Firewall{Off: jsii.Bool(true), RateLimit: jsii.Number(100)}},
			"agentservice: Firewall.Off is true, so Firewall.RateLimit, Firewall.CallerRateLimit and Firewall.WebAclArn do nothing; drop them or turn the firewall on"},
		{"own web ACL with a rate", &agentservice.Props{Image: img, Firewall: &agentservice.Firewall{WebAclArn: jsii.String("arn:x"), RateLimit: jsii.Number(100)}},
			"agentservice: Firewall.RateLimit and Firewall.CallerRateLimit apply to the web ACL the construct makes, but Firewall.WebAclArn gives one; set the rates in your web ACL"},
		{"own web ACL with a caller rate", &agentservice.Props{Image: img, Firewall: &agentservice.Firewall{WebAclArn: jsii.String("arn:x"), CallerRateLimit: jsii.Number(100)}},
			"agentservice: Firewall.RateLimit and Firewall.CallerRateLimit apply to the web ACL the construct makes, but Firewall.WebAclArn gives one; set the rates in your web ACL"},
		{"caller rate limit not whole", &agentservice.Props{Image: img, Firewall: &agentservice.Firewall{CallerRateLimit: jsii.Number(99.5)}},
			"agentservice: Firewall.CallerRateLimit 99.5 is not a rate limit; use a whole number of requests per 5 minutes from 10 to 2000000000"},
		{"internal load balancer", &agentservice.Props{Image: img, PublicLoadBalancer: jsii.Bool(false), Firewall: &agentservice.Firewall{}},
			"agentservice: Firewall is set for an internal load balancer; the web ACL guards a public one, so drop Firewall or make the load balancer public"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a bad firewall WHEN validated THEN the message names it
			if err := c.props.Validate(); err == nil || err.Error() != c.want {
				t.Fatalf("Validate() = %v\nwant %s", err, c.want)
			}
		})
	}
}
