package agentservice_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/agentcdk/agentcdk/secrets"
)

func vpcAndCluster() *agentservice.Props {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Imports"), nil)
	vpc := awsec2.Vpc_FromVpcAttributes(stack, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId: jsii.String("vpc-1"), AvailabilityZones: &[]*string{jsii.String("us-east-1a")},
	})
	cluster := awsecs.Cluster_FromClusterAttributes(stack, jsii.String("Cluster"), &awsecs.ClusterAttributes{
		ClusterName: jsii.String("c"), Vpc: vpc,
	})
	return &agentservice.Props{Image: astest.RegistryImage(), Vpc: vpc, Cluster: cluster}
}

// abs is the absolute form of a path relative to the test's directory.
func abs(t *testing.T, path string) string {
	t.Helper()
	a, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestValidateAcceptsImageReferences(t *testing.T) {
	for _, ref := range []string{
		"nginx", "nginx:1.27-alpine", "public.ecr.aws/agentcdk/agent:1.0.0",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/agent:latest", "localhost:5000/agent",
		"ghcr.io/org/agent@sha256:" + strings.Repeat("ab", 32), "registry.example.com/a/b/c:v1_2.3-rc",
	} {
		t.Run(ref, func(t *testing.T) {
			// GIVEN a well-formed image reference WHEN the props are validated
			err := (&agentservice.Props{Image: agentservice.ImageFromRegistry(ref)}).Validate()

			// THEN it is accepted
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

func TestTheCredentialGuardsRule(t *testing.T) {
	credentials := []string{"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GITHUB_PAT", "HF_TOKEN", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "DB_PASSWORD", "SLACK_SIGNING_SECRET", "STRIPE_SECRET", "KEY", "openai_api_key",
		"SERVICE_ACCOUNT_CREDENTIALS", "JWT_PASSPHRASE", "OPENAI_APIKEY"}
	plain := []string{"MAX_TOKENS", "MAX_OUTPUT_TOKENS", "TOKENIZERS_PARALLELISM", "DYNAMODB_PARTITION_KEY", "DYNAMODB_SORT_KEY",
		"CACHE_KEY", "S3_KEY", "JWT_PUBLIC_KEY", "MODEL", "TOKEN_BUDGET", "SECRET_ARN", "PASSWORD_MIN_LENGTH", "LOG_LEVEL"}
	for _, name := range credentials {
		t.Run(name, func(t *testing.T) {
			// GIVEN a plain variable named like a credential
			props := &agentservice.Props{Image: astest.RegistryImage(), Environment: &map[string]*string{name: jsii.String("x")}}

			// WHEN the props are validated, and again with the name allowed
			refused, allowed := props.Validate(), func() error {
				props.EnvironmentAllowList = jsii.Strings(name)
				return props.Validate()
			}()

			// THEN it is refused, unless the allow-list names it
			if refused == nil || !strings.Contains(refused.Error(), "looks like a credential") || allowed != nil {
				t.Fatalf("Validate() = %v; with the name allowed: %v", refused, allowed)
			}
		})
	}
	for _, name := range plain {
		t.Run(name, func(t *testing.T) {
			// GIVEN a plain variable that is not a credential WHEN validated
			err := (&agentservice.Props{Image: astest.RegistryImage(), Environment: &map[string]*string{name: jsii.String("x")}}).Validate()

			// THEN it passes
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

func TestValidateRefusesBadProps(t *testing.T) {
	img := astest.RegistryImage()
	cases := []struct {
		name  string
		props *agentservice.Props
		want  string
	}{
		{"nil props", nil, "agentservice: Image is required; use ImageFromDirectory, ImageFromRegistry or ImageFromContainerImage"},
		{"missing image", &agentservice.Props{}, "agentservice: Image is required; use ImageFromDirectory, ImageFromRegistry or ImageFromContainerImage"},
		{"two image sources", &agentservice.Props{Image: &agentservice.Image{Directory: jsii.String("."), Registry: jsii.String("a:1")}},
			"agentservice: Image sets 2 of Directory, Registry and ContainerImage; set exactly one"},
		{"empty registry", &agentservice.Props{Image: agentservice.ImageFromRegistry("")},
			"agentservice: Image.Registry is empty; give an image reference such as public.ecr.aws/org/agent:1.0"},
		{"dockerfile without directory", &agentservice.Props{Image: &agentservice.Image{Registry: jsii.String("a:1"), File: jsii.String("Dockerfile")}},
			"agentservice: Image.File, BuildArgs and Exclude apply only to Image.Directory"},
		{"cpu not a fargate size", &agentservice.Props{Image: img, Cpu: jsii.Number(1000)},
			"agentservice: Cpu 1000 is not a Fargate size; use 256, 512, 1024, 2048, 4096, 8192 or 16384"},
		{"memory does not fit cpu", &agentservice.Props{Image: img, Cpu: jsii.Number(256), MemoryLimitMiB: jsii.Number(4096)},
			"agentservice: MemoryLimitMiB 4096 does not fit Cpu 256; Fargate offers 512, 1024 or 2048"},
		{"memory does not fit default cpu", &agentservice.Props{Image: img, MemoryLimitMiB: jsii.Number(1024)},
			"agentservice: MemoryLimitMiB 1024 does not fit Cpu 1024; Fargate offers 2048 to 8192 in steps of 1024"},
		{"desired count zero", &agentservice.Props{Image: img, DesiredCount: jsii.Number(0)},
			"agentservice: DesiredCount 0 is below 1; a web service needs at least one task, use a whole number from 1"},
		{"desired count above max", &agentservice.Props{Image: img, DesiredCount: jsii.Number(11)},
			"agentservice: DesiredCount 11 is outside the scaling capacity 1..10 (Scaling.MinCapacity..Scaling.MaxCapacity); use a count within it"},
		{"desired count below min", &agentservice.Props{Image: img, Scaling: &scaling.Props{MinCapacity: jsii.Number(3)}},
			"agentservice: DesiredCount 2 is outside the scaling capacity 3..10 (Scaling.MinCapacity..Scaling.MaxCapacity); use a count within it"},
		{"web service with min zero", &agentservice.Props{Image: img, DesiredCount: jsii.Number(1), Scaling: &scaling.Props{MinCapacity: jsii.Number(0)}},
			"agentservice: Scaling.MinCapacity 0 leaves a web service with no task; use at least 1"},
		{"port zero", &agentservice.Props{Image: img, ContainerPort: jsii.Number(0)},
			"agentservice: ContainerPort 0 is not a port; use a whole number from 1 to 65535"},
		{"port too high", &agentservice.Props{Image: img, ContainerPort: jsii.Number(70000)},
			"agentservice: ContainerPort 70000 is not a port; use a whole number from 1 to 65535"},
		{"bad container name", &agentservice.Props{Image: img, ContainerName: jsii.String("my agent")},
			`agentservice: ContainerName "my agent" is not a container name; use 1 to 255 letters, digits, hyphens and underscores`},
		{"bad env name", &agentservice.Props{Image: img, Environment: &map[string]*string{"1BAD": jsii.String("x")}},
			`agentservice: Environment name "1BAD" is not a valid variable name; use letters, digits and '_', not starting with a digit`},
		{"env sets PORT", &agentservice.Props{Image: img, Environment: &map[string]*string{"PORT": jsii.String("9000")}},
			"agentservice: Environment sets PORT, which the construct sets from ContainerPort; set ContainerPort instead"},
		{"env sets the stop timeout", &agentservice.Props{Image: img, Environment: &map[string]*string{"AGENTKIT_STOP_TIMEOUT": jsii.String("9s")}},
			"agentservice: Environment sets AGENTKIT_STOP_TIMEOUT, which the construct sets from StopTimeout; set StopTimeout instead"},
		{"same name in env and secrets", &agentservice.Props{Image: img,
			Environment: &map[string]*string{"MODEL": jsii.String("x")},
			Secrets:     secrets.FromParameters("/agents/prod", 1, "MODEL")},
			"agentservice: MODEL is in both Environment and Secrets; keep it in one of them"},
		{"cluster name with a space", &agentservice.Props{Image: img, ClusterName: jsii.String("my cluster!")},
			`agentservice: ClusterName "my cluster!" is not a cluster name; use 1 to 255 letters, digits, hyphens and underscores`},
		{"cluster name too long", &agentservice.Props{Image: img, ClusterName: jsii.String(strings.Repeat("c", 300))},
			`agentservice: ClusterName "` + strings.Repeat("c", 300) + `" is not a cluster name; use 1 to 255 letters, digits, hyphens and underscores`},
		{"cluster name with a given cluster", func() *agentservice.Props {
			p := vpcAndCluster()
			p.Vpc, p.ClusterName = nil, jsii.String("agents")
			return p
		}(), "agentservice: ClusterName is set with Cluster; ClusterName names a cluster the construct makes, so set only one of them"},
		{"image directory that does not exist", &agentservice.Props{Image: agentservice.ImageFromDirectory("./no-such-agent")},
			`agentservice: Image.Directory "./no-such-agent" (` + abs(t, "no-such-agent") + `) is not a directory; give the path of a Docker build context, relative to the directory the app runs in`},
		{"image directory without a Dockerfile", &agentservice.Props{Image: agentservice.ImageFromDirectory(".")},
			`agentservice: Image.Directory "." has no Dockerfile; put the Dockerfile there, or name it with Image.File (relative to Directory)`},
		{"image directory without the named Dockerfile", &agentservice.Props{Image: &agentservice.Image{Directory: jsii.String("../examples/basic/agent"), File: jsii.String("Containerfile")}},
			`agentservice: Image.Directory "../examples/basic/agent" has no Containerfile; put the Dockerfile there, or name it with Image.File (relative to Directory)`},
		{"image reference with a space", &agentservice.Props{Image: agentservice.ImageFromRegistry("my image:latest")},
			`agentservice: Image.Registry "my image:latest" is not an image reference; use [registry/]repository[:tag][@digest], repository in lower case, such as public.ecr.aws/org/agent:1.0`},
		{"image reference in upper case", &agentservice.Props{Image: agentservice.ImageFromRegistry("public.ecr.aws/Org/Agent:1")},
			`agentservice: Image.Registry "public.ecr.aws/Org/Agent:1" is not an image reference; use [registry/]repository[:tag][@digest], repository in lower case, such as public.ecr.aws/org/agent:1.0`},
		{"image reference with an empty tag", &agentservice.Props{Image: agentservice.ImageFromRegistry("agent:")},
			`agentservice: Image.Registry "agent:" is not an image reference; use [registry/]repository[:tag][@digest], repository in lower case, such as public.ecr.aws/org/agent:1.0`},
		{"metrics namespace in the environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"AGENTKIT_METRICS_NAMESPACE": jsii.String("Mine")}},
			"agentservice: Environment sets AGENTKIT_METRICS_NAMESPACE, which the construct sets from MetricsNamespace; set MetricsNamespace instead"},
		{"metrics service in the environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"AGENTKIT_METRICS_SERVICE": jsii.String("off")}},
			"agentservice: Environment sets AGENTKIT_METRICS_SERVICE, which the construct sets from the stack name and its construct path; drop it"},
		{"model prices in the environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"AGENTKIT_MODEL_PRICES": jsii.String("{}")}},
			"agentservice: Environment sets AGENTKIT_MODEL_PRICES, which the construct sets from ModelPrices; set ModelPrices instead"},
		{"an AWS namespace", &agentservice.Props{Image: img, MetricsNamespace: jsii.String("AWS/ECS")},
			`agentservice: MetricsNamespace "AWS/ECS" is not a CloudWatch namespace of yours; use 1 to 255 letters, digits, spaces and . - _ / # :, not starting with "AWS/"`},
		{"an empty namespace", &agentservice.Props{Image: img, MetricsNamespace: jsii.String("")},
			`agentservice: MetricsNamespace "" is not a CloudWatch namespace of yours; use 1 to 255 letters, digits, spaces and . - _ / # :, not starting with "AWS/"`},
		{"a blank namespace", &agentservice.Props{Image: img, MetricsNamespace: jsii.String("  ")},
			`agentservice: MetricsNamespace "  " is not a CloudWatch namespace of yours; use 1 to 255 letters, digits, spaces and . - _ / # :, not starting with "AWS/"`},
		{"a namespace with a quote", &agentservice.Props{Image: img, MetricsNamespace: jsii.String(`Agent"s`)},
			`agentservice: MetricsNamespace "Agent\"s" is not a CloudWatch namespace of yours; use 1 to 255 letters, digits, spaces and . - _ / # :, not starting with "AWS/"`},
		{"a price without a model", &agentservice.Props{Image: img, ModelPrices: map[string]agentservice.ModelPrice{"": {InputUSDPerMillionTokens: 1}}},
			`agentservice: ModelPrices has a model named ""; name each model as the agent reports it (its Model dimension), not blank or "other"`},
		{"a price for a blank model", &agentservice.Props{Image: img, ModelPrices: map[string]agentservice.ModelPrice{" ": {}}},
			`agentservice: ModelPrices has a model named " "; name each model as the agent reports it (its Model dimension), not blank or "other"`},
		{"a negative price", &agentservice.Props{Image: img, ModelPrices: map[string]agentservice.ModelPrice{"gpt-4o": {InputUSDPerMillionTokens: -2.5, OutputUSDPerMillionTokens: 10}}},
			`agentservice: ModelPrices["gpt-4o"].InputUSDPerMillionTokens -2.5 is not a price; use US dollars per million tokens, from 0 to 1000000`},
		{"a NaN price", &agentservice.Props{Image: img, ModelPrices: map[string]agentservice.ModelPrice{"claude": {OutputUSDPerMillionTokens: math.NaN()}}},
			`agentservice: ModelPrices["claude"].OutputUSDPerMillionTokens NaN is not a price; use US dollars per million tokens, from 0 to 1000000`},
		{"an infinite price", &agentservice.Props{Image: img, ModelPrices: map[string]agentservice.ModelPrice{"claude": {InputUSDPerMillionTokens: math.Inf(1)}}},
			`agentservice: ModelPrices["claude"].InputUSDPerMillionTokens +Inf is not a price; use US dollars per million tokens, from 0 to 1000000`},
		// agentkit refuses these tables when the task starts (its Metrics),
		// so synth refuses them first.
		{"a price above agentkit's bound", &agentservice.Props{Image: img, ModelPrices: map[string]agentservice.ModelPrice{"claude": {OutputUSDPerMillionTokens: 1_000_001}}},
			`agentservice: ModelPrices["claude"].OutputUSDPerMillionTokens 1.000001e+06 is not a price; use US dollars per million tokens, from 0 to 1000000`},
		{"a price for the model that stands for the rest", &agentservice.Props{Image: img, ModelPrices: map[string]agentservice.ModelPrice{"other": {InputUSDPerMillionTokens: 1}}},
			`agentservice: ModelPrices has a model named "other"; name each model as the agent reports it (its Model dimension), not blank or "other"`},
		{"one model at two prices", &agentservice.Props{Image: img, ModelPrices: map[string]agentservice.ModelPrice{"gpt-4o": {InputUSDPerMillionTokens: 2.5}, "gpt-4o\n": {InputUSDPerMillionTokens: 5}}},
			`agentservice: ModelPrices["gpt-4o"] and ModelPrices["gpt-4o\n"] are one model (Model "gpt-4o") at two prices; give it one`},
		{"a zero latency threshold", &agentservice.Props{Image: img, LatencyAlarmThreshold: secs(0)},
			"agentservice: LatencyAlarmThreshold 0s is out of range; use a duration above 0s and at most RequestTimeout 55s, by which agentkit has answered every request"},
		{"a latency threshold past the deadline", &agentservice.Props{Image: img, RequestTimeout: secs(20), LatencyAlarmThreshold: secs(30)},
			"agentservice: LatencyAlarmThreshold 30s is out of range; use a duration above 0s and at most RequestTimeout 20s, by which agentkit has answered every request"},
		{"a token deadline without a latency threshold", &agentservice.Props{Image: img,
			RequestTimeout: awscdk.Duration_Seconds(awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())), DeregistrationDelay: secs(300)},
			"agentservice: RequestTimeout is an unresolved token, so the latency alarm's threshold cannot be derived from it; set LatencyAlarmThreshold too"},
		{"vpc and cluster", vpcAndCluster(),
			"agentservice: Vpc and Cluster are both set; a given Cluster brings its own VPC, so set only Cluster"},
		{"max healthy below 100", &agentservice.Props{Image: img, MaxHealthyPercent: jsii.Number(90)},
			"agentservice: MaxHealthyPercent 90 must be 100..200 and above MinHealthyPercent 100, or a deployment cannot start a new task"},
		{"min healthy above 100", &agentservice.Props{Image: img, MinHealthyPercent: jsii.Number(120)},
			"agentservice: MinHealthyPercent 120 is outside 0..100"},
		{"credential in plain environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"OPENAI_API_KEY": jsii.String("sk-")}},
			`agentservice: Environment name "OPENAI_API_KEY" looks like a credential, and plain environment variables are stored in the template; put it in Secrets (package secrets: FromParameter, FromSecretsManager), or, if it holds no secret, name it in EnvironmentAllowList`},
		{"token in plain environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"GITHUB_TOKEN": jsii.String("x")}},
			`agentservice: Environment name "GITHUB_TOKEN" looks like a credential, and plain environment variables are stored in the template; put it in Secrets (package secrets: FromParameter, FromSecretsManager), or, if it holds no secret, name it in EnvironmentAllowList`},
		{"aws access key in plain environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"AWS_ACCESS_KEY_ID": jsii.String("x")}},
			`agentservice: Environment name "AWS_ACCESS_KEY_ID" looks like a credential, and plain environment variables are stored in the template; put it in Secrets (package secrets: FromParameter, FromSecretsManager), or, if it holds no secret, name it in EnvironmentAllowList`},
		{"allow-list entry that is not a name", &agentservice.Props{Image: img, EnvironmentAllowList: jsii.Strings("MY-TOKEN")},
			`agentservice: EnvironmentAllowList entry "MY-TOKEN" is not a variable name; use letters, digits and '_', not starting with a digit`},
		{"allow-list entry the guard lets through anyway", &agentservice.Props{Image: img, EnvironmentAllowList: jsii.Strings("MAX_TOKENS")},
			`agentservice: EnvironmentAllowList entry "MAX_TOKENS" does not look like a credential, so the guard lets it through anyway; drop it`},
		{"spot with arm64", &agentservice.Props{Image: img, FargateSpot: jsii.Bool(true), CpuArchitecture: agentservice.ArchitectureArm64},
			"agentservice: FargateSpot is set with CpuArchitecture ARM64, but Fargate Spot does not run ARM64 tasks; use ArchitectureX86_64 with Spot, or on-demand ARM64"},
		{"unknown architecture", &agentservice.Props{Image: img, CpuArchitecture: "RISCV"},
			`agentservice: CpuArchitecture "RISCV" is not a Fargate architecture; use ArchitectureX86_64 or ArchitectureArm64`},
		{"on-demand base without spot", &agentservice.Props{Image: img, OnDemandBaseCount: jsii.Number(1)},
			"agentservice: OnDemandBaseCount 1 is set without FargateSpot; it only splits tasks between on-demand and Spot"},
		{"exec with a read-only root", &agentservice.Props{Image: img, EnableExecuteCommand: jsii.Bool(true)},
			"agentservice: EnableExecuteCommand needs a writable root filesystem (the SSM agent writes into it), but ReadonlyRootFilesystem is true; set ReadonlyRootFilesystem to false as well, knowingly"},
		{"root user", &agentservice.Props{Image: img, User: jsii.String("0:0")},
			`agentservice: User "0:0" runs the container as root; use a non-root user such as "65532"`},
		{"domain without zone", &agentservice.Props{Image: img, DomainName: jsii.String("agent.example.com")},
			"agentservice: DomainName and DomainZone go together; the zone validates the certificate and holds the alias record"},
		{"unknown log retention", &agentservice.Props{Image: img, LogRetention: "FOREVERISH"},
			`agentservice: LogRetention "FOREVERISH" is not an awslogs.RetentionDays value; use one of its constants, such as awslogs.RetentionDays_ONE_MONTH ("ONE_MONTH")`},
		{"unknown ssl policy", &agentservice.Props{Image: img, SslPolicy: "TLS99"},
			`agentservice: SslPolicy "TLS99" is not an awselasticloadbalancingv2.SslPolicy value; use one of its constants, such as awselasticloadbalancingv2.SslPolicy_RECOMMENDED_TLS ("RECOMMENDED_TLS")`},
		{"redirect without https", &agentservice.Props{Image: img, RedirectHTTP: jsii.Bool(true)},
			"agentservice: SslPolicy and RedirectHTTP apply only with HTTPS; give a Certificate or a DomainName"},
		{"access log retention without access logs", &agentservice.Props{Image: img, AccessLogs: jsii.Bool(false), AccessLogsRetentionDays: jsii.Number(30)},
			"agentservice: AccessLogsBucket and AccessLogsRetentionDays are set but AccessLogs is false; drop them or turn AccessLogs on"},
		{"access log retention zero", &agentservice.Props{Image: img, AccessLogsRetentionDays: jsii.Number(0)},
			"agentservice: AccessLogsRetentionDays 0 is not a day count; use a whole number of at least 1"},
		{"alarm threshold without alarms", &agentservice.Props{Image: img, DeploymentAlarms: jsii.Bool(false), Target5xxAlarmThreshold: jsii.Number(5)},
			"agentservice: Target5xxAlarmThreshold 5 is set but DeploymentAlarms is false"},
		{"max azs zero", &agentservice.Props{Image: img, MaxAzs: jsii.Number(0)},
			"agentservice: MaxAzs 0 is not a zone count; use a whole number of at least 1"},
		{"negative nat gateways", &agentservice.Props{Image: img, NatGateways: jsii.Number(-1)},
			"agentservice: NatGateways -1 is not a gateway count; use a whole number of at least 0"},
		{"deregistration delay shorter than the request deadline", &agentservice.Props{Image: img, DeregistrationDelay: secs(30)},
			"agentservice: DeregistrationDelay 30s is shorter than RequestTimeout 55s plus 5s for its answer to leave; the load balancer would cut requests still within their deadline on every deploy and scale-in, so use at least 60s"},
		{"request deadline above the idle timeout", &agentservice.Props{Image: img, RequestTimeout: secs(180)},
			"agentservice: RequestTimeout 180s is longer than IdleTimeout 120s, which cuts a response that sends nothing for that long; raise IdleTimeout to at least 180s, or set LongRequestsStream if every request longer than 120s streams with heartbeats (agentkit.Server.Stream)"},
		{"request deadline for the worker", &agentservice.Props{Image: img, RequestTimeout: secs(1800), LongRequestsStream: jsii.Bool(true)},
			"agentservice: RequestTimeout 1800s is above 600s; a deploy or scale-in waits that long for every task it stops, so run work this long on a queue worker (agentservice.NewWorker) instead"},
		{"request deadline of zero", &agentservice.Props{Image: img, RequestTimeout: secs(0)},
			"agentservice: RequestTimeout 0s is not a deadline; use 1s to 600s"},
		{"request deadline as a token without a delay", &agentservice.Props{Image: img, RequestTimeout: awscdk.Duration_Seconds(awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID()))},
			"agentservice: RequestTimeout is an unresolved token, so the deregistration delay cannot be derived from it; set DeregistrationDelay too, at least RequestTimeout + 5s"},
		{"deadline in the environment", &agentservice.Props{Image: img, Environment: &map[string]*string{"AGENTKIT_REQUEST_TIMEOUT": jsii.String("5m")}},
			"agentservice: Environment sets AGENTKIT_REQUEST_TIMEOUT, which the construct sets from RequestTimeout; set RequestTimeout instead"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// WHEN the props are validated
			err := c.props.Validate()

			// THEN the message names the prop, the value and what is allowed
			if err == nil || err.Error() != c.want {
				t.Fatalf("Validate() = %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestValidateNamesEveryPropWhereTheUserSetIt(t *testing.T) {
	img := astest.RegistryImage()
	ms := func(n float64) awscdk.Duration { return awscdk.Duration_Millis(jsii.Number(n)) }
	health := func(h *healthcheck.Props) *agentservice.Props { return &agentservice.Props{Image: img, HealthCheck: h} }
	probe := func(c *healthcheck.ContainerProps) *agentservice.Props {
		return &agentservice.Props{Image: img, ContainerHealthCheck: c}
	}
	scale := func(s *scaling.Props) *agentservice.Props { return &agentservice.Props{Image: img, Scaling: s} }
	cases := []struct {
		name  string
		props *agentservice.Props
		want  string
	}{
		// The request deadline, and the deregistration delay derived from it
		{"RequestTimeout not whole seconds", &agentservice.Props{Image: img, RequestTimeout: ms(60)},
			"agentservice: RequestTimeout 60ms is not a whole number of seconds; use 1s to 600s in whole seconds"},
		{"RequestTimeout a second and a half", &agentservice.Props{Image: img, RequestTimeout: ms(1500)},
			"agentservice: RequestTimeout 1.5s is not a whole number of seconds; use 1s to 600s in whole seconds"},
		{"RequestTimeout over ten minutes", &agentservice.Props{Image: img, RequestTimeout: secs(601), LongRequestsStream: jsii.Bool(true)},
			"agentservice: RequestTimeout 601s is above 600s; a deploy or scale-in waits that long for every task it stops, so run work this long on a queue worker (agentservice.NewWorker) instead"},
		{"RequestTimeout not whole seconds beside a DeregistrationDelay", &agentservice.Props{Image: img, RequestTimeout: ms(2500), DeregistrationDelay: secs(10)},
			"agentservice: RequestTimeout 2.5s is not a whole number of seconds; use 1s to 600s in whole seconds"},
		{"DeregistrationDelay over an hour", &agentservice.Props{Image: img, DeregistrationDelay: secs(3601)},
			"agentservice: DeregistrationDelay 3601s is out of range; use 0s to 3600s"},
		{"DeregistrationDelay not whole seconds", &agentservice.Props{Image: img, DeregistrationDelay: ms(65500)},
			"agentservice: DeregistrationDelay 1m5.5s is not a whole number of seconds; use 0s to 3600s in whole seconds"},
		{"StopTimeout over Fargate's limit", &agentservice.Props{Image: img, StopTimeout: secs(121)},
			"agentservice: StopTimeout 121s is out of range; use 2s to 120s"},
		{"IdleTimeout over the load balancer's limit", &agentservice.Props{Image: img, IdleTimeout: secs(4001)},
			"agentservice: IdleTimeout 4001s is out of range; use 1s to 4000s"},
		{"IdleTimeout below the deadline", &agentservice.Props{Image: img, IdleTimeout: secs(30)},
			"agentservice: RequestTimeout 55s is longer than IdleTimeout 30s, which cuts a response that sends nothing for that long; raise IdleTimeout to at least 55s, or set LongRequestsStream if every request longer than 30s streams with heartbeats (agentkit.Server.Stream)"},
		// HealthCheck
		{"HealthCheck.Path", health(&healthcheck.Props{Path: jsii.String("health")}),
			`agentservice: HealthCheck.Path "health" does not start with "/"; use an absolute path such as "/health"`},
		{"HealthCheck.HealthyHttpCodes", health(&healthcheck.Props{HealthyHttpCodes: jsii.String("500")}),
			`agentservice: HealthCheck.HealthyHttpCodes "500" is not a matcher the ALB accepts; use codes from 200 to 499 as "200", "200,202" or "200-299"`},
		{"HealthCheck.Interval", health(&healthcheck.Props{Interval: secs(4), Timeout: secs(2)}),
			"agentservice: HealthCheck.Interval 4s is out of range; use 5s to 300s"},
		{"HealthCheck.Timeout", health(&healthcheck.Props{Timeout: secs(30)}),
			"agentservice: HealthCheck.Timeout 30s is not below HealthCheck.Interval 30s; use a timeout shorter than the interval"},
		{"HealthCheck.HealthyThresholdCount", health(&healthcheck.Props{HealthyThresholdCount: jsii.Number(1)}),
			"agentservice: HealthCheck.HealthyThresholdCount 1 is out of range; use 2 to 10"},
		{"HealthCheck.UnhealthyThresholdCount", health(&healthcheck.Props{UnhealthyThresholdCount: jsii.Number(2.5)}),
			"agentservice: HealthCheck.UnhealthyThresholdCount 2.5 is not a whole number; use 2 to 10"},
		{"HealthCheck.GracePeriod", health(&healthcheck.Props{GracePeriod: ms(1500)}),
			"agentservice: HealthCheck.GracePeriod 1.5s is not a whole number of seconds; use 0s to 2147483647s in whole seconds"},
		// ContainerHealthCheck
		{"ContainerHealthCheck.Command", probe(&healthcheck.ContainerProps{Command: jsii.Strings("/agent", "healthcheck")}),
			`agentservice: ContainerHealthCheck.Command ["/agent" "healthcheck"] is not a health-check command; use ["CMD", binary, args...] or ["CMD-SHELL", script]`},
		{"ContainerHealthCheck.Interval", probe(&healthcheck.ContainerProps{Interval: secs(301)}),
			"agentservice: ContainerHealthCheck.Interval 301s is out of range; use 5s to 300s"},
		{"ContainerHealthCheck.Timeout", probe(&healthcheck.ContainerProps{Timeout: secs(3)}),
			"agentservice: ContainerHealthCheck.Timeout 3s is too short for the agent probe, which waits up to 3s for /health; use at least 4s"},
		{"ContainerHealthCheck.Retries", probe(&healthcheck.ContainerProps{Retries: jsii.Number(0)}),
			"agentservice: ContainerHealthCheck.Retries 0 is out of range; use 1 to 10"},
		{"ContainerHealthCheck.StartPeriod", probe(&healthcheck.ContainerProps{StartPeriod: secs(301)}),
			"agentservice: ContainerHealthCheck.StartPeriod 301s is out of range; use 0s to 300s"},
		// Scaling
		{"Scaling.MinCapacity above Scaling.MaxCapacity", scale(&scaling.Props{MinCapacity: jsii.Number(5), MaxCapacity: jsii.Number(2)}),
			"agentservice: Scaling.MinCapacity 5 is above Scaling.MaxCapacity 2; use a minimum no larger than the maximum"},
		{"Scaling.MaxCapacity", scale(&scaling.Props{MaxCapacity: jsii.Number(0)}),
			"agentservice: Scaling.MaxCapacity 0 is too small; use 1 or more"},
		{"Scaling.Cpu.TargetPercent", scale(&scaling.Props{Cpu: &scaling.TargetProps{TargetPercent: jsii.Number(101)}}),
			"agentservice: Scaling.Cpu.TargetPercent 101 is out of range; use 1 to 100"},
		{"Scaling.Memory.ScaleOutCooldown", scale(&scaling.Props{Memory: &scaling.TargetProps{ScaleOutCooldown: ms(500)}}),
			"agentservice: Scaling.Memory.ScaleOutCooldown 500ms is not a whole number of seconds; use whole seconds, 0s or more"},
		{"Scaling.Requests.RequestsPerTarget", scale(&scaling.Props{Requests: &scaling.RequestProps{RequestsPerTarget: jsii.Number(0)}}),
			"agentservice: Scaling.Requests.RequestsPerTarget 0 is out of range; use 1 or more"},
		{"Scaling.Concurrency.RequestsInFlightPerTask", scale(&scaling.Props{Concurrency: &scaling.ConcurrencyProps{RequestsInFlightPerTask: jsii.Number(0)}}),
			"agentservice: Scaling.Concurrency.RequestsInFlightPerTask 0 is out of range; use a finite number above 0"},
		{"Scaling.DisableCpu", scale(&scaling.Props{Cpu: &scaling.TargetProps{}, DisableCpu: jsii.Bool(true)}),
			"agentservice: Scaling.Cpu is set but Scaling.DisableCpu is true; drop one of them"},
		// Secrets
		{"Secrets version", &agentservice.Props{Image: img, Secrets: secrets.FromParameters("/agents/prod", -1, "OPENAI_API_KEY")},
			"agentservice: Secrets: Version -1 of OPENAI_API_KEY is not a parameter version; use a whole number of 1 or more, or leave it unset for the latest"},
		{"Secrets variable name", &agentservice.Props{Image: img, Secrets: secrets.FromParameters("/agents/prod", 1, "bad-name")},
			`agentservice: Secrets: EnvName "bad-name" is not a valid identifier; use letters, digits and underscores, not starting with a digit`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a bad value set on Props, which package healthcheck,
			// scaling or secrets judges
			// WHEN the props are validated
			err := c.props.Validate()

			// THEN the message is agentservice's, names the prop as it is
			// written on Props (or, for a derived value, the prop it is
			// derived from), its value and what is allowed
			if err == nil || err.Error() != c.want {
				t.Fatalf("Validate() = %v\nwant %s", err, c.want)
			}
		})
	}
}
