package agentservice_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/agentcdk/agentcdk/healthcheck"
)

func TestHealthCheckDefaultsReachTheTemplate(t *testing.T) {
	// GIVEN the container health check turned on with its defaults
	tmpl, _ := synth(t, &agentservice.Props{Image: astest.RegistryImage(), ContainerHealthCheck: &healthcheck.ContainerProps{}})

	// THEN the target group states every health-check field
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), obj(map[string]any{
		"HealthCheckEnabled":         true,
		"HealthCheckPath":            "/health",
		"Matcher":                    map[string]any{"HttpCode": "200"},
		"HealthCheckIntervalSeconds": 30,
		"HealthCheckTimeoutSeconds":  5,
		"HealthyThresholdCount":      2,
		"UnhealthyThresholdCount":    3,
		"HealthCheckPort":            "traffic-port",
		"HealthCheckProtocol":        "HTTP",
	}))
	// AND ECS ignores failed checks for 60 s after a task starts
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{"HealthCheckGracePeriodSeconds": 60}))
	// AND the container probes itself with the agent binary
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"ContainerDefinitions": arrayWith(obj(map[string]any{
			"HealthCheck": map[string]any{
				"Command": []any{"CMD", "/agent", "healthcheck"}, "Interval": 30, "Timeout": 5, "Retries": 3, "StartPeriod": 10,
			},
		})),
	}))
}

func TestNoContainerHealthCheckUnlessAsked(t *testing.T) {
	// GIVEN no ContainerHealthCheck
	tmpl := astest.Defaults.Synth(t).Template

	// THEN the container has none: ECS would otherwise run a probe the image may lack
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"ContainerDefinitions": arrayWith(obj(map[string]any{"HealthCheck": assertions.Match_Absent()})),
	}))
}

func TestHealthCheckOverridesReachTheTemplate(t *testing.T) {
	// GIVEN every health-check prop overridden
	tmpl, _ := synth(t, &agentservice.Props{
		Image: astest.RegistryImage(),
		HealthCheck: &healthcheck.Props{
			Path:                    jsii.String("/ready"),
			HealthyHttpCodes:        jsii.String("200-299"),
			Interval:                secs(10),
			Timeout:                 secs(4),
			HealthyThresholdCount:   jsii.Number(3),
			UnhealthyThresholdCount: jsii.Number(5),
			GracePeriod:             awscdk.Duration_Minutes(jsii.Number(2)),
		},
		ContainerHealthCheck: &healthcheck.ContainerProps{
			Command:     jsii.Strings("CMD", "/bin/agent", "healthcheck"),
			Interval:    secs(15),
			Timeout:     secs(3),
			Retries:     jsii.Number(2),
			StartPeriod: secs(0),
		},
	})

	// THEN each override replaces its default
	tmpl.HasResourceProperties(jsii.String("AWS::ElasticLoadBalancingV2::TargetGroup"), obj(map[string]any{
		"HealthCheckPath":            "/ready",
		"Matcher":                    map[string]any{"HttpCode": "200-299"},
		"HealthCheckIntervalSeconds": 10,
		"HealthCheckTimeoutSeconds":  4,
		"HealthyThresholdCount":      3,
		"UnhealthyThresholdCount":    5,
	}))
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::Service"), obj(map[string]any{"HealthCheckGracePeriodSeconds": 120}))
	tmpl.HasResourceProperties(jsii.String("AWS::ECS::TaskDefinition"), obj(map[string]any{
		"ContainerDefinitions": arrayWith(obj(map[string]any{
			"HealthCheck": map[string]any{
				"Command": []any{"CMD", "/bin/agent", "healthcheck"}, "Interval": 15, "Timeout": 3, "Retries": 2, "StartPeriod": 0,
			},
		})),
	}))
}
