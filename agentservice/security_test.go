package agentservice_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/secrets"
)

func TestSecureDefaults(t *testing.T) {
	// GIVEN the default service
	tmpl := astest.Defaults.Synth(t).Template

	// THEN the VPC logs its flows to a log group with a retention
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::FlowLog"), obj(map[string]any{
		"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs",
	}))
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"RetentionInDays": 7}), jsii.Number(3)) // the agent's, the flow logs, the firewall's
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"RetentionInDays": assertions.Match_Absent()}), jsii.Number(0))
	// AND the VPC's default security group is emptied
	tmpl.ResourceCountIs(jsii.String("Custom::VpcRestrictDefaultSG"), jsii.Number(1))
	// AND the load balancer drops invalid headers and logs to a private, TLS-only, expiring bucket
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), obj(map[string]any{
		"LoadBalancerAttributes": arrayWith(
			map[string]any{"Key": "deletion_protection.enabled", "Value": "false"},
			map[string]any{"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
			map[string]any{"Key": "access_logs.s3.enabled", "Value": "true"},
		),
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), obj(map[string]any{
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
		},
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
			map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
		}},
		// versioned, so a log cannot be overwritten or deleted unnoticed
		"VersioningConfiguration": map[string]any{"Status": "Enabled"},
		"LifecycleConfiguration": map[string]any{"Rules": []any{
			map[string]any{"Id": "ExpireAccessLogs", "ExpirationInDays": 90, "NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": 1}, "Status": "Enabled"},
			map[string]any{"Id": "RemoveExpiredDeleteMarkers", "ExpiredObjectDeleteMarker": true, "Status": "Enabled"},
		}},
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), obj(map[string]any{
		"PolicyDocument": obj(map[string]any{"Statement": arrayWith(
			obj(map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			obj(map[string]any{"Sid": "AllowLoadBalancerLogDelivery", "Action": "s3:PutObject"}),
		)}),
	}))
	// AND the load balancer's group sends only to the tasks' port
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroupEgress"), obj(map[string]any{
		"FromPort": 8080, "ToPort": 8080, "IpProtocol": "tcp",
	}))
	// AND takes in only CloudFront's origin-facing addresses (front_test.go)
	tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), obj(map[string]any{
		"GroupDescription":     "Agent load balancer: listener ports in, task port out",
		"SecurityGroupEgress":  assertions.Match_Absent(),
		"SecurityGroupIngress": assertions.Match_Absent(),
	}))
	// AND the container is locked down
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"Volumes": []any{map[string]any{"Name": "tmp"}},
		"ContainerDefinitions": arrayWith(obj(map[string]any{
			"ReadonlyRootFilesystem": true,
			"User":                   "65532",
			"Memory":                 2048,
			"MountPoints":            []any{map[string]any{"ContainerPath": "/tmp", "SourceVolume": "tmp", "ReadOnly": false}},
			"LinuxParameters": obj(map[string]any{
				"InitProcessEnabled": true,
				"Capabilities":       obj(map[string]any{"Drop": []any{"ALL"}}),
			}),
		})),
	}))
	// AND a failing deployment is rolled back on 5xx or unhealthy targets
	// (the other two alarms, on latency and rejected EMF lines, report and
	// roll nothing back)
	tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(4))
	tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj(map[string]any{
		"MetricName": "HTTPCode_Target_5XX_Count", "Threshold": 10, "EvaluationPeriods": 3,
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), obj(map[string]any{"MetricName": "UnHealthyHostCount"}))
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
		"EnableExecuteCommand": false,
		"DeploymentConfiguration": obj(map[string]any{
			"Alarms": obj(map[string]any{"Enable": true, "Rollback": true}),
		}),
	}))
}

func TestHTTPSWithACertificate(t *testing.T) {
	// GIVEN a certificate
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	cert := awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"),
		jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/abc"))

	// WHEN the service is given it
	svc := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{Image: astest.RegistryImage(), Certificate: cert})
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN it listens on 443 with TLS 1.2+ and redirects 80 to 443
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{
		"Port": 443, "Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
		"Certificates": []any{map[string]any{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}},
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{
		"Port": 80, "Protocol": "HTTP",
		"DefaultActions": []any{obj(map[string]any{"Type": "redirect", "RedirectConfig": obj(map[string]any{"Port": "443", "Protocol": "HTTPS"})})},
	}))
	if svc.RedirectListener == nil || svc.Certificate == nil {
		t.Fatal("RedirectListener or Certificate is nil with HTTPS on")
	}
}

func TestHTTPSWithADomainName(t *testing.T) {
	// GIVEN a hosted zone
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	zone := awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String("Z123"), ZoneName: jsii.String("example.com"),
	})

	// WHEN the service is given a domain name in it, without the redirect and with a stricter policy
	agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
		Image: astest.RegistryImage(), DomainName: jsii.String("agent.example.com"), DomainZone: zone,
		RedirectHTTP: jsii.Bool(false), SslPolicy: elbv2.SslPolicy_TLS13_RES,
	})
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN a DNS-validated certificate and an alias record are made, and only 443 listens
	tmpl.HasResourceProperties(jsii.String("AWS::CertificateManager::Certificate"), obj(map[string]any{
		"DomainName": "agent.example.com", "ValidationMethod": "DNS",
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::Route53::RecordSet"), obj(map[string]any{
		"Name": "agent.example.com.", "Type": "A", "HostedZoneId": "Z123",
	}))
	tmpl.ResourceCountIs(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), jsii.Number(1))
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::Listener"), obj(map[string]any{
		"Port": 443, "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
	}))
}

func TestOptions(t *testing.T) {
	t.Run("arm64", func(t *testing.T) {
		tmpl, _ := synth(t, &agentservice.Props{Image: astest.RegistryImage(), CpuArchitecture: agentservice.ArchitectureArm64})
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
			"RuntimePlatform": map[string]any{"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
		}))
	})
	t.Run("fargate spot with an on-demand base", func(t *testing.T) {
		tmpl, _ := synth(t, &agentservice.Props{Image: astest.RegistryImage(), FargateSpot: jsii.Bool(true), OnDemandBaseCount: jsii.Number(2)})
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{
			"LaunchType": assertions.Match_Absent(),
			"CapacityProviderStrategy": []any{
				map[string]any{"CapacityProvider": "FARGATE", "Base": 2, "Weight": 0},
				map[string]any{"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
			},
		}))
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::ClusterCapacityProviderAssociations"), obj(map[string]any{
			"CapacityProviders": arrayWith("FARGATE", "FARGATE_SPOT"),
		}))
	})
	t.Run("ecs exec with a writable root filesystem", func(t *testing.T) {
		tmpl, _ := synth(t, &agentservice.Props{Image: astest.RegistryImage(), EnableExecuteCommand: jsii.Bool(true), ReadonlyRootFilesystem: jsii.Bool(false)})
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{"EnableExecuteCommand": true}))
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::Cluster"), obj(map[string]any{
			"Configuration": obj(map[string]any{"ExecuteCommandConfiguration": obj(map[string]any{"Logging": "OVERRIDE"})}),
		}))
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"RetentionInDays": 7}), jsii.Number(4)) // plus the exec log group
		tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
			"Volumes":              assertions.Match_Absent(),
			"ContainerDefinitions": arrayWith(obj(map[string]any{"ReadonlyRootFilesystem": false})),
		}))
	})
	t.Run("internal load balancer with deletion protection", func(t *testing.T) {
		tmpl, _ := synth(t, &agentservice.Props{Image: astest.RegistryImage(), PublicLoadBalancer: jsii.Bool(false), DeletionProtection: jsii.Bool(true)})
		tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::LoadBalancer"), obj(map[string]any{
			"Scheme":                 "internal",
			"LoadBalancerAttributes": arrayWith(map[string]any{"Key": "deletion_protection.enabled", "Value": "true"}),
		}))
		// AND its listener port is open to the VPC's range, never to the internet
		tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), obj(map[string]any{
			"GroupDescription": "Agent load balancer: listener ports in, task port out",
			"SecurityGroupIngress": []any{obj(map[string]any{
				"FromPort": 80, "ToPort": 80,
				"CidrIp": map[string]any{"Fn::GetAtt": arrayWith("CidrBlock")},
			})},
		}))
	})
	t.Run("without the optional logging and alarms", func(t *testing.T) {
		tmpl, _ := synth(t, &agentservice.Props{Image: astest.RegistryImage(), FlowLogs: jsii.Bool(false), AccessLogs: jsii.Bool(false),
			DeploymentAlarms: jsii.Bool(false), RestrictDefaultSecurityGroup: jsii.Bool(false)})
		tmpl.ResourceCountIs(jsii.String("AWS::EC2::FlowLog"), jsii.Number(0))
		tmpl.ResourceCountIs(jsii.String("AWS::S3::Bucket"), jsii.Number(0))
		tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Alarm"), jsii.Number(2)) // latency and EMF errors, not deployment alarms
		tmpl.ResourceCountIs(jsii.String("Custom::VpcRestrictDefaultSG"), jsii.Number(0))
	})
	t.Run("log groups encrypted with a key", func(t *testing.T) {
		app := awscdk.NewApp(nil)
		stack := awscdk.NewStack(app, jsii.String("Test"), nil)
		key := awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
		agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{Image: astest.RegistryImage(), LogEncryptionKey: key})
		tmpl := assertions.Template_FromStack(stack, nil)
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), obj(map[string]any{"KmsKeyId": assertions.Match_AnyValue()}), jsii.Number(3))
		tmpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), obj(map[string]any{
			"KeyPolicy": obj(map[string]any{"Statement": arrayWith(obj(map[string]any{
				// The Regional principal: realaccount_test.go
				"Sid": "AllowCloudWatchLogs", "Principal": map[string]any{"Service": map[string]any{"Fn::Join": []any{"", []any{
					"logs.", map[string]any{"Ref": "AWS::Region"}, ".", map[string]any{"Ref": "AWS::URLSuffix"},
				}}}},
			}))}),
		}))
	})
}

func TestTheCredentialGuardSeesVariablesAddedAfterNew(t *testing.T) {
	cases := []struct {
		name, variable string
		allow          []string
		want           string // "" when synthesis succeeds
	}{
		{"a credential", "OPENAI_API_KEY", nil, `agentservice: Environment name "OPENAI_API_KEY" looks like a credential`},
		{"an allowed name", "OPENAI_API_KEY", []string{"OPENAI_API_KEY"}, ""},
		{"a plain setting", "MAX_TOKENS", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a service, and a variable added to its container after New
			app := awscdk.NewApp(nil)
			stack := awscdk.NewStack(app, jsii.String("Test"), nil)
			props := &agentservice.Props{Image: astest.RegistryImage()}
			if c.allow != nil {
				props.EnvironmentAllowList = jsii.Strings(c.allow...)
			}
			svc := agentservice.New(stack, jsii.String("Agent"), props)
			svc.Container.AddEnvironment(jsii.String(c.variable), jsii.String("sk-not-a-real-key"))

			// WHEN the app synthesizes
			err := synthError(func() { app.Synth(nil) })

			// THEN a credential-like name fails synthesis with the guard's
			// message, and the others pass
			switch {
			case c.want == "" && err != "":
				t.Fatalf("synth failed: %s", err)
			case c.want != "" && !strings.Contains(err, c.want):
				t.Fatalf("synth error %q, want one containing %q", err, c.want)
			}
		})
	}
}

// synthError runs f and returns the message of its panic, or "".
func synthError(f func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}

func TestGrantsBecomeCustomerManagedPolicies(t *testing.T) {
	// GIVEN a service, and a grant to its task role made after New
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	svc := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
		Image: astest.RegistryImage(), Secrets: secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY"),
	})
	queue := awssqs.NewQueue(stack, jsii.String("Jobs"), &awssqs.QueueProps{EnforceSSL: jsii.Bool(true)})
	queue.GrantSendMessages(svc.TaskDefinition.TaskRole())

	// WHEN it synthesizes
	tmpl := assertions.Template_FromStack(stack, nil)

	// THEN no inline policy is left: each role's grants are a customer-
	// managed policy attached to that role, the late grant's included
	tmpl.ResourceCountIs(jsii.String("AWS::IAM::Policy"), jsii.Number(0))
	role := func(c constructs.IConstruct) string {
		return *stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
	}
	for _, r := range []awsiam.IRole{svc.TaskDefinition.ExecutionRole(), svc.TaskDefinition.TaskRole()} {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), obj(map[string]any{
			"Roles":      []any{map[string]any{"Ref": role(r)}},
			"PolicyName": assertions.Match_Absent(),
		}))
	}
	tmpl.HasResourceProperties(jsii.String("AWS::IAM::ManagedPolicy"), obj(map[string]any{
		"PolicyDocument": obj(map[string]any{"Statement": arrayWith(obj(map[string]any{"Action": arrayWith("sqs:SendMessage")}))}),
		"Roles":          []any{map[string]any{"Ref": role(svc.TaskDefinition.TaskRole())}},
	}))
}

func TestLogGroupsAreEncryptedWithACustomerKeyByDefault(t *testing.T) {
	// GIVEN a service with default props
	s := astest.Defaults.Synth(t)
	tmpl, svc := s.Template, s.Web

	// THEN the construct made a rotated, retained key, exposed as LogKey
	if svc.LogKey == nil {
		t.Fatal("LogKey is nil")
	}
	tmpl.HasResource(jsii.String("AWS::KMS::Key"), obj(map[string]any{
		"Properties":     obj(map[string]any{"EnableKeyRotation": true}),
		"DeletionPolicy": "Retain",
	}))
	// AND every log group (the agent's, the VPC flow logs, the firewall's)
	// is encrypted with it
	key := obj(map[string]any{"KmsKeyId": obj(map[string]any{"Fn::GetAtt": arrayWith("Arn")})})
	tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Logs::LogGroup"), key, jsii.Number(3))
	tmpl.ResourceCountIs(jsii.String("AWS::Logs::LogGroup"), jsii.Number(3))
	// AND CloudWatch Logs may use it
	tmpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), obj(map[string]any{
		"KeyPolicy": obj(map[string]any{"Statement": arrayWith(obj(map[string]any{"Sid": "AllowCloudWatchLogs"}))}),
	}))
}

func TestTasksSendOnlyHTTPSUnlessAllowedAll(t *testing.T) {
	cases := []struct {
		name  string
		allow *bool
		want  []any
	}{
		{"default", nil, []any{obj(map[string]any{"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})}},
		{"AllowAllOutbound", jsii.Bool(true), []any{obj(map[string]any{"CidrIp": "0.0.0.0/0", "IpProtocol": "-1"})}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a service WHEN it synthesizes
			var tmpl assertions.Template
			if c.allow == nil {
				tmpl = astest.Defaults.Synth(t).Template
			} else {
				tmpl, _ = synth(t, &agentservice.Props{Image: astest.RegistryImage(), AllowAllOutbound: c.allow})
			}

			// THEN the tasks' group sends exactly that
			tmpl.HasResourceProperties(jsii.String("AWS::EC2::SecurityGroup"), obj(map[string]any{
				"GroupDescription":    "Agent tasks: HTTPS out, unless AllowAllOutbound",
				"SecurityGroupEgress": c.want,
			}))
		})
	}
}
