package agentservice

import (
	"fmt"
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/defaults"
	"github.com/agentcdk/agentcdk/internal/timing"
	"github.com/agentcdk/agentcdk/secrets"
)

// tmpVolume is the task volume mounted writable at /tmp when the root
// filesystem is read-only.
const tmpVolume = "tmp"

// task makes the task definition and the locked-down container both
// constructs run. env is the container's whole environment; with a port the
// container maps it.
func task(scope constructs.Construct, p *Props, logs awslogs.ILogGroup, env *map[string]*string, port *float64) (awsecs.FargateTaskDefinition, awsecs.ContainerDefinition) {
	cpu, platform := awsecs.CpuArchitecture_X86_64(), awsecrassets.Platform_LINUX_AMD64()
	if p.arch() == ArchitectureArm64 {
		cpu, platform = awsecs.CpuArchitecture_ARM64(), awsecrassets.Platform_LINUX_ARM64()
	}
	def := awsecs.NewFargateTaskDefinition(scope, jsii.String("TaskDef"), &awsecs.FargateTaskDefinitionProps{
		Cpu:             jsii.Number(p.cpu()),
		MemoryLimitMiB:  jsii.Number(p.memory()),
		RuntimePlatform: &awsecs.RuntimePlatform{CpuArchitecture: cpu, OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX()},
	})
	linux := awsecs.NewLinuxParameters(scope, jsii.String("Linux"), &awsecs.LinuxParametersProps{
		// An init process reaps zombies and forwards SIGTERM to the agent,
		// so the drain starts even when the agent is not PID 1.
		InitProcessEnabled: jsii.Bool(true),
	})
	linux.DropCapabilities(awsecs.Capability_ALL)
	container := def.AddContainer(jsii.String(p.containerName()), &awsecs.ContainerDefinitionOptions{
		ContainerName: jsii.String(p.containerName()),
		Image:         p.Image.containerImage(platform),
		Environment:   env,
		Secrets:       secrets.Bind(scope, p.Secrets),
		// ECS reads no Parameter Store version; a pin lives in a label, so
		// that changing it makes a new task definition and new tasks.
		DockerLabels: secrets.VersionLabels(p.Secrets),
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:      logs,
			StreamPrefix:  jsii.String(p.logPrefix()),
			Mode:          p.logMode(),
			MaxBufferSize: p.logBuffer(),
		}),
		StopTimeout: p.stopTimeout(),
		HealthCheck: containerHealthCheck(p.ContainerHealthCheck),
		Essential:   jsii.Bool(true),
		// A hard limit: the container is stopped rather than let the task
		// starve its other processes (the ECS agent's log shipping).
		MemoryLimitMiB:         jsii.Number(p.memory()),
		ReadonlyRootFilesystem: jsii.Bool(p.readonlyRoot()),
		User:                   jsii.String(defaults.Or(p.User, DefaultUser)),
		LinuxParameters:        linux,
	})
	guardCredentials(def, p.containerName(), p)
	if port != nil {
		container.AddPortMappings(&awsecs.PortMapping{ContainerPort: port, Protocol: awsecs.Protocol_TCP})
	}
	if p.readonlyRoot() {
		def.AddVolume(&awsecs.Volume{Name: jsii.String(tmpVolume)})
		container.AddMountPoints(&awsecs.MountPoint{
			SourceVolume:  jsii.String(tmpVolume),
			ContainerPath: jsii.String("/tmp"),
			ReadOnly:      jsii.Bool(false),
		})
	}
	return def, container
}

// environment is the user's variables plus the web service's side of the
// agentkit contract, metrics included.
func environment(p *Props, m metrics) *map[string]*string {
	return withEnv(p.Environment, map[string]*string{
		agentkit.EnvPort:           jsii.String(fmt.Sprint(p.port())),
		agentkit.EnvStopTimeout:    envDuration(p.stopTimeout()),
		agentkit.EnvIdleTimeout:    envDuration(p.idleTimeout()),
		agentkit.EnvRequestTimeout: envDuration(p.requestTimeout()),
	}, m.env(p.ModelPrices), p.admissionEnv(), p.callerBudgetEnv(), p.Runs.env())
}

// withEnv merges the construct's variables over a copy of the user's;
// validation has made sure the two do not overlap.
func withEnv(user *map[string]*string, contract ...map[string]*string) *map[string]*string {
	env := map[string]*string{}
	if user != nil {
		maps.Copy(env, *user)
	}
	for _, c := range contract {
		maps.Copy(env, c)
	}
	return &env
}

// envDuration formats d the way time.ParseDuration reads it ("60s"); a
// token becomes a CloudFormation expression that yields the same form.
func envDuration(d awscdk.Duration) *string {
	if v, ok := timing.Seconds(d); ok {
		return jsii.String(timing.Format(v))
	}
	return awscdk.Fn_Join(jsii.String(""), &[]*string{awscdk.Token_AsString(d.ToSeconds(nil), nil), jsii.String("s")})
}
