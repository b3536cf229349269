// Package astest holds what the tests of package agentservice and of
// package agentservice/scantest share: the option combinations of the
// constructs that both read (Case), each synthesized once per test
// process, and the props they are made of.
//
// # Synthesize each option combination once
//
// Every synthesis is a round of jsii calls (a quarter of a second on a
// quiet two-core machine, several on a busy one), cdk-nag and the template
// scanners cost more, and `go test ./...` must stay within two minutes
// there with no package above 45 s. So an option combination that tests
// read is declared once, as a package-level *Case, and synthesized the
// first time a test of the process asks for it; every test after reads the
// same result:
//
//	var canaryDeploy = &astest.Case{
//		Name: "Canary",
//		Web:  func(awscdk.Stack) *agentservice.Props { return astest.Shifted(awsecs.DeploymentStrategy_CANARY) },
//	}
//
//	func TestSomething(t *testing.T) {
//		s := canaryDeploy.Synth(t)
//		s.Template.HasResourceProperties(...) // assertions on the template: no second synthesis
//		s.Stack.Resolve(s.Web.TargetGroup...)  // the constructs, to resolve references
//		stacktest.CfnLint(t, s.TemplatePath)   // the template file, for the tools
//	}
//
// A case with Packs is synthesized with those cdk-nag packs applied, and
// its Findings are theirs; the packs leave the template as it is, so
// template tests may share such a case. Before declaring a case, look for
// one with the same props here.
//
// The rules that keep sharing safe:
//   - Never add constructs to a shared stack, tag it, or change its props
//     after Synth: every other test would see it. A test that does any of
//     that builds a stack of its own.
//   - Build the props inside the case's functions, never from a variable
//     a test changes.
//   - No t.Parallel() around Synth: the stacks are jsii objects.
//
// The cases live as long as the test binary; their cloud assemblies are in
// one directory that Run removes.
package astest

import (
	"fmt"
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

// A Case is one option combination of the constructs, in a stack of its
// own, synthesized once for every test that reads it.
type Case struct {
	// Name is the stack's name.
	Name string
	// Web returns the props of a Service with the id "Agent", or is nil.
	// It gets the stack, to import resources into it.
	Web func(stack awscdk.Stack) *agentservice.Props
	// Worker returns the props of a Worker with the id "Worker", or is
	// nil; web is the Service, or nil.
	Worker func(stack awscdk.Stack, web *agentservice.Service) *agentservice.WorkerProps
	// Packs are the cdk-nag packs applied to the construct tree.
	Packs []stacktest.Pack

	done *Synthesized
}

// Synthesized is a Case after its synthesis.
type Synthesized struct {
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

// assemblies holds the cloud assembly directories of the cases, and
// synthesized counts them, to give each its own directory.
var (
	assemblies  string
	synthesized int
)

// Run is the TestMain of a package that synthesizes Cases:
// os.Exit(astest.Run(m)). It runs m as cdktest.Run does and removes the
// cases' cloud assemblies.
func Run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "agentservice-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "astest:", err)
		return 1
	}
	assemblies = dir
	code := cdktest.Run(m)
	os.RemoveAll(dir)
	return code
}

// Synth returns the case's stack, synthesizing it on the first call.
func (c *Case) Synth(t *testing.T) *Synthesized {
	t.Helper()
	if c.done != nil {
		return c.done
	}
	if assemblies == "" {
		t.Fatal("astest: Case.Synth outside astest.Run; the package's TestMain is os.Exit(astest.Run(m))")
	}
	synthesized++
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(assemblies, fmt.Sprintf("%03d-%s", synthesized, c.Name)))})
	stack := awscdk.NewStack(app, jsii.String(c.Name), nil)
	s := &Synthesized{Stack: stack}
	if c.Web != nil {
		s.Web = agentservice.New(stack, jsii.String("Agent"), c.Web(stack))
	}
	if c.Worker != nil {
		s.Worker = agentservice.NewWorker(stack, jsii.String("Worker"), c.Worker(stack, s.Web))
	}
	s.Synthesized = stacktest.Synth(t, stack, c.Packs...)
	s.Template = assertions.Template_FromJSON(&s.Synthesized.Template, nil)
	c.done = s
	return s
}

// RegistryImage is the image of every case: a registry image keeps tests
// free of Docker build contexts.
func RegistryImage() *agentservice.Image {
	return agentservice.ImageFromRegistry("public.ecr.aws/agentcdk/agent:1.0.0")
}

// Defaults is a Service with only an image.
var Defaults = &Case{
	Name: "Test",
	Web:  func(awscdk.Stack) *agentservice.Props { return &agentservice.Props{Image: RegistryImage()} },
}
