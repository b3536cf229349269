package agentservice

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/defaults"
)

// Defaults of the load balancer.
const (
	DefaultHTTPSPort               = 443
	DefaultAccessLogsRetentionDays = 90
)

// front is what loadBalancer makes.
type front struct {
	lb           elbv2.ApplicationLoadBalancer
	listener     elbv2.ApplicationListener
	redirect     elbv2.ApplicationListener
	tg           elbv2.ApplicationTargetGroup
	bucket       awss3.IBucket
	cert         awscertificatemanager.ICertificate
	firewall     awswafv2.CfnWebACL
	distribution awscloudfront.Distribution
	url          *string
}

func loadBalancer(scope constructs.Construct, p *Props, vpc awsec2.IVpc) front {
	checkRegion(scope, p)
	warnPublicHTTP(scope, p)
	subnets := awsec2.SubnetType_PRIVATE_WITH_EGRESS
	if p.internetFacing() {
		subnets = awsec2.SubnetType_PUBLIC
	}
	// The load balancer only ever talks to the tasks: its group gets an
	// egress rule per target instead of the CDK's allow-all default.
	sg := awsec2.NewSecurityGroup(scope, jsii.String("LBSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              vpc,
		Description:      jsii.String("Agent load balancer: listener ports in, task port out"),
		AllowAllOutbound: jsii.Bool(false),
	})
	var f front
	f.lb = elbv2.NewApplicationLoadBalancer(scope, jsii.String("LB"), &elbv2.ApplicationLoadBalancerProps{
		Vpc:                     vpc,
		InternetFacing:          jsii.Bool(p.internetFacing()),
		VpcSubnets:              &awsec2.SubnetSelection{SubnetType: subnets},
		SecurityGroup:           sg,
		IdleTimeout:             p.idleTimeout(),
		DropInvalidHeaderFields: jsii.Bool(true),
		DeletionProtection:      jsii.Bool(defaults.Or(p.DeletionProtection, false)),
	})
	if p.firewallOn() {
		f.firewall = firewall(scope, p, f.lb)
	}
	if defaults.Or(p.AccessLogs, true) {
		f.bucket = p.AccessLogsBucket
		if f.bucket == nil {
			f.bucket = accessLogsBucket(scope, p)
		}
		logAccessLogs(scope, f.lb, f.bucket)
	}
	f.tg = elbv2.NewApplicationTargetGroup(scope, jsii.String("TargetGroup"), p.targetGroupProps(vpc))
	forward, answer := p.listenerDefault(f.tg)
	if !p.https() {
		f.listener = f.lb.AddListener(jsii.String("Listener"), &elbv2.BaseApplicationListenerProps{
			Port:                jsii.Number(DefaultListenerPort),
			Protocol:            elbv2.ApplicationProtocol_HTTP,
			Open:                jsii.Bool(p.internetFacing()),
			DefaultTargetGroups: forward,
			DefaultAction:       answer,
		})
		if p.front() == FrontCloudFront {
			f.distribution = cloudFront(scope, p, f.lb, sg, DefaultListenerPort)
			f.url = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), f.distribution.DistributionDomainName()})
			return f
		}
		allowFromVpc(f.lb, p, vpc, DefaultListenerPort)
		f.url = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("http://"), f.lb.LoadBalancerDnsName()})
		return f
	}
	f.cert = p.Certificate
	host := f.lb.LoadBalancerDnsName()
	if p.DomainName != nil {
		f.cert = awscertificatemanager.NewCertificate(scope, jsii.String("Certificate"), &awscertificatemanager.CertificateProps{
			DomainName: p.DomainName,
			Validation: awscertificatemanager.CertificateValidation_FromDns(p.DomainZone),
		})
		awsroute53.NewARecord(scope, jsii.String("Alias"), &awsroute53.ARecordProps{
			Zone:       p.DomainZone,
			RecordName: p.DomainName,
			Target:     awsroute53.RecordTarget_FromAlias(awsroute53targets.NewLoadBalancerTarget(f.lb, nil)),
		})
		host = p.DomainName
	}
	forward, answer = p.jwtAction(forward, answer)
	forward, answer = p.signInAction(sg, forward, answer)
	if p.jwtAtLoadBalancer() {
		// The load balancer fetches the issuer's key set itself.
		sg.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)),
			jsii.String("JWT validation: the issuer's JSON Web Key Set over HTTPS"), nil)
	}
	policy := p.SslPolicy
	if policy == "" {
		policy = elbv2.SslPolicy_RECOMMENDED_TLS
	}
	f.listener = f.lb.AddListener(jsii.String("Listener"), &elbv2.BaseApplicationListenerProps{
		Port:                jsii.Number(DefaultHTTPSPort),
		Protocol:            elbv2.ApplicationProtocol_HTTPS,
		Certificates:        &[]elbv2.IListenerCertificate{elbv2.ListenerCertificate_FromCertificateManager(f.cert)},
		SslPolicy:           policy,
		Open:                jsii.Bool(p.internetFacing()),
		DefaultTargetGroups: forward,
		DefaultAction:       answer,
	})
	if defaults.Or(p.RedirectHTTP, true) {
		f.redirect = f.lb.AddRedirect(&elbv2.ApplicationLoadBalancerRedirectConfig{
			SourcePort: jsii.Number(DefaultListenerPort), SourceProtocol: elbv2.ApplicationProtocol_HTTP,
			TargetPort: jsii.Number(DefaultHTTPSPort), TargetProtocol: elbv2.ApplicationProtocol_HTTPS,
			Open: jsii.Bool(p.internetFacing()),
		})
		allowFromVpc(f.lb, p, vpc, DefaultListenerPort)
	}
	allowFromVpc(f.lb, p, vpc, DefaultHTTPSPort)
	f.url = awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("https://"), host})
	return f
}

// targetGroupProps describes the tasks' target group, and the second one
// a blue/green-family deploy shifts traffic to: the same health check and
// deregistration delay, so both drain alike.
func (p *Props) targetGroupProps(vpc awsec2.IVpc) *elbv2.ApplicationTargetGroupProps {
	return &elbv2.ApplicationTargetGroupProps{
		Vpc:                 vpc,
		Port:                jsii.Number(p.port()),
		Protocol:            elbv2.ApplicationProtocol_HTTP,
		TargetType:          elbv2.TargetType_IP,
		HealthCheck:         targetGroupHealthCheck(p.HealthCheck),
		DeregistrationDelay: p.deregistrationDelay(),
	}
}

// listenerDefault is what the serving listener does with a request no rule
// takes: forward it to tg for a rolling deploy; answer 404 for the
// blue/green family, whose production rule takes every request (tg may
// hold no task at all once ECS has moved the service to the other group).
// One of the two is nil.
func (p *Props) listenerDefault(tg elbv2.ApplicationTargetGroup) (*[]elbv2.IApplicationTargetGroup, elbv2.ListenerAction) {
	if !p.shifted() {
		return &[]elbv2.IApplicationTargetGroup{tg}, nil
	}
	return nil, elbv2.ListenerAction_FixedResponse(jsii.Number(404), &elbv2.FixedResponseOptions{
		ContentType: jsii.String("text/plain"), MessageBody: jsii.String("no route"),
	})
}

// allowFromVpc opens an internal load balancer's listener port to the
// VPC's own address range: an internet-facing one is open to the internet
// on it (the listener's Open), one behind CloudFront only to CloudFront's
// origin-facing addresses, an internal one only to its network.
func allowFromVpc(lb elbv2.ApplicationLoadBalancer, p *Props, vpc awsec2.IVpc, port float64) {
	if p.internetFacing() {
		return
	}
	lb.Connections().AllowFrom(awsec2.Peer_Ipv4(vpc.VpcCidrBlock()), awsec2.Port_Tcp(jsii.Number(port)),
		jsii.String("Internal load balancer: listener port from the VPC"))
}

// accessLogsBucket is a private, TLS-only bucket for the load balancer's
// logs. SSE-S3 because load balancer log delivery cannot write to a bucket
// encrypted with KMS.
func accessLogsBucket(scope constructs.Construct, p *Props) awss3.Bucket {
	return awss3.NewBucket(scope, jsii.String("AccessLogs"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		// Versioned, so that a log once written cannot be overwritten or
		// deleted unnoticed; old versions and delete markers go after a day.
		Versioned:     jsii.Bool(true),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("ExpireAccessLogs"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(defaults.Or(p.AccessLogsRetentionDays, DefaultAccessLogsRetentionDays))),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(1)),
		}, {
			Id:                        jsii.String("RemoveExpiredDeleteMarkers"),
			ExpiredObjectDeleteMarker: jsii.Bool(true),
		}},
	})
}
