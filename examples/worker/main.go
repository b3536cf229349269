// Command worker synthesizes an agent stack for long jobs: the web agent of
// examples/basic behind its load balancer, which may enqueue jobs, and a
// queue worker (examples/worker/agent) that runs them, scaled on the
// queue's backlog per task, from zero tasks while the queue is empty.
//
// Run it from the repository root with `go run ./examples/worker`: it
// writes the cloud assembly to ./cdk.out (or to $CDK_OUTDIR, which the CDK
// CLI sets) and prints what it made on stderr. From this folder,
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
	"github.com/agentcdk/agentcdk/secrets"
)

// stack:begin

// EnvAgentQueueURL is the variable through which the web agent learns the
// URL of the worker's queue, to send it the jobs too long for a request.
const EnvAgentQueueURL = "AGENT_QUEUE_URL"

// newStack is the whole stack: everything else in this file only finds the
// sources and reports what was synthesized.
func newStack(scope constructs.Construct, id string, repoRoot string) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Description: jsii.String("An AI agent on ECS Fargate with a queue worker for long jobs (agentcdk examples/worker)"),
	})
	// Every alarm that reports a problem (a failing deployment, jobs in the
	// dead-letter queue, rejected metrics) goes to one topic that CloudWatch
	// may publish to: subscribe your pager to it.
	alarms := agentservice.NewAlarmTopic(stack, jsii.String("Alarms"), nil).Topic
	// Durable runs: one table both services share. The web agent serves
	// POST /runs and the rest of the run API, and sends each run's ID to
	// the worker's queue; the worker executes it. The table is kept at
	// `cdk destroy` (the runs are the callers' data) and empties itself as
	// runs expire (7 days).
	runs := agentservice.NewRunStore(stack, jsii.String("Runs"), nil)
	web := agentservice.New(stack, jsii.String("Agent"), &agentservice.Props{
		Image: &agentservice.Image{
			Directory: jsii.String(repoRoot),
			File:      jsii.String("examples/basic/agent/Dockerfile"),
		},
		// No ClusterName: CloudFormation names the cluster, so this stack and
		// examples/basic (whose cluster is ai-agents-prod) deploy side by
		// side in one account and Region.
		Secrets:    secrets.FromParameters("/agents/prod", 1, "OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
		AlarmTopic: alarms,
		Runs:       runs,
	})
	worker := agentservice.NewWorker(stack, jsii.String("Worker"), &agentservice.WorkerProps{
		Image: &agentservice.Image{
			Directory: jsii.String(repoRoot),
			File:      jsii.String("examples/worker/agent/Dockerfile"),
		},
		// One cluster (with its Container Insights, which the worker's
		// scaling reads) and one VPC for both services.
		Cluster: web.Cluster,
		// The example's jobs take 30 s; the scaling target follows from
		// it: floor(5 min wait × 4 jobs per task / 30 s) = 40 messages per task.
		Environment: &map[string]*string{"AGENT_SIMULATED_LATENCY": jsii.String("30s")},
		JobDuration: awscdk.Duration_Seconds(jsii.Number(30)),
		AlarmTopic:  alarms,
		Runs:        runs,
	})
	// The web agent enqueues the long jobs: it may send to the worker's
	// queue, and learns its URL from the environment.
	worker.Queue.GrantSendMessages(web.TaskDefinition.TaskRole())
	web.Container.AddEnvironment(jsii.String(EnvAgentQueueURL), worker.Queue.QueueUrl())
	return stack
}

// stack:end

func main() {
	// The report goes to stderr: the CDK CLI reads an app's stdout, and
	// `cdk synth > template.yaml` or `cdk ls` must print only what the CLI
	// prints.
	err := run(os.Stderr)
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
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
	newStack(app, "WorkerAgent", root)
	return report(w, app.Synth(nil))
}

// repoRoot finds the module root (the Docker build context: both agents
// import agentkit from this module) from the working directory upwards,
// so the app runs from the root and from this folder alike.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "examples", "worker", "agent", "Dockerfile")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find the repository root: no examples/worker/agent/Dockerfile above the working directory; run from the agentcdk repository")
		}
		dir = parent
	}
}

// report prints each stack's template path, a count of what it holds and
// the worker's scaling target.
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
		for _, target := range backlogTargets(resources) {
			fmt.Fprintf(w, "  worker scaling: %v visible messages per running task\n", target)
		}
	}
	return nil
}

// backlogTargets returns the target values of the template's
// target-tracking policies on metric math: the workers' backlog per task.
// (The web agent's concurrency policy tracks a single metric.)
func backlogTargets(resources map[string]any) []float64 {
	var out []float64
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		r, _ := resources[id].(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		cfg, _ := props["TargetTrackingScalingPolicyConfiguration"].(map[string]any)
		spec, _ := cfg["CustomizedMetricSpecification"].(map[string]any)
		if _, math := spec["Metrics"]; math {
			if v, ok := cfg["TargetValue"].(float64); ok {
				out = append(out, v)
			}
		}
	}
	return out
}
