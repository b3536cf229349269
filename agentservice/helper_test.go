package agentservice_test

import (
	"io"
	"os"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
)

// The package's test helpers. Its shared synthesized stacks are
// astest.Cases (package astest says how to share them): the ones
// package scantest also reads live there, the others in the test file
// that reads them.

func TestMain(m *testing.M) { os.Exit(astest.Run(m)) }

// synth builds props into a fresh stack of its own and returns its
// template: for a test that changes the stack or its props, or whose
// props no other test reads. Otherwise, share an astest.Case.
func synth(t *testing.T, props *agentservice.Props) (assertions.Template, *agentservice.Service) {
	t.Helper()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	svc := agentservice.New(stack, jsii.String("Agent"), props)
	return assertions.Template_FromStack(stack, nil), svc
}

// secs is a duration of n seconds.
func secs(n float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(n)) }

func obj(m map[string]any) assertions.Matcher { return assertions.Match_ObjectLike(&m) }

func arrayWith(v ...any) assertions.Matcher { return assertions.Match_ArrayWith(&v) }

// synthStderr is synth with os.Stderr captured: what synthesis printed
// there comes back with the template and the service.
func synthStderr(t *testing.T, props *agentservice.Props) (assertions.Template, *agentservice.Service, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	printed := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		r.Close()
		printed <- b
	}()
	tmpl, svc := func() (assertions.Template, *agentservice.Service) {
		defer func() { os.Stderr = stderr; w.Close() }()
		return synth(t, props)
	}()
	return tmpl, svc, string(<-printed)
}
