package agentservice

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/token"
)

// Firewall configures the AWS WAF web ACL on the load balancer of a public
// service, whatever its Front. The zero value is the default web ACL.
type Firewall struct {
	// Off leaves the load balancer without a web ACL.
	//
	// Default: false.
	Off *bool
	// RateLimit is the most requests one client IP address may send in any
	// five minutes; above it, the address is blocked until its rate falls.
	// Each agent request costs model tokens, so the limit is also a cost
	// guard. 10 to 2,000,000,000.
	//
	// Default: 600 (DefaultRateLimit): two requests a second, sustained.
	RateLimit *float64
	// CallerRateLimit is the most requests one caller may send in any five
	// minutes, the caller told by the value of its Authorization header,
	// and apart by the value of its x-api-key header (two rules: a request
	// without the header is not counted by its rule, only by the per-IP
	// one). It holds a caller who spreads requests over many addresses.
	// 10 to 2,000,000,000.
	//
	// Default: 600 (DefaultCallerRateLimit).
	CallerRateLimit *float64
	// WebAclArn associates a web ACL of your own instead of making one.
	//
	// Default: - a web ACL made by the construct.
	WebAclArn *string
	// RedactHeaders names the request headers, beyond authorization,
	// cookie and x-api-key (DefaultRedactedHeaders), whose values the web
	// ACL's log replaces with REDACTED: the headers your callers send
	// credentials in. Not case sensitive; 1 to 64 characters each, at most
	// 96 (AWS WAF redacts at most 100 fields, and the query string and the
	// default headers take 4). Only for the web ACL the construct makes.
	//
	// Default: - the default headers and the query string only.
	RedactHeaders *[]*string
}

// Limits and defaults of Firewall.
const (
	// DefaultRateLimit is Firewall.RateLimit's default, in requests per
	// client IP address per five minutes.
	DefaultRateLimit = 600
	// DefaultCallerRateLimit is Firewall.CallerRateLimit's default, in
	// requests per caller credential per five minutes.
	DefaultCallerRateLimit = 600
	// minRateLimit and maxRateLimit are AWS WAF's limits on a rate-based
	// rule.
	minRateLimit = 10
	maxRateLimit = 2_000_000_000
	// maxRedactedFields is the most fields a WAF logging configuration
	// redacts, and maxHeaderName the longest header name it takes
	// (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html).
	maxRedactedFields = 100
	maxHeaderName     = 64
)

// DefaultRedactedHeaders are the request headers whose values the web
// ACL's log always replaces with REDACTED, beside the whole query string:
// where callers send credentials (a bearer token, a session cookie, an API
// key). A prompt in a query string would be kept for the log's retention
// otherwise.
var DefaultRedactedHeaders = []string{"authorization", "cookie", "x-api-key"}

func (p *Props) firewallOn() bool {
	return p.front() != "" && (p.Firewall == nil || !defaults.Or(p.Firewall.Off, false))
}

func (p *Props) validateFirewall() error {
	f := p.Firewall
	if f == nil {
		return nil
	}
	if !p.public() && !defaults.Or(f.Off, false) {
		return fmt.Errorf("agentservice: Firewall is set for an internal load balancer; the web ACL guards a public one, so drop Firewall or make the load balancer public")
	}
	if defaults.Or(f.Off, false) && (f.RateLimit != nil || f.CallerRateLimit != nil || f.WebAclArn != nil) {
		return fmt.Errorf("agentservice: Firewall.Off is true, so Firewall.RateLimit, Firewall.CallerRateLimit and Firewall.WebAclArn do nothing; drop them or turn the firewall on")
	}
	if f.WebAclArn != nil && (f.RateLimit != nil || f.CallerRateLimit != nil) {
		return fmt.Errorf("agentservice: Firewall.RateLimit and Firewall.CallerRateLimit apply to the web ACL the construct makes, but Firewall.WebAclArn gives one; set the rates in your web ACL")
	}
	for _, r := range []struct {
		name string
		v    *float64
	}{{"RateLimit", f.RateLimit}, {"CallerRateLimit", f.CallerRateLimit}} {
		if v := r.v; v != nil && !token.IsNumber(v) && (*v < minRateLimit || *v > maxRateLimit || *v != float64(int64(*v))) {
			return fmt.Errorf("agentservice: Firewall.%s %v is not a rate limit; use a whole number of requests per 5 minutes from %d to %d", r.name, *v, minRateLimit, maxRateLimit)
		}
	}
	return f.validateRedactHeaders()
}

// httpFieldName is HTTP's grammar for a field name (RFC 9110, token).
var httpFieldName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func (f *Firewall) validateRedactHeaders() error {
	if f.RedactHeaders == nil {
		return nil
	}
	if defaults.Or(f.Off, false) || f.WebAclArn != nil {
		return fmt.Errorf("agentservice: Firewall.RedactHeaders applies to the log of the web ACL the construct makes, but Firewall.Off or Firewall.WebAclArn is set; redact in your web ACL's logging configuration")
	}
	most := maxRedactedFields - 1 - len(DefaultRedactedHeaders)
	if n := len(*f.RedactHeaders); n > most {
		return fmt.Errorf("agentservice: Firewall.RedactHeaders has %d headers; AWS WAF redacts at most %d fields, and the query string and %s take %d, so name at most %d",
			n, maxRedactedFields, strings.Join(DefaultRedactedHeaders, ", "), 1+len(DefaultRedactedHeaders), most)
	}
	seen := map[string]bool{}
	for _, d := range DefaultRedactedHeaders {
		seen[d] = true
	}
	for _, h := range *f.RedactHeaders {
		if h == nil || token.IsString(h) {
			continue
		}
		if len(*h) > maxHeaderName || !httpFieldName.MatchString(*h) {
			return fmt.Errorf("agentservice: Firewall.RedactHeaders entry %q is not a header name; use 1 to %d letters, digits and !#$%%&'*+-.^_`|~", *h, maxHeaderName)
		}
		if seen[strings.ToLower(*h)] {
			return fmt.Errorf("agentservice: Firewall.RedactHeaders names %q twice, or one of the headers always redacted (%s); drop it", *h, strings.Join(DefaultRedactedHeaders, ", "))
		}
		seen[strings.ToLower(*h)] = true
	}
	return nil
}

// firewall puts a web ACL in front of lb and returns the one it made, or nil
// for the caller's. The rules: AWS's common rule set (with its 8 KB body
// limit only counted, since agent prompts are often longer), its
// known-bad-inputs set, the Amazon IP reputation list, a rate limit per
// client IP address and one per caller credential.
func firewall(scope constructs.Construct, p *Props, lb elbv2.ApplicationLoadBalancer) awswafv2.CfnWebACL {
	if arn := p.Firewall; arn != nil && arn.WebAclArn != nil {
		awswafv2.NewCfnWebACLAssociation(scope, jsii.String("FirewallAssociation"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: lb.LoadBalancerArn(), WebAclArn: arn.WebAclArn,
		})
		return nil
	}
	rate, callerRate := float64(DefaultRateLimit), float64(DefaultCallerRateLimit)
	if p.Firewall != nil {
		rate = defaults.Or(p.Firewall.RateLimit, DefaultRateLimit)
		callerRate = defaults.Or(p.Firewall.CallerRateLimit, DefaultCallerRateLimit)
	}
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true), MetricName: jsii.String(name), SampledRequestsEnabled: jsii.Bool(true),
		}
	}
	managed := func(priority float64, name string, overrides ...string) *awswafv2.CfnWebACL_RuleProperty {
		var ruleOverrides []any
		for _, o := range overrides {
			ruleOverrides = append(ruleOverrides, &awswafv2.CfnWebACL_RuleActionOverrideProperty{
				Name: jsii.String(o), ActionToUse: &awswafv2.CfnWebACL_RuleActionProperty{Count: &awswafv2.CfnWebACL_CountActionProperty{}},
			})
		}
		stmt := &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{VendorName: jsii.String("AWS"), Name: jsii.String(name)}
		if len(ruleOverrides) > 0 {
			stmt.RuleActionOverrides = &ruleOverrides
		}
		return &awswafv2.CfnWebACL_RuleProperty{
			Name:             jsii.String(name),
			Priority:         jsii.Number(priority),
			OverrideAction:   &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			Statement:        &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: stmt},
			VisibilityConfig: visibility(name),
		}
	}
	acl := awswafv2.NewCfnWebACL(scope, jsii.String("Firewall"), &awswafv2.CfnWebACLProps{
		Scope:         jsii.String("REGIONAL"),
		DefaultAction: &awswafv2.CfnWebACL_DefaultActionProperty{Allow: &awswafv2.CfnWebACL_AllowActionProperty{}},
		Description:   jsii.String("In front of an agent service public load balancer - agentcdk"),
		Rules: &[]any{
			managed(0, "AWSManagedRulesAmazonIpReputationList"),
			// Agent prompts often pass the set's 8 KB body limit: counted, not blocked.
			managed(1, "AWSManagedRulesCommonRuleSet", "SizeRestrictions_BODY"),
			managed(2, "AWSManagedRulesKnownBadInputsRuleSet"),
			rateRule(3, "RateLimitPerIP", p.perIP(rate)),
			rateRule(4, "RateLimitPerAuthorization", perHeader(callerRate, "authorization")),
			rateRule(5, "RateLimitPerApiKey", perHeader(callerRate, "x-api-key")),
		},
		VisibilityConfig: visibility("AgentFirewall"),
	})
	awswafv2.NewCfnWebACLAssociation(scope, jsii.String("FirewallAssociation"), &awswafv2.CfnWebACLAssociationProps{
		ResourceArn: lb.LoadBalancerArn(), WebAclArn: acl.AttrArn(),
	})
	logFirewall(scope, p, acl)
	return acl
}

// rateRule blocks what stmt counts above its limit.
func rateRule(priority float64, name string, stmt *awswafv2.CfnWebACL_RateBasedStatementProperty) *awswafv2.CfnWebACL_RuleProperty {
	return &awswafv2.CfnWebACL_RuleProperty{
		Name:      jsii.String(name),
		Priority:  jsii.Number(priority),
		Action:    &awswafv2.CfnWebACL_RuleActionProperty{Block: &awswafv2.CfnWebACL_BlockActionProperty{}},
		Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: stmt},
		VisibilityConfig: &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true), MetricName: jsii.String(name), SampledRequestsEnabled: jsii.Bool(true),
		},
	}
}

// perIP counts requests per client address. Behind CloudFront the
// connection comes from CloudFront, so the address is read from
// ViewerIPHeader, which the distribution's function overwrites on every
// request with the viewer's address; X-Forwarded-For would not do, as its
// first address is whatever the client wrote. A request without a valid
// address in the header is not counted (FallbackBehavior NO_MATCH): none
// arrives through CloudFront, and should the header ever go missing, MATCH
// would pool every request into one bucket and throttle all callers at
// once; the per-caller rules still hold
// (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-aggregation-options.html).
func (p *Props) perIP(limit float64) *awswafv2.CfnWebACL_RateBasedStatementProperty {
	if p.front() != FrontCloudFront {
		return &awswafv2.CfnWebACL_RateBasedStatementProperty{Limit: jsii.Number(limit), AggregateKeyType: jsii.String("IP")}
	}
	return &awswafv2.CfnWebACL_RateBasedStatementProperty{
		Limit: jsii.Number(limit), AggregateKeyType: jsii.String("FORWARDED_IP"),
		ForwardedIpConfig: &awswafv2.CfnWebACL_ForwardedIPConfigurationProperty{
			HeaderName: jsii.String(ViewerIPHeader), FallbackBehavior: jsii.String("NO_MATCH"),
		},
	}
}

// perHeader counts requests per value of a credential header: one caller,
// from however many addresses. AWS WAF leaves a request without the header
// out of the rule
// (https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatementCustomKey.html),
// so a caller without it is bounded by the per-IP rule alone.
func perHeader(limit float64, header string) *awswafv2.CfnWebACL_RateBasedStatementProperty {
	return &awswafv2.CfnWebACL_RateBasedStatementProperty{
		Limit: jsii.Number(limit), AggregateKeyType: jsii.String("CUSTOM_KEYS"),
		CustomKeys: &[]any{&awswafv2.CfnWebACL_RateBasedStatementCustomKeyProperty{
			Header: &awswafv2.CfnWebACL_RateLimitHeaderProperty{
				Name: jsii.String(header),
				TextTransformations: &[]any{&awswafv2.CfnWebACL_TextTransformationProperty{
					Priority: jsii.Number(0), Type: jsii.String("NONE"),
				}},
			},
		}},
	}
}

// logFirewall sends the web ACL's log to a log group of its own, kept and
// encrypted as the construct's other logs, with the credentials a request
// may carry redacted (see redactedFields).
//
// AWS WAF delivers only to log groups whose names start with aws-waf-logs-
// (https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html),
// so the group cannot take a generated name: its name ends with the UUID of
// the stack's ID, new on every create. A destroy keeps the group, as it
// keeps every log group of the construct, and the next deploy of the stack
// makes another instead of failing on the name.
func logFirewall(scope constructs.Construct, p *Props, acl awswafv2.CfnWebACL) {
	stack := awscdk.Stack_Of(scope)
	deployment := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), stack.StackId(), nil))
	logs := awslogs.NewLogGroup(scope, jsii.String("FirewallLogs"), &awslogs.LogGroupProps{
		LogGroupName:  awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("aws-waf-logs-" + *awscdk.Names_UniqueId(acl) + "-"), deployment}),
		Retention:     p.logRetention(),
		EncryptionKey: p.LogEncryptionKey,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	// WAF names the group by its ARN without the ":*" the CDK's
	// LogGroupArn ends with; the Ref orders the configuration after it.
	arn := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("logs"), Resource: jsii.String("log-group"), ResourceName: logs.LogGroupName(),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})
	awswafv2.NewCfnLoggingConfiguration(scope, jsii.String("FirewallLogging"), &awswafv2.CfnLoggingConfigurationProps{
		ResourceArn:           acl.AttrArn(),
		LogDestinationConfigs: &[]any{arn},
		RedactedFields:        redactedFields(p.Firewall),
	})
}

// redactedFields keeps credentials and prompts out of the web ACL's log:
// the query string, and the default headers with the caller's
// RedactHeaders. AWS WAF redacts only UriPath, QueryString, SingleHeader
// and Method, at most 100 of them
// (https://docs.aws.amazon.com/waf/latest/APIReference/API_LoggingConfiguration.html).
func redactedFields(f *Firewall) *[]any {
	headers := slices.Clone(DefaultRedactedHeaders)
	if f != nil && f.RedactHeaders != nil {
		for _, h := range *f.RedactHeaders {
			if h != nil {
				headers = append(headers, *h)
			}
		}
	}
	fields := []any{&awswafv2.CfnLoggingConfiguration_FieldToMatchProperty{QueryString: map[string]any{}}}
	for _, h := range headers {
		// A map, not the CDK's SingleHeaderProperty, which it writes as
		// {"name": ...} since the field is untyped JSON; CloudFormation
		// wants "Name".
		fields = append(fields, &awswafv2.CfnLoggingConfiguration_FieldToMatchProperty{
			SingleHeader: map[string]any{"Name": h},
		})
	}
	return &fields
}
