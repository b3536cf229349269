package dynamorun_test

import (
	"context"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
)

// A service that the agentservice construct deployed with Runs makes its
// store from the environment (AGENTKIT_RUNS_TABLE, AGENTKIT_RUN_RETENTION)
// and the task role's credentials.
func ExampleFromEnv() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	store, err := dynamorun.FromEnv(cfg)
	if err != nil {
		log.Fatal(err)
	}
	run, created, err := store.Create(ctx, runs.Run{
		ID: runs.NewID(), Caller: "alice", Where: runs.OnWorker, Status: runs.Queued,
		Input: []byte(`{"question":"why is the sky blue?"}`), Created: time.Now(),
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("run %s created %v", run.ID, created)
}
