package agentservice

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/internal/defaults"
)

// targetGroupHealthCheck is the target group's health check p describes,
// every field set explicitly (enabled, HTTP on the traffic port), so the
// template states what AWS would otherwise default. p may be nil.
func targetGroupHealthCheck(p *healthcheck.Props) *elbv2.HealthCheck {
	p = defaults.Ptr(p, healthcheck.Props{})
	return &elbv2.HealthCheck{
		Enabled:                 jsii.Bool(true),
		Path:                    defaults.Ptr(p.Path, healthcheck.DefaultPath),
		HealthyHttpCodes:        defaults.Ptr(p.HealthyHttpCodes, healthcheck.DefaultHealthyHttpCodes),
		Interval:                defaults.Duration(p.Interval, healthcheck.DefaultInterval),
		Timeout:                 defaults.Duration(p.Timeout, healthcheck.DefaultTimeout),
		HealthyThresholdCount:   defaults.Ptr(p.HealthyThresholdCount, float64(healthcheck.DefaultHealthyThresholdCount)),
		UnhealthyThresholdCount: defaults.Ptr(p.UnhealthyThresholdCount, float64(healthcheck.DefaultUnhealthyThresholdCount)),
		Port:                    jsii.String("traffic-port"),
		Protocol:                elbv2.Protocol_HTTP,
	}
}

// gracePeriod is the ECS health-check grace period p describes; p may be
// nil.
func gracePeriod(p *healthcheck.Props) awscdk.Duration {
	p = defaults.Ptr(p, healthcheck.Props{})
	return defaults.Duration(p.GracePeriod, healthcheck.DefaultGracePeriod)
}

// containerHealthCheck is the container health check p describes, every
// field set explicitly; nil p means none. The default probe is the agent
// binary run with agentkit.ProbeArg, so a distroless image needs no curl.
func containerHealthCheck(p *healthcheck.ContainerProps) *awsecs.HealthCheck {
	if p == nil {
		return nil
	}
	return &awsecs.HealthCheck{
		Command:     defaults.Ptr(p.Command, *jsii.Strings("CMD", healthcheck.DefaultProbeBinary, agentkit.ProbeArg)),
		Interval:    defaults.Duration(p.Interval, healthcheck.DefaultContainerInterval),
		Timeout:     defaults.Duration(p.Timeout, healthcheck.DefaultContainerTimeout),
		Retries:     defaults.Ptr(p.Retries, float64(healthcheck.DefaultContainerRetries)),
		StartPeriod: defaults.Duration(p.StartPeriod, healthcheck.DefaultContainerStartPeriod),
	}
}
