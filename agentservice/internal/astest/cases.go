package astest

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/internal/stacktest"
	"github.com/agentcdk/agentcdk/scaling"
	"github.com/agentcdk/agentcdk/secrets"
)

// Shifted is the smallest props of a blue/green-family deploy: the
// strategy, and the requests-per-target policy off (it would watch one of
// the two target groups only).
func Shifted(strategy awsecs.DeploymentStrategy) *agentservice.Props {
	return &agentservice.Props{
		Image:      RegistryImage(),
		Deployment: &agentservice.Deployment{Strategy: strategy},
		Scaling:    &scaling.Props{DisableRequests: jsii.Bool(true)},
	}
}

// The blue/green-family deploys with every other prop at its default, and
// a canary with a test header: shared by agentservice's template tests and
// scantest's deploys to moto.
var (
	BlueGreen = &Case{Name: "BlueGreen", Web: func(awscdk.Stack) *agentservice.Props {
		return Shifted(awsecs.DeploymentStrategy_BLUE_GREEN)
	}}
	Canary = &Case{Name: "Canary", Web: func(awscdk.Stack) *agentservice.Props {
		return Shifted(awsecs.DeploymentStrategy_CANARY)
	}}
	Linear = &Case{Name: "Linear", Web: func(awscdk.Stack) *agentservice.Props {
		return Shifted(awsecs.DeploymentStrategy_LINEAR)
	}}
	CanaryTestHeader = &Case{Name: "CanaryTestHeader", Web: func(awscdk.Stack) *agentservice.Props {
		p := Shifted(awsecs.DeploymentStrategy_CANARY)
		p.Deployment.TestTrafficHeader = jsii.String("X-Agent-Canary")
		return p
	}}
)

// OwnTestSecretArn is the test-traffic secret of BlueGreenOwnChoices.
const OwnTestSecretArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:agent/test-traffic-AbCdEf"

// BlueGreenOwnChoices is a blue/green deploy with the user's own choices
// where the construct has defaults: a test-traffic secret of the user's,
// round-robin routing, its model API keys under a parameter key
// (secrets.NewParameterKey), and its callers' API keys in a secret of its
// own under a customer managed key.
var BlueGreenOwnChoices = &Case{Name: "BlueGreenOwnChoices", Web: func(stack awscdk.Stack) *agentservice.Props {
	p := Shifted(awsecs.DeploymentStrategy_BLUE_GREEN)
	key := secrets.NewParameterKey(stack, jsii.String("ParameterKey"))
	p.Secrets = secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY")
	for _, s := range p.Secrets {
		s.EncryptionKey = key
	}
	p.Deployment.TestTrafficHeader = jsii.String("X-Agent-Test")
	p.Deployment.TestTrafficSecret = awssecretsmanager.Secret_FromSecretCompleteArn(stack, jsii.String("Given"), jsii.String(OwnTestSecretArn))
	p.RoutingAlgorithm = elbv2.TargetGroupLoadBalancingAlgorithmType_ROUND_ROBIN
	p.Auth = OwnAPIKeys(stack)
	return p
}}

// JWTProps is an identity provider's settings, as a user gives them.
func JWTProps() *agentservice.JWT {
	return &agentservice.JWT{
		Issuer:         jsii.String("https://idp.example.com/"),
		JWKSURL:        jsii.String("https://idp.example.com/.well-known/jwks.json"),
		Audience:       jsii.String("agent-api"),
		RequiredClaims: &map[string]*string{"scope": jsii.String("agent:run")},
	}
}

// OwnAPIKeysArn is the API keys' secret of BlueGreenOwnChoices, and
// OwnAPIKeysKeyArn the customer managed key that encrypts it.
const (
	OwnAPIKeysArn    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:agent/api-keys-AbCdEf"
	OwnAPIKeysKeyArn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
)

// OwnAPIKeys is a secret of the user's, under a customer managed key.
func OwnAPIKeys(stack awscdk.Stack) *agentservice.Auth {
	return agentservice.AuthAPIKeys(&agentservice.APIKeys{
		Secret: awssecretsmanager.Secret_FromSecretAttributes(stack, jsii.String("OwnAPIKeys"), &awssecretsmanager.SecretAttributes{
			SecretCompleteArn: jsii.String(OwnAPIKeysArn),
			EncryptionKey:     awskms.Key_FromKeyArn(stack, jsii.String("OwnAPIKeysKey"), jsii.String(OwnAPIKeysKeyArn)),
		}),
	})
}

// SpendPrices prices two models, one of them under a name agentkit writes
// in another form (agentkit.ModelDimension trims it).
func SpendPrices() map[string]agentservice.ModelPrice {
	return map[string]agentservice.ModelPrice{
		"gpt-5":              {InputUSDPerMillionTokens: 1.25, OutputUSDPerMillionTokens: 10},
		" claude-sonnet-4.5": {InputUSDPerMillionTokens: 3, OutputUSDPerMillionTokens: 15},
	}
}

// SpendAlarms is a web service and a worker, each with a spend alarm to a
// topic.
var SpendAlarms = &Case{
	Name: "Spend",
	Web: func(stack awscdk.Stack) *agentservice.Props {
		return &agentservice.Props{
			Image: RegistryImage(), ModelPrices: SpendPrices(), SpendAlarmUSDPerHour: jsii.Number(5),
			AlarmTopic: awssns.Topic_FromTopicArn(stack, jsii.String("Topic"), jsii.String("arn:aws:sns:us-east-1:123456789012:alarms")),
		}
	},
	Worker: func(stack awscdk.Stack, web *agentservice.Service) *agentservice.WorkerProps {
		return &agentservice.WorkerProps{
			Image: RegistryImage(), ModelPrices: SpendPrices(), SpendAlarmUSDPerHour: jsii.Number(20),
			AlarmTopic: awssns.Topic_FromTopicArn(stack, jsii.String("WorkerTopic"), jsii.String("arn:aws:sns:us-east-1:123456789012:alarms")),
		}
	},
}

// The worker's option combinations that cdk-nag and cfn-lint check, the
// defaults also read by the template tests. The stack is named "Worker",
// as the suppressions' paths say.
var (
	WorkerDefaults = &Case{Name: "Worker", Packs: []stacktest.Pack{stacktest.AwsSolutions},
		Worker: func(awscdk.Stack, *agentservice.Service) *agentservice.WorkerProps {
			return &agentservice.WorkerProps{Image: RegistryImage()}
		}}
	WorkerKeySendSecrets = &Case{Name: "Worker", Packs: []stacktest.Pack{stacktest.AwsSolutions},
		Worker: func(stack awscdk.Stack, _ *agentservice.Service) *agentservice.WorkerProps {
			return &agentservice.WorkerProps{
				Image:              RegistryImage(),
				QueueEncryptionKey: awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)}),
				AllowSend:          jsii.Bool(true),
				Secrets:            secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY"),
			}
		}}
	WorkerExecSpot = &Case{Name: "Worker", Packs: []stacktest.Pack{stacktest.AwsSolutions},
		Worker: func(awscdk.Stack, *agentservice.Service) *agentservice.WorkerProps {
			return &agentservice.WorkerProps{
				Image:                  RegistryImage(),
				EnableExecuteCommand:   jsii.Bool(true),
				ReadonlyRootFilesystem: jsii.Bool(false),
				FargateSpot:            jsii.Bool(true),
			}
		}}
)

// Runs is a web service and a worker sharing one RunStore (id "Runs"),
// each with an alarm topic, synthesized with cdk-nag's AwsSolutions pack:
// read by the runs' template tests, and by scantest's packs, cfn-lint,
// confused-deputy walker and moto deploy.
var Runs = func() *Case {
	var store *agentservice.RunStore // made by Web, read by Worker: one synthesis
	topic := func(stack awscdk.Stack, id string) awssns.ITopic {
		return awssns.Topic_FromTopicArn(stack, jsii.String(id), jsii.String("arn:aws:sns:us-east-1:123456789012:alarms"))
	}
	return &Case{
		Name:  "Runs",
		Packs: []stacktest.Pack{stacktest.AwsSolutions},
		Web: func(stack awscdk.Stack) *agentservice.Props {
			store = agentservice.NewRunStore(stack, jsii.String("Runs"), nil)
			return &agentservice.Props{Image: RegistryImage(), Runs: store, AlarmTopic: topic(stack, "Topic")}
		},
		Worker: func(stack awscdk.Stack, _ *agentservice.Service) *agentservice.WorkerProps {
			return &agentservice.WorkerProps{Image: RegistryImage(), Runs: store, AlarmTopic: topic(stack, "WorkerTopic")}
		},
	}
}()
