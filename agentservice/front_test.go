package agentservice_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

// CloudFront's managed policies, by ID
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html,
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html).
const (
	cachingDisabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	allViewer       = "216adef6-5c7f-47e4-b989-5492eafa07d3"
)

func TestTheDefaultFrontIsHTTPSThroughCloudFrontToAnInternalLoadBalancer(t *testing.T) {
	// GIVEN the default service WHEN it synthesizes
	s := astest.Defaults.Synth(t)
	tmpl := s.Template

	// THEN the load balancer is internal, in the private subnets
	// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html)
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), obj(map[string]any{"Scheme": "internal"}))
	// AND a CloudFront VPC origin reaches it on its plain-HTTP listener:
	// TLS ends at CloudFront, and the hop stays inside the VPC
	tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::VpcOrigin"), obj(map[string]any{
		"VpcOriginEndpointConfig": obj(map[string]any{"HTTPPort": 80, "OriginProtocolPolicy": "http-only"}),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{"Port": 80, "Protocol": "HTTP"}))
	// AND the distribution redirects viewers to HTTPS, allows every
	// method, caches nothing, forwards every header (Authorization
	// included, as caching is off:
	// https://repost.aws/knowledge-center/cloudfront-authorization-header)
	// and the body, does not compress (SSE must flow), stamps the viewer's
	// address, and waits 60 s for the origin, keeping idle connections
	// 60 s, under the load balancer's 120 s idle timeout
	tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), obj(map[string]any{
		"DistributionConfig": obj(map[string]any{
			"DefaultCacheBehavior": obj(map[string]any{
				"ViewerProtocolPolicy":  "redirect-to-https",
				"AllowedMethods":        []any{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"},
				"CachePolicyId":         cachingDisabled,
				"OriginRequestPolicyId": allViewer,
				"Compress":              false,
				"FunctionAssociations":  []any{obj(map[string]any{"EventType": "viewer-request"})},
			}),
			"Origins": []any{obj(map[string]any{
				"VpcOriginConfig": obj(map[string]any{"OriginReadTimeout": 60, "OriginKeepaliveTimeout": 60}),
			})},
			// CloudFront's own certificate on *.cloudfront.net: no domain needed
			"ViewerCertificate": assertions.Match_Absent(),
		}),
	}))
	// AND the function overwrites the viewer-IP header from
	// event.viewer.ip, whatever the client sent
	// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/example-function-add-true-client-ip-header.html)
	tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::Function"), obj(map[string]any{
		"FunctionCode":   assertions.Match_StringLikeRegexp(jsii.String(`request\.headers\['` + agentservice.ViewerIPHeader + `'\] = \{ value: event\.viewer\.ip \}`)),
		"FunctionConfig": obj(map[string]any{"Runtime": "cloudfront-js-2.0"}),
	}))
	// AND the URL is the distribution's HTTPS address
	same(t, "URL", s.Stack.Resolve(s.Web.URL),
		map[string]any{"Fn::Join": []any{"", []any{"https://", s.Stack.Resolve(s.Web.Distribution.DistributionDomainName())}}})
}

func TestOnlyCloudFrontReachesTheLoadBalancer(t *testing.T) {
	// GIVEN the default service WHEN it synthesizes
	s := astest.Defaults.Synth(t)

	// THEN the load balancer's group admits one source: CloudFront's
	// origin-facing prefix list, on the listener port, read from the
	// region's entry at deploy time
	// (https://aws.amazon.com/blogs/networking-and-content-delivery/limit-access-to-your-origins-using-the-aws-managed-prefix-list-for-amazon-cloudfront/)
	var ingress []map[string]any
	for _, r := range properties(t, s.Template, "AWS::EC2::SecurityGroupIngress") {
		if strings.Contains(jsonOf(t, r["GroupId"]), "LBSecurityGroup") {
			ingress = append(ingress, r)
		}
	}
	if len(ingress) != 1 {
		t.Fatalf("%d ingress rules on the load balancer's group, want 1: %v", len(ingress), ingress)
	}
	rule := ingress[0]
	if rule["FromPort"] != float64(80) || rule["ToPort"] != float64(80) || rule["CidrIp"] != nil {
		t.Errorf("ingress %v, want port 80 from a prefix list only", rule)
	}
	if got := jsonOf(t, rule["SourcePrefixListId"]); !strings.Contains(got, "Fn::FindInMap") || !strings.Contains(got, "AWS::Region") {
		t.Errorf("SourcePrefixListId %s, want a FindInMap on the region", got)
	}
	for _, g := range properties(t, s.Template, "AWS::EC2::SecurityGroup") {
		if strings.Contains(jsonOf(t, g["SecurityGroupIngress"]), "0.0.0.0/0") {
			t.Errorf("a security group admits 0.0.0.0/0: %v", g)
		}
	}
	// AND the mapping holds the table's regions
	mapping := jsonOf(t, s.Template.FindMappings(jsii.String("*"), nil))
	for _, want := range []string{`"us-east-1":{"PrefixListId":"pl-3b927c52"}`, `"eu-west-1":{"PrefixListId":"pl-4fa04526"}`} {
		if !strings.Contains(mapping, want) {
			t.Errorf("mappings %s lack %s", mapping, want)
		}
	}
}

// jsonOf is v as JSON, for searching.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// synthIn builds props into a stack in region and returns its template.
func synthIn(t *testing.T, region string, props *agentservice.Props) assertions.Template {
	t.Helper()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), &awscdk.StackProps{Env: &awscdk.Environment{
		Account: jsii.String("123456789012"), Region: jsii.String(region)}})
	agentservice.New(stack, jsii.String("Agent"), props)
	return assertions.Template_FromStack(stack, nil)
}

func TestTheOriginFacingPrefixListFollowsTheRegion(t *testing.T) {
	// GIVEN a stack in us-west-2 WHEN it synthesizes
	tmpl := synthIn(t, "us-west-2", &agentservice.Props{Image: astest.RegistryImage()})
	// THEN the rule names that region's list itself
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), obj(map[string]any{"SourcePrefixListId": "pl-82a045eb", "FromPort": 80}))

	// GIVEN a list given for a region outside the table WHEN it synthesizes
	tmpl = synthIn(t, "af-south-1", &agentservice.Props{Image: astest.RegistryImage(), CloudFrontPrefixListId: jsii.String("pl-0123456789abcdef0")})
	// THEN the rule names it
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupIngress"), obj(map[string]any{"SourcePrefixListId": "pl-0123456789abcdef0"}))

	// GIVEN a region outside the table and no list WHEN it synthesizes
	// THEN synthesis fails, naming the prop and how to find the ID
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "agentservice: the stack's region af-south-1 has no entry") || !strings.Contains(msg, "set CloudFrontPrefixListId") {
			t.Errorf("panic %q, want the region and CloudFrontPrefixListId named", msg)
		}
	}()
	synthIn(t, "af-south-1", &agentservice.Props{Image: astest.RegistryImage()})
}

func TestTheDeadlineFitsCloudFrontsOriginTimeout(t *testing.T) {
	certificate := func(stack awscdk.Stack) awscertificatemanager.ICertificate {
		return awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"),
			jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"))
	}
	cases := []struct {
		name            string
		props           func(awscdk.Stack) *agentservice.Props
		deadline, delay string
		read, keepalive float64 // 0: no distribution
	}{
		// 60 s origin response timeout - agentkit.RequestDeadlineMargin
		{"defaults behind CloudFront: 55 s", func(awscdk.Stack) *agentservice.Props { return &agentservice.Props{} }, "55s", "60", 60, 60},
		{"a longer origin timeout (quota raised), a deadline to match", func(awscdk.Stack) *agentservice.Props {
			return &agentservice.Props{OriginResponseTimeout: secs(120), RequestTimeout: secs(115)}
		}, "115s", "120", 120, 60},
		{"streams longer than the origin timeout", func(awscdk.Stack) *agentservice.Props {
			return &agentservice.Props{RequestTimeout: secs(300), LongRequestsStream: jsii.Bool(true)}
		}, "300s", "305", 60, 60},
		{"a short idle timeout keeps CloudFront's connections shorter still", func(awscdk.Stack) *agentservice.Props {
			return &agentservice.Props{IdleTimeout: secs(30), RequestTimeout: secs(30)}
		}, "30s", "35", 60, 25},
		{"a public load balancer keeps the 60 s default", func(stack awscdk.Stack) *agentservice.Props {
			return &agentservice.Props{Certificate: certificate(stack)}
		}, "60s", "65", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the timing props WHEN the service synthesizes
			stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Test"), nil)
			props := c.props(stack)
			props.Image = astest.RegistryImage()
			svc := agentservice.New(stack, jsii.String("Agent"), props)
			tmpl := assertions.Template_FromStack(stack, nil)

			// THEN the container's deadline and the drain follow the front
			tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
				"ContainerDefinitions": arrayWith(obj(map[string]any{
					"Environment": arrayWith(map[string]any{"Name": "AGENTKIT_REQUEST_TIMEOUT", "Value": c.deadline}),
				})),
			}))
			tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), obj(map[string]any{
				"TargetGroupAttributes": arrayWith(map[string]any{"Key": "deregistration_delay.timeout_seconds", "Value": c.delay}),
			}))
			// AND CloudFront's origin timeouts are as computed
			if c.read == 0 {
				tmpl.ResourceCountIs(jsii.String("AWS::CloudFront::Distribution"), jsii.Number(0))
				if svc.Distribution != nil {
					t.Error("Distribution is set without the CloudFront front")
				}
				return
			}
			tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), obj(map[string]any{
				"DistributionConfig": obj(map[string]any{"Origins": []any{obj(map[string]any{
					"VpcOriginConfig": obj(map[string]any{"OriginReadTimeout": c.read, "OriginKeepaliveTimeout": c.keepalive}),
				})}}),
			}))
		})
	}
}

func TestValidateRefusesAFrontThatContradictsItself(t *testing.T) {
	img := astest.RegistryImage()
	cert := awscertificatemanager.Certificate_FromCertificateArn(awscdk.NewStack(nil, nil, nil), jsii.String("C"),
		jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"))
	cases := []struct {
		name  string
		props *agentservice.Props
		want  string
	}{
		{"an unknown front", &agentservice.Props{Image: img, Front: "Tunnel"},
			`agentservice: Front "Tunnel" is not a front; use agentservice.FrontCloudFront, FrontPublicALB or FrontPublicHTTP`},
		{"a front on an internal load balancer", &agentservice.Props{Image: img, Front: agentservice.FrontCloudFront, PublicLoadBalancer: jsii.Bool(false)},
			`agentservice: Front "CloudFront" is set but PublicLoadBalancer is false; an internal load balancer has no front, so drop one of them`},
		{"CloudFront with a certificate", &agentservice.Props{Image: img, Front: agentservice.FrontCloudFront, Certificate: cert},
			"agentservice: Front CloudFront is set with Certificate or DomainName; CloudFront serves https://<id>.cloudfront.net with its own certificate, and yours goes on the load balancer's HTTPS listener (FrontPublicALB), so drop Front or the certificate"},
		{"a public HTTPS load balancer without a certificate", &agentservice.Props{Image: img, Front: agentservice.FrontPublicALB},
			"agentservice: Front PublicALB needs a Certificate, or a DomainName with its DomainZone, for the load balancer's HTTPS listener; give one, or drop Front for HTTPS through CloudFront"},
		{"plain HTTP with a certificate", &agentservice.Props{Image: img, Front: agentservice.FrontPublicHTTP, Certificate: cert},
			"agentservice: Front PublicHTTP is set with Certificate or DomainName; drop Front to serve HTTPS with the certificate"},
		{"an origin timeout without CloudFront", &agentservice.Props{Image: img, Front: agentservice.FrontPublicHTTP, OriginResponseTimeout: secs(30)},
			"agentservice: OriginResponseTimeout and CloudFrontPrefixListId apply only to Front CloudFront, and the front is PublicHTTP; drop them"},
		{"a prefix list on an internal load balancer", &agentservice.Props{Image: img, PublicLoadBalancer: jsii.Bool(false), CloudFrontPrefixListId: jsii.String("pl-1")},
			"agentservice: OriginResponseTimeout and CloudFrontPrefixListId apply only to Front CloudFront, and the front is none (an internal load balancer); drop them"},
		{"a prefix list ID of another form", &agentservice.Props{Image: img, CloudFrontPrefixListId: jsii.String("com.amazonaws.global.cloudfront.origin-facing")},
			`agentservice: CloudFrontPrefixListId "com.amazonaws.global.cloudfront.origin-facing" is not a prefix list ID; use the pl-... ID of com.amazonaws.global.cloudfront.origin-facing in the stack's region`},
		{"an origin timeout above CloudFront's ceiling", &agentservice.Props{Image: img, OriginResponseTimeout: secs(200)},
			"agentservice: OriginResponseTimeout 200s is out of range; use whole seconds from 1s to 180s (above 60s needs a CloudFront quota increase)"},
		{"an origin timeout in fractions", &agentservice.Props{Image: img, OriginResponseTimeout: awscdk.Duration_Millis(jsii.Number(1500))},
			"agentservice: OriginResponseTimeout 1.5s is out of range; use whole seconds from 1s to 180s (above 60s needs a CloudFront quota increase)"},
		// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html#DownloadDistValuesOriginResponseTimeout)
		{"the old 60 s deadline behind CloudFront", &agentservice.Props{Image: img, RequestTimeout: secs(60)},
			"agentservice: RequestTimeout 60s does not fit OriginResponseTimeout 60s; CloudFront answers 504 when a response's first byte takes longer, so agentkit must answer 5s before it: use a RequestTimeout of at most 55s, a longer OriginResponseTimeout, or LongRequestsStream if the long requests stream"},
		{"a short origin timeout", &agentservice.Props{Image: img, OriginResponseTimeout: secs(30)},
			"agentservice: RequestTimeout 55s does not fit OriginResponseTimeout 30s; CloudFront answers 504 when a response's first byte takes longer, so agentkit must answer 5s before it: use a RequestTimeout of at most 25s, a longer OriginResponseTimeout, or LongRequestsStream if the long requests stream"},
		{"streams whose heartbeats are too far apart", &agentservice.Props{Image: img, OriginResponseTimeout: secs(15), RequestTimeout: secs(300), LongRequestsStream: jsii.Bool(true)},
			"agentservice: OriginResponseTimeout 15s is shorter than a stream's heartbeat interval 15s plus 5s; CloudFront would cut a stream between heartbeats, so use at least 20s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN contradicting front props WHEN validated THEN the message names the prop
			if err := c.props.Validate(); err == nil || err.Error() != c.want {
				t.Fatalf("Validate() = %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestPlainHTTPOnTheInternetOnlyByNameAndWithAWarning(t *testing.T) {
	// GIVEN a service that asks for plain HTTP on the internet by name
	props := &agentservice.Props{Image: astest.RegistryImage(), Front: agentservice.FrontPublicHTTP}

	// WHEN it synthesizes, stderr captured
	tmpl, svc, printed := synthStderr(t, props)

	// THEN stderr says so, once, naming the construct and the way out
	if got := printed; strings.Count(got, "serves plain HTTP on the internet") != 1 || !strings.Contains(got, "Test/Agent") ||
		!strings.Contains(got, "drop Front for HTTPS through CloudFront") {
		t.Errorf("stderr %q, want one warning naming Test/Agent", got)
	}
	// AND the construct carries it as a CDK warning, which `cdk synth` prints
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), obj(map[string]any{"Scheme": "internet-facing"}))
	warnings := assertions.Annotations_FromStack(svc.Node().Scope().(awscdk.Stack)).FindWarning(jsii.String("/Test/Agent"),
		assertions.Match_StringLikeRegexp(jsii.String("serves plain HTTP on the internet")))
	if len(*warnings) != 1 {
		t.Errorf("%d warnings on /Test/Agent, want 1", len(*warnings))
	}
	// AND there is no distribution, and the URL is plain HTTP
	tmpl.ResourceCountIs(jsii.String("AWS::CloudFront::Distribution"), jsii.Number(0))
	url := jsonOf(t, svc.Node().Scope().(awscdk.Stack).Resolve(svc.URL))
	if !strings.Contains(url, `"http://"`) {
		t.Errorf("URL %s, want http://", url)
	}
}

func TestTheDefaultFrontSaysNothingOnStderr(t *testing.T) {
	// GIVEN the default front WHEN a service synthesizes, stderr captured
	_, _, printed := synthStderr(t, &agentservice.Props{Image: astest.RegistryImage()})
	// THEN nothing is printed
	if len(printed) != 0 {
		t.Errorf("stderr %q, want nothing", printed)
	}
}

func TestTheDashboardShowsWhatCloudFrontSees(t *testing.T) {
	// GIVEN the default service WHEN it synthesizes
	s := astest.Defaults.Synth(t)

	// THEN its dashboard graphs CloudFront's requests and error rates,
	// read in us-east-1, where CloudFront writes them, for this
	// distribution
	// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/programming-cloudwatch-metrics.html)
	dashboards := properties(t, s.Template, "AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dashboards))
	}
	body := jsonOf(t, dashboards[0]["DashboardBody"])
	distribution := jsonOf(t, s.Stack.Resolve(s.Web.Distribution.DistributionId()))
	for _, want := range []string{`\"AWS/CloudFront\",\"Requests\",\"DistributionId\",\"`, `\"AWS/CloudFront\",\"5xxErrorRate\"`,
		`\"AWS/CloudFront\",\"4xxErrorRate\"`, `\"Region\",\"Global\"`, `\"region\":\"us-east-1\"`, distribution} {
		if !strings.Contains(body, want) {
			t.Errorf("the dashboard body lacks %s:\n%s", want, body)
		}
	}
}

func TestValidateLeavesAnOriginTimeoutTokenToDeployTime(t *testing.T) {
	// GIVEN an origin response timeout that is an unresolved token
	token := awscdk.Duration_Seconds(awscdk.Token_AsNumber(awscdk.Fn_Ref(jsii.String("OriginTimeout"))))
	props := &agentservice.Props{Image: astest.RegistryImage(), OriginResponseTimeout: token}
	// WHEN validated THEN nothing is judged against it
	if err := props.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestTheViewerIPFunctionOverwritesWhatTheClientSent(t *testing.T) {
	// GIVEN the distribution's viewer-request function, as synthesized
	s := astest.Defaults.Synth(t)
	functions := properties(t, s.Template, "AWS::CloudFront::Function")
	if len(functions) != 1 {
		t.Fatalf("%d CloudFront functions, want 1", len(functions))
	}
	code, _ := functions[0]["FunctionCode"].(string)
	node, err := exec.LookPath("node") // jsii runs on Node.js, so it is here
	if err != nil {
		t.Fatal(err)
	}

	// WHEN it runs (in Node.js, whose JavaScript is a superset of
	// CloudFront's runtime 2.0) on a request whose client forged the header
	// and X-Forwarded-For
	script := code + `
handler({viewer: {ip: "203.0.113.7"}, request: {method: "POST", uri: "/run", headers: {
  "` + agentservice.ViewerIPHeader + `": {value: "198.51.100.1"},
  "x-forwarded-for": {value: "198.51.100.1"},
  "authorization": {value: "Bearer t"}}}}).then(r => console.log(JSON.stringify(r.headers)));`
	out, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}

	// THEN the header holds the address CloudFront saw, and every other
	// header is passed on as it came
	// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-event-structure.html)
	want := `{"` + agentservice.ViewerIPHeader + `":{"value":"203.0.113.7"},"x-forwarded-for":{"value":"198.51.100.1"},"authorization":{"value":"Bearer t"}}`
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("headers after the function =\n  %s\nwant\n  %s", got, want)
	}
}
