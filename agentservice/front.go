package agentservice

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/internal/token"
)

// Front is how the internet reaches a public service (Props.Front). See
// docs/front.md for the design, its costs and its limits.
type Front string

const (
	// FrontCloudFront serves https://<id>.cloudfront.net with no domain of
	// your own: an Amazon CloudFront distribution reaches an internal load
	// balancer in the private subnets through a CloudFront VPC origin, and
	// the load balancer's security group admits CloudFront's origin-facing
	// addresses only. Viewers get HTTPS (HTTP is redirected); nothing is
	// cached; every method, header and body is passed on.
	FrontCloudFront Front = "CloudFront"
	// FrontPublicALB serves HTTPS from an internet-facing load balancer
	// with your Certificate, or one made for DomainName; port 80 redirects
	// to 443 (RedirectHTTP).
	FrontPublicALB Front = "PublicALB"
	// FrontPublicHTTP serves plain HTTP from an internet-facing load
	// balancer: prompts, answers and credentials cross the internet in
	// clear. Only when named; synthesis then warns on stderr.
	FrontPublicHTTP Front = "PublicHTTP"
)

var fronts = []Front{FrontCloudFront, FrontPublicALB, FrontPublicHTTP}

// Defaults of the CloudFront front.
const (
	// DefaultOriginResponseTimeout is how long CloudFront waits for the
	// load balancer's first byte, and between two packets of a response,
	// before it gives up with a 504: CloudFront's largest value without a
	// quota increase.
	DefaultOriginResponseTimeout = 60 * time.Second
	// DefaultCloudFrontRequestTimeout is RequestTimeout's default behind
	// FrontCloudFront: DefaultOriginResponseTimeout less
	// agentkit.RequestDeadlineMargin, so that agentkit's answer at the
	// deadline (504, or an error event) reaches CloudFront before CloudFront
	// gives up on the origin.
	DefaultCloudFrontRequestTimeout = DefaultOriginResponseTimeout - agentkit.RequestDeadlineMargin
	// ViewerIPHeader is the request header the CloudFront front sets, on
	// every request, to the address the viewer connected from
	// (event.viewer.ip in a CloudFront Function), overwriting whatever the
	// client sent in it. The web ACL's per-IP limit reads it; so may the
	// agent. X-Forwarded-For is no substitute: its first address is
	// whatever the client wrote, CloudFront only appends.
	ViewerIPHeader = "x-agentcdk-viewer-ip"

	// maxOriginResponseTimeout is CloudFront's ceiling with a quota
	// increase, and maxOriginKeepalive its keep-alive ceiling without one.
	maxOriginResponseTimeout = 180 * time.Second
	maxOriginKeepalive       = 60 * time.Second
)

// cloudFrontOriginFacing maps a region to the ID of its AWS-managed prefix
// list com.amazonaws.global.cloudfront.origin-facing, which CloudFormation
// cannot look up by name and an environment-agnostic stack cannot look up at
// synth time. VPC-origin traffic reaches the load balancer from these
// addresses, not from the VPC's range. Regions outside the table: set
// CloudFrontPrefixListId (`aws ec2 describe-managed-prefix-lists --filters
// Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing`).
var cloudFrontOriginFacing = map[string]string{
	"us-east-1":      "pl-3b927c52",
	"us-east-2":      "pl-b6a144df",
	"us-west-1":      "pl-4ea04527",
	"us-west-2":      "pl-82a045eb",
	"eu-west-1":      "pl-4fa04526",
	"eu-west-2":      "pl-93a247fa",
	"eu-central-1":   "pl-a3a144ca",
	"ap-southeast-1": "pl-31a34658",
	"ap-southeast-2": "pl-b8a742d1",
	"ap-northeast-1": "pl-58a04531",
}

// front is the resolved Front: "" for an internal load balancer.
func (p *Props) front() Front {
	switch {
	case !p.public():
		return ""
	case p.Front != "":
		return p.Front
	case p.https():
		return FrontPublicALB
	default:
		return FrontCloudFront
	}
}

// internetFacing says whether the load balancer itself faces the internet.
func (p *Props) internetFacing() bool {
	f := p.front()
	return f == FrontPublicALB || f == FrontPublicHTTP
}

func (p *Props) originResponseTimeout() time.Duration {
	return timing.Of(p.OriginResponseTimeout, DefaultOriginResponseTimeout)
}

// defaultDeadline is RequestTimeout's default for the front.
func (p *Props) defaultDeadline() time.Duration {
	if p.front() == FrontCloudFront {
		return DefaultCloudFrontRequestTimeout
	}
	return healthcheck.DefaultRequestTimeout
}

// deadline is the request deadline: RequestTimeout, or its default for
// the front; timing.Unresolved for a token. It makes no jsii call for an
// unset RequestTimeout, so validation stays plain Go.
func (p *Props) deadline() time.Duration {
	return timing.Of(p.RequestTimeout, p.defaultDeadline())
}

func (p *Props) validateFront() error {
	if p.Front != "" && !slices.Contains(fronts, p.Front) {
		return fmt.Errorf("agentservice: Front %q is not a front; use agentservice.FrontCloudFront, FrontPublicALB or FrontPublicHTTP", string(p.Front))
	}
	if p.Front != "" && !p.public() {
		return fmt.Errorf("agentservice: Front %q is set but PublicLoadBalancer is false; an internal load balancer has no front, so drop one of them", p.Front)
	}
	switch p.Front {
	case FrontCloudFront:
		if p.https() {
			return errors.New("agentservice: Front CloudFront is set with Certificate or DomainName; CloudFront serves https://<id>.cloudfront.net with its own certificate, and yours goes on the load balancer's HTTPS listener (FrontPublicALB), so drop Front or the certificate")
		}
	case FrontPublicALB:
		if !p.https() {
			return errors.New("agentservice: Front PublicALB needs a Certificate, or a DomainName with its DomainZone, for the load balancer's HTTPS listener; give one, or drop Front for HTTPS through CloudFront")
		}
	case FrontPublicHTTP:
		if p.https() {
			return errors.New("agentservice: Front PublicHTTP is set with Certificate or DomainName; drop Front to serve HTTPS with the certificate")
		}
	}
	if p.front() != FrontCloudFront {
		if p.OriginResponseTimeout != nil || p.CloudFrontPrefixListId != nil {
			return fmt.Errorf("agentservice: OriginResponseTimeout and CloudFrontPrefixListId apply only to Front CloudFront, and the front is %s; drop them", p.frontName())
		}
		return nil
	}
	if v := p.CloudFrontPrefixListId; v != nil && !token.IsString(v) && !prefixListID.MatchString(*v) {
		return fmt.Errorf("agentservice: CloudFrontPrefixListId %q is not a prefix list ID; use the pl-... ID of com.amazonaws.global.cloudfront.origin-facing in the stack's region", *v)
	}
	return p.validateOriginTiming()
}

// prefixListID is the form of a managed prefix list's ID.
var prefixListID = regexp.MustCompile(`^pl-[0-9a-f]{8}([0-9a-f]{9})?$`)

// frontName names the resolved front in messages.
func (p *Props) frontName() string {
	if f := p.front(); f != "" {
		return string(f)
	}
	return "none (an internal load balancer)"
}

// validateOriginTiming checks the deadline against CloudFront's origin
// response timeout, which bounds the wait for the first byte and the gap
// between two packets
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesOrigin.html#DownloadDistValuesOriginResponseTimeout).
func (p *Props) validateOriginTiming() error {
	origin := p.originResponseTimeout()
	if origin == timing.Unresolved {
		return nil
	}
	if origin < time.Second || origin > maxOriginResponseTimeout || origin%time.Second != 0 {
		return fmt.Errorf("agentservice: OriginResponseTimeout %s is out of range; use whole seconds from 1s to %s (above %s needs a CloudFront quota increase)",
			timing.Format(origin), timing.Format(maxOriginResponseTimeout), timing.Format(DefaultOriginResponseTimeout))
	}
	deadline := p.deadline()
	if deadline == timing.Unresolved {
		return nil
	}
	if !defaults.Or(p.LongRequestsStream, false) && deadline+agentkit.RequestDeadlineMargin > origin {
		return fmt.Errorf("agentservice: RequestTimeout %s does not fit OriginResponseTimeout %s; CloudFront answers 504 when a response's first byte takes longer, so agentkit must answer %s before it: use a RequestTimeout of at most %s, a longer OriginResponseTimeout, or LongRequestsStream if the long requests stream",
			timing.Format(deadline), timing.Format(origin), timing.Format(agentkit.RequestDeadlineMargin), timing.Format(origin-agentkit.RequestDeadlineMargin))
	}
	idle := timing.Of(p.IdleTimeout, healthcheck.DefaultIdleTimeout)
	if idle == timing.Unresolved {
		return nil
	}
	if beat := agentkit.HeartbeatInterval(idle); beat+agentkit.RequestDeadlineMargin > origin {
		return fmt.Errorf("agentservice: OriginResponseTimeout %s is shorter than a stream's heartbeat interval %s plus %s; CloudFront would cut a stream between heartbeats, so use at least %s",
			timing.Format(origin), timing.Format(beat), timing.Format(agentkit.RequestDeadlineMargin), timing.Format(beat+agentkit.RequestDeadlineMargin))
	}
	return nil
}

// originKeepalive is how long CloudFront keeps an idle connection to the
// load balancer: as long as it may, and shorter than the load balancer's
// idle timeout by agentkit.IdleTimeoutMargin, so that the load balancer
// never closes a connection CloudFront is about to reuse.
func (p *Props) originKeepalive() awscdk.Duration {
	idle, ok := timing.Seconds(p.idleTimeout())
	if !ok {
		return nil // CloudFront's default, 5 s, is below any idle timeout worth having
	}
	keep := min(maxOriginKeepalive, idle-agentkit.IdleTimeoutMargin)
	keep = keep.Truncate(time.Second)
	if keep < time.Second {
		keep = time.Second
	}
	return awscdk.Duration_Seconds(jsii.Number(keep.Seconds()))
}

// viewerIPFunction overwrites ViewerIPHeader with the viewer's address on
// every request, before anything else sees it
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/example-function-add-true-client-ip-header.html).
const viewerIPFunction = `async function handler(event) {
  var request = event.request;
  request.headers['` + ViewerIPHeader + `'] = { value: event.viewer.ip };
  return request;
}`

// cloudFront puts a distribution in front of lb, an internal load balancer
// with a plain-HTTP listener on port, and admits CloudFront's origin-facing
// addresses to it on that port only.
func cloudFront(scope constructs.Construct, p *Props, lb elbv2.ApplicationLoadBalancer, sg awsec2.SecurityGroup, port float64) awscloudfront.Distribution {
	sg.AddIngressRule(awsec2.Peer_PrefixList(originFacingPrefixList(scope, p)), awsec2.Port_Tcp(jsii.Number(port)),
		jsii.String("CloudFront VPC origin: the origin-facing prefix list, listener port only"), jsii.Bool(false))
	origin := awscloudfrontorigins.VpcOrigin_WithApplicationLoadBalancer(lb, &awscloudfrontorigins.VpcOriginWithEndpointProps{
		// Viewer TLS ends at CloudFront; the hop to the load balancer
		// stays on AWS's network inside the VPC, and *.elb.amazonaws.com
		// has no certificate CloudFront could check.
		ProtocolPolicy:   awscloudfront.OriginProtocolPolicy_HTTP_ONLY,
		HttpPort:         jsii.Number(port),
		ReadTimeout:      defaults.Duration(p.OriginResponseTimeout, DefaultOriginResponseTimeout),
		KeepaliveTimeout: p.originKeepalive(),
	})
	fn := awscloudfront.NewFunction(scope, jsii.String("ViewerIP"), &awscloudfront.FunctionProps{
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(viewerIPFunction)),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
		Comment: jsii.String("Sets " + ViewerIPHeader + " to the viewer's address - agentcdk"),
	})
	return awscloudfront.NewDistribution(scope, jsii.String("Distribution"), &awscloudfront.DistributionProps{
		Comment: jsii.String("In front of an agent service - agentcdk"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:               origin,
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:       awscloudfront.AllowedMethods_ALLOW_ALL(),
			// Agent answers are never cached. With caching disabled, the
			// AllViewer policy forwards every header, Authorization included,
			// and the body
			// (https://repost.aws/knowledge-center/cloudfront-authorization-header).
			CachePolicy:         awscloudfront.CachePolicy_CACHING_DISABLED(),
			OriginRequestPolicy: awscloudfront.OriginRequestPolicy_ALL_VIEWER(),
			// Compression would buffer server-sent events.
			Compress: jsii.Bool(false),
			FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
				Function: fn, EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
			}},
		},
		HttpVersion: awscloudfront.HttpVersion_HTTP2_AND_3,
	})
}

// originFacingPrefixList is the ID of the region's CloudFront
// origin-facing prefix list: the given one, the table's entry for a known
// region, or, in an environment-agnostic stack, a lookup in a template
// mapping at deploy time.
func originFacingPrefixList(scope constructs.Construct, p *Props) *string {
	if p.CloudFrontPrefixListId != nil {
		return p.CloudFrontPrefixListId
	}
	region := awscdk.Stack_Of(scope).Region()
	if !token.IsString(region) {
		return jsii.String(cloudFrontOriginFacing[*region]) // validated in New
	}
	mapping := map[string]*map[string]any{}
	for _, r := range slices.Sorted(maps.Keys(cloudFrontOriginFacing)) {
		mapping[r] = &map[string]any{"PrefixListId": cloudFrontOriginFacing[r]}
	}
	return awscdk.NewCfnMapping(scope, jsii.String("CloudFrontOriginFacing"), &awscdk.CfnMappingProps{
		Mapping: &mapping,
	}).FindInMap(region, jsii.String("PrefixListId"), nil)
}

// checkRegion refuses, at synth, a stack whose region has no entry in the
// prefix-list table when none is given.
func checkRegion(scope constructs.Construct, p *Props) {
	if p.front() != FrontCloudFront || p.CloudFrontPrefixListId != nil {
		return
	}
	region := awscdk.Stack_Of(scope).Region()
	if token.IsString(region) {
		return
	}
	if _, ok := cloudFrontOriginFacing[*region]; !ok {
		panic(fmt.Sprintf("agentservice: the stack's region %s has no entry in the construct's table of CloudFront origin-facing prefix lists; set CloudFrontPrefixListId to the ID that `aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing` shows there", *region))
	}
}

// warnPublicHTTP says, where a user runs synthesis, that the service
// serves plain HTTP to the internet: as a CDK warning (which `cdk synth`
// prints and `cdk deploy --strict` refuses) and on stderr, which `go run`
// shows too.
func warnPublicHTTP(scope constructs.Construct, p *Props) {
	if p.front() != FrontPublicHTTP {
		return
	}
	msg := "agentservice: " + *scope.Node().Path() + " serves plain HTTP on the internet (Front PublicHTTP): prompts, answers and credentials cross it in clear; drop Front for HTTPS through CloudFront"
	awscdk.Annotations_Of(scope).AddWarningV2(jsii.String("agentcdk:publicHTTP"), jsii.String(msg), nil)
	fmt.Fprintln(os.Stderr, "WARNING "+msg)
}
