package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
	"github.com/agentcdk/agentcdk/agentkit/sqsworker"
)

// runHandler returns the consumer's handler for durable runs (package
// agentkit/runs): each message names a run that the web agent's run API
// created in the table AGENTKIT_RUNS_TABLE names.
func runHandler(cfg aws.Config, latency time.Duration, log *slog.Logger) (sqsworker.Handler, error) {
	store, err := dynamorun.FromEnv(cfg)
	if err != nil {
		return nil, err
	}
	e := &runs.Executor{
		Store:   store,
		Handler: execute(latency, log),
		Logger:  log,
		// The run's effect, once per run whatever its deliveries: here a
		// log line; a webhook would go here.
		Ended: func(r runs.Run) {
			log.Info("run ended", "run", r.ID, "status", r.Status, "attempt", r.Attempt, "events", r.Events)
		},
	}
	return sqsworker.Runs(e), nil
}

// runInput is a run's input: {"input": "..."}, and optionally the
// simulated model's latency for this run.
type runInput struct {
	Input            string `json:"input"`
	SimulatedLatency string `json:"simulated_latency,omitempty"`
}

// execute is a run of the stand-in model: one "token" event per word of
// the answer, spread over the latency, then {"output": "..."} as the
// result. A run taken over from a worker that was killed resumes after the
// tokens already stored (r.Events).
func execute(latency time.Duration, log *slog.Logger) runs.Handler {
	return func(ctx context.Context, r runs.Run, emit runs.Emit) (json.RawMessage, error) {
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
		output := "You said: " + in.Input
		tokens := strings.SplitAfter(output, " ")
		per := latency / time.Duration(len(tokens))
		log.Info("run started", "run", r.ID, "attempt", r.Attempt, "resume_after", r.Events)
		began := time.Now()
		for _, tok := range tokens[min(int(r.Events), len(tokens)):] {
			t := time.NewTimer(per)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, context.Cause(ctx)
			}
			b, _ := json.Marshal(map[string]string{"token": tok})
			if err := emit("token", string(b)); err != nil {
				return nil, err
			}
		}
		agentkit.RecordModelCall(ctx, agentkit.ModelCall{Model: "simulated", InputTokens: len(strings.Fields(in.Input)),
			OutputTokens: len(tokens), Latency: time.Since(began)})
		b, _ := json.Marshal(map[string]string{"output": output})
		return b, nil
	}
}
