package agentservice_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/internal/cdktest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// The package's test helpers, and its shared synthesized stacks.
//
// # Shared stacks: synthesize each option combination once
//
// Every synthesis is a round of jsii calls (half a second on a quiet
// two-core machine, several on a busy one), cdk-nag and the template
// scanners cost more, and `go test ./...` must stay within two minutes
// there with no package above 45 s. So an option combination that tests
// read is declared once, as a package-level *stackCase, and synthesized the
// first time a test asks for it; every test after reads the same result:
//
//	// in the test file that needs it
//	var canaryDeploy = &stackCase{
//		name: "Canary",
//		web:  func(awscdk.Stack) *agentservice.Props { return shifted(awsecs.DeploymentStrategy_CANARY) },
//	}
//
//	func TestSomething(t *testing.T) {
//		s := canaryDeploy.synth(t)
//		s.Template.HasResourceProperties(...)    // assertions on the template: no second synthesis
//		s.Stack.Resolve(s.Web.TargetGroup...)     // the constructs, to resolve references
//		stacktest.CfnLint(t, s.TemplatePath)      // the template file, for the tools
//	}
//
// A case with packs is synthesized with those cdk-nag packs applied, and
// its Findings are theirs (compliance_test.go); the packs leave the
// template as it is, so template tests may share such a case. Before
// declaring a case, look for one with the same props: webDefaults (below;
// a new test of the defaults reads it), complianceCases, opsDefaults,
// blueGreenDeploy, canaryDeploy, linearDeploy, canaryWithTestHeader,
// blueGreenOwnChoices, workerDefaults, workerKeySendSecrets, workerExecSpot.
//
// The rules that keep sharing safe:
//   - Never add constructs to a shared stack, tag it, or change its props
//     after synth: every other test would see it. A test that does any of
//     that (a late grant, a tag, a variable added after New) builds its own
//     stack with synth or synthStack.
//   - Build the props inside the case's functions, never from a variable
//     a test changes.
//   - No t.Parallel(): the stacks are jsii objects.
//
// The cases live as long as the test binary; their cloud assemblies are in
// one directory that TestMain removes.

// assemblies holds the cloud assembly directories of the shared stacks.
var assemblies string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentservice-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentservice tests:", err)
		os.Exit(1)
	}
	assemblies = dir
	code := cdktest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// stackCase is one option combination of the constructs, in a stack of its
// own, synthesized once for every test that reads it (see above).
type stackCase struct {
	// name is the stack's name.
	name string
	// web returns the props of a Service with the id "Agent", or is nil.
	// It gets the stack, to import resources into it.
	web func(stack awscdk.Stack) *agentservice.Props
	// worker returns the props of a Worker with the id "Worker", or is
	// nil; web is the Service, or nil.
	worker func(stack awscdk.Stack, web *agentservice.Service) *agentservice.WorkerProps
	// packs are the cdk-nag packs applied to the construct tree.
	packs []stacktest.Pack

	done *synthesized
}

// synthesized is a stackCase after its synthesis.
type synthesized struct {
	// Stack is the case's stack, for resolving references.
	Stack awscdk.Stack
	// Web and Worker are the constructs the case made, or nil.
	Web    *agentservice.Service
	Worker *agentservice.Worker
	// Template is the synthesized template, for assertions.
	Template assertions.Template
	// Synthesized is the template file, the template as Go values, and
	// the findings of the case's packs.
	*stacktest.Synthesized
}

// cases counts the stacks synthesized, to give each its own directory.
var cases int

// synth returns the case's stack, synthesizing it on the first call.
func (c *stackCase) synth(t *testing.T) *synthesized {
	t.Helper()
	if c.done != nil {
		return c.done
	}
	cases++
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(assemblies, fmt.Sprintf("%03d-%s", cases, c.name)))})
	stack := awscdk.NewStack(app, jsii.String(c.name), nil)
	s := &synthesized{Stack: stack}
	if c.web != nil {
		s.Web = agentservice.New(stack, jsii.String("Agent"), c.web(stack))
	}
	if c.worker != nil {
		s.Worker = agentservice.NewWorker(stack, jsii.String("Worker"), c.worker(stack, s.Web))
	}
	s.Synthesized = stacktest.Synth(t, stack, c.packs...)
	s.Template = assertions.Template_FromJSON(&s.Synthesized.Template, nil)
	c.done = s
	return s
}

// webDefaults is a Service with only an image.
var webDefaults = &stackCase{
	name: "Test",
	web:  func(awscdk.Stack) *agentservice.Props { return &agentservice.Props{Image: registryImage()} },
}

// synth builds props into a fresh stack of its own and returns its
// template: for a test that changes the stack or its props, or whose
// props no other test reads. Otherwise, share a stackCase.
func synth(t *testing.T, props *agentservice.Props) (assertions.Template, *agentservice.Service) {
	t.Helper()
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Test"), nil)
	svc := agentservice.New(stack, jsii.String("Agent"), props)
	return assertions.Template_FromStack(stack, nil), svc
}

// secs is a duration of n seconds.
func secs(n float64) awscdk.Duration { return awscdk.Duration_Seconds(jsii.Number(n)) }

// registryImage keeps tests free of Docker build contexts.
func registryImage() *agentservice.Image {
	return agentservice.ImageFromRegistry("public.ecr.aws/agentcdk/agent:1.0.0")
}

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
