// Command basic synthesizes the reference agent stack: an agent service on
// ECS Fargate behind a load balancer that the internet reaches through
// CloudFront over HTTPS (docs/front.md), with its API keys from SSM
// Parameter Store. It builds its agent from this repository, so it runs only
// here; an app of your own starts from the repository's starter/ folder.
//
// Run it from the repository root with `go run ./examples/basic`: it writes
// the cloud assembly to ./cdk.out (or to $CDK_OUTDIR, which the CDK CLI
// sets) and prints what it made on stderr. From this folder,
// `npx --yes aws-cdk@2 synth` and `npx --yes aws-cdk@2 deploy` work too (see
// cdk.json).
package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/healthcheck"
	"github.com/agentcdk/agentcdk/secrets"
)

// stack:begin

// newStack is the whole reference stack: everything else in this file only
// finds the sources and reports what was synthesized.
func newStack(scope constructs.Construct, id string, repoRoot string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("An AI agent on ECS Fargate behind an Application Load Balancer (agentcdk examples/basic)"),
	})
	agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
		Image:       agentImage(repoRoot),
		ClusterName: jsii.String("ai-agents-prod"),
		Secrets:     secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
		// The agent probes itself: `/agent healthcheck` (agentkit.RunProbe).
		ContainerHealthCheck: &healthcheck.ContainerProps{},
		// Every alarm (a failing deploy, slow answers, rejected metrics)
		// goes to one topic that CloudWatch may publish to: subscribe your
		// pager to it.
		AlarmTopic: agentservice.NewAlarmTopic(stack, jsii.String("Alarms"), nil).Topic,
	})
	return stack
}

// agentImage builds the agent from agent/Dockerfile (the repository root is
// the build context), unless AGENT_IMAGE names an image to pull instead, as
// for a deploy to a local emulator, where nothing can build or push images.
func agentImage(repoRoot string) *agentservice.Image {
	if ref := os.Getenv("AGENT_IMAGE"); ref != "" {
		return agentservice.ImageFromRegistry(ref)
	}
	return &agentservice.Image{
		Directory: jsii.String(repoRoot),
		File:      jsii.String("examples/basic/agent/Dockerfile"),
	}
}

// stack:end

func main() {
	// The report goes to stderr: the CDK CLI reads an app's stdout, and
	// `cdk synth > template.yaml` or `cdk ls` must print only what the CLI
	// prints.
	err := run(os.Stderr)
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	outdir := os.Getenv("CDK_OUTDIR")
	if outdir == "" {
		outdir = "cdk.out"
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir)})
	newStack(app, "BasicAgent", root)
	return report(w, app.Synth(nil))
}

// repoRoot finds the module root (the Docker build context: the agent
// imports agentkit from this module) from the working directory upwards,
// so the app runs from the root and from this folder alike.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "examples", "basic", "agent", "Dockerfile")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the repository root: no examples/basic/agent/Dockerfile above the working directory; run from the agentcdk repository")
		}
		dir = parent
	}
}

// report prints each stack's template path and a count of what it holds.
func report(w io.Writer, asm cxapi.CloudAssembly) error {
	fmt.Fprintf(w, "cloud assembly: %s\n", *asm.Directory())
	for _, stack := range *asm.Stacks() {
		tmpl, ok := stack.Template().(map[string]any)
		if !ok {
			return fmt.Errorf("stack %s: template is not a JSON object", *stack.StackName())
		}
		resources, _ := tmpl["Resources"].(map[string]any)
		outputs, _ := tmpl["Outputs"].(map[string]any)
		fmt.Fprintf(w, "\nstack %s\n  template: %s\n  resources: %d\n", *stack.StackName(), *stack.TemplateFullPath(), len(resources))
		byType := map[string]int{}
		for _, r := range resources {
			if m, ok := r.(map[string]any); ok {
				if t, ok := m["Type"].(string); ok {
					byType[t]++
				}
			}
		}
		for _, t := range slices.Sorted(maps.Keys(byType)) {
			fmt.Fprintf(w, "    %3d  %s\n", byType[t], t)
		}
		for _, name := range slices.Sorted(maps.Keys(outputs)) {
			fmt.Fprintf(w, "  output: %s\n", name)
		}
	}
	return nil
}
