package agentservice_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

// The props the real-account defaults brought: the log driver's mode and
// buffer, the web ACL log's redacted headers, the alarm topic's name. They
// are validated without jsii.

func TestValidateRefusesBadLoggingAndRedaction(t *testing.T) {
	tooMany := make([]*string, 97)
	for i := range tooMany {
		tooMany[i] = jsii.String(fmt.Sprintf("x-key-%d", i))
	}
	cases := []struct {
		name string
		set  func(*agentservice.Props)
		want string
	}{
		{"an unknown log driver mode", func(p *agentservice.Props) { p.LogDriverMode = "lossy" },
			`agentservice: LogDriverMode "lossy" is not an awsecs.AwsLogDriverMode value; use one of its constants, such as awsecs.AwsLogDriverMode_NON_BLOCKING ("NON_BLOCKING")`},
		{"a buffer in blocking mode", func(p *agentservice.Props) {
			p.LogDriverMode, p.LogBufferSizeMiB = awsecs.AwsLogDriverMode_BLOCKING, jsii.Number(20)
		}, "agentservice: LogBufferSizeMiB 20 is set with LogDriverMode BLOCKING; the buffer exists only in non-blocking mode, so drop LogBufferSizeMiB or use awsecs.AwsLogDriverMode_NON_BLOCKING"},
		{"a buffer under 1 MiB", func(p *agentservice.Props) { p.LogBufferSizeMiB = jsii.Number(0.5) },
			"agentservice: LogBufferSizeMiB 0.5 is not a buffer size; use a whole number of MiB of at least 1"},
		{"a header name with a space", func(p *agentservice.Props) {
			p.Firewall = &agentservice.Firewall{RedactHeaders: jsii.Strings("x agent token")}
		}, `agentservice: Firewall.RedactHeaders entry "x agent token" is not a header name; use 1 to 64 letters, digits and !#$%&'*+-.^_` + "`" + `|~`},
		{"a header name over 64 characters", func(p *agentservice.Props) {
			p.Firewall = &agentservice.Firewall{RedactHeaders: jsii.Strings(strings.Repeat("x", 65))}
		}, `is not a header name; use 1 to 64 letters`},
		{"a default header again", func(p *agentservice.Props) {
			p.Firewall = &agentservice.Firewall{RedactHeaders: jsii.Strings("Authorization")}
		}, `agentservice: Firewall.RedactHeaders names "Authorization" twice, or one of the headers always redacted (authorization, cookie, x-api-key); drop it`},
		{"more headers than WAF redacts", func(p *agentservice.Props) {
			p.Firewall = &agentservice.Firewall{RedactHeaders: &tooMany}
		}, "agentservice: Firewall.RedactHeaders has 97 headers; AWS WAF redacts at most 100 fields, and the query string and authorization, cookie, x-api-key take 4, so name at most 96"},
		{"headers for a web ACL of one's own", func(p *agentservice.Props) {
			p.Firewall = &agentservice.Firewall{WebAclArn: jsii.String("arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mine/1"), RedactHeaders: jsii.Strings("x-agent-token")}
		}, "agentservice: Firewall.RedactHeaders applies to the log of the web ACL the construct makes, but Firewall.Off or Firewall.WebAclArn is set; redact in your web ACL's logging configuration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN props with the bad value
			p := &agentservice.Props{Image: astest.RegistryImage()}
			c.set(p)

			// WHEN they are validated
			err := p.Validate()

			// THEN the message names the prop, the value and what is allowed
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want %q", err, c.want)
			}
		})
	}
}

func TestTheWorkerRefusesABadLogBufferWithTheSameMessage(t *testing.T) {
	// GIVEN a worker whose buffer is set beside blocking mode
	p := &agentservice.WorkerProps{Image: astest.RegistryImage(), LogDriverMode: awsecs.AwsLogDriverMode_BLOCKING, LogBufferSizeMiB: jsii.Number(20)}

	// WHEN it is validated THEN it fails as the web service does
	web := (&agentservice.Props{Image: astest.RegistryImage(), LogDriverMode: awsecs.AwsLogDriverMode_BLOCKING, LogBufferSizeMiB: jsii.Number(20)}).Validate()
	if err := p.Validate(); err == nil || web == nil || err.Error() != web.Error() {
		t.Fatalf("worker: %v; web service: %v; want one message", err, web)
	}
}

func TestAlarmTopicPropsRefuseALongDisplayName(t *testing.T) {
	// GIVEN a display name over SNS's 100 characters
	long := strings.Repeat("a", 101)

	// WHEN the props are validated, and the topic made
	err := (&agentservice.AlarmTopicProps{DisplayName: &long}).Validate()
	panicked := synthError(func() {
		stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Topic"), nil)
		agentservice.NewAlarmTopic(stack, jsii.String("Alarms"), &agentservice.AlarmTopicProps{DisplayName: &long})
	})

	// THEN both refuse it with one message
	want := "agentservice: AlarmTopicProps.DisplayName \"" + long + "\" has 101 characters; use at most 100"
	if err == nil || err.Error() != want || panicked != want {
		t.Fatalf("Validate() = %v, NewAlarmTopic panics with %q; want %q", err, panicked, want)
	}
	// AND nil props are the default topic
	if err := (*agentservice.AlarmTopicProps)(nil).Validate(); err != nil {
		t.Fatalf("nil props: %v", err)
	}
}
