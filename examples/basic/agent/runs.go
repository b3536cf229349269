package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
)

// envQueueURL names the worker's queue (examples/worker sets it): with it,
// runs go to the worker; without it, they run in this task.
const envQueueURL = "AGENT_QUEUE_URL"

// runsAPI returns the durable run API (package agentkit/runs) over the
// table the construct's RunStore made, or nil when AGENTKIT_RUNS_TABLE is
// unset.
func (a *agent) runsAPI(ctx context.Context) (http.Handler, error) {
	if os.Getenv(agentkit.EnvRunsTable) == "" {
		return nil, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("runs: load AWS configuration: %w", err)
	}
	store, err := dynamorun.FromEnv(cfg)
	if err != nil {
		return nil, err
	}
	api := &runs.API{Store: store, Server: a.srv, Logger: a.log}
	if queue := os.Getenv(envQueueURL); queue != "" {
		// Long runs: the worker executes them; the queue carries the ID.
		client := sqs.NewFromConfig(cfg)
		api.Where = runs.OnWorker
		api.Start = func(ctx context.Context, r runs.Run) error {
			_, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(r.ID)})
			return err
		}
	} else {
		// Short runs: this task executes them in its background, and its
		// drain waits for them until the cancel point.
		api.Where = runs.OnWeb
		api.Start = runs.Local(a.srv, &runs.Executor{Store: store, Handler: a.execute, Logger: a.log,
			Ended: func(r runs.Run) { a.log.Info("run ended", "run", r.ID, "status", r.Status, "attempt", r.Attempt) }})
	}
	return api, nil
}

// runInput is a run's input: {"input": "..."}, and optionally the
// simulated model's latency for this run.
type runInput struct {
	Input            string `json:"input"`
	SimulatedLatency string `json:"simulated_latency,omitempty"`
}

// execute is a run of the stand-in model: one "token" event per word of
// the answer, then the answer as the result. A run taken over from a task
// that stopped resumes after the tokens it already sent.
func (a *agent) execute(ctx context.Context, r runs.Run, emit runs.Emit) (json.RawMessage, error) {
	latency, log := a.latency, a.log
	var in runInput
	if err := json.Unmarshal(r.Input, &in); err != nil || in.Input == "" {
		return nil, fmt.Errorf(`the input is not {"input": "..."}`)
	}
	if in.SimulatedLatency != "" {
		d, err := time.ParseDuration(in.SimulatedLatency)
		if err != nil || d < 0 {
			return nil, fmt.Errorf(`"simulated_latency" %q is not a Go duration of 0 or more`, in.SimulatedLatency)
		}
		latency = d
	}
	output := answer(in.Input)
	tokens := strings.SplitAfter(output, " ")
	per := latency / time.Duration(len(tokens))
	log.Info("run started", "run", r.ID, "attempt", r.Attempt, "resume_after", r.Events)
	began := time.Now()
	for _, tok := range tokens[min(int(r.Events), len(tokens)):] {
		if err := sleep(ctx, per, nil, nil); err != nil {
			return nil, err
		}
		if err := emit("token", mustJSON(map[string]string{"token": tok})); err != nil {
			return nil, err
		}
	}
	agentkit.RecordModelCall(ctx, agentkit.ModelCall{Model: "simulated", InputTokens: len(strings.Fields(in.Input)),
		OutputTokens: len(tokens), Latency: time.Since(began)})
	return json.RawMessage(mustJSON(runResponse{Output: output})), nil
}
