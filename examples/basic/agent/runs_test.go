package main_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

func TestAgentRunsDurableRunsInItsOwnTaskWithoutAQueue(t *testing.T) {
	t.Parallel()
	// GIVEN the runs table (as the construct's RunStore makes it) in moto,
	// and the agent with AGENTKIT_RUNS_TABLE but no worker queue
	endpoint := mototest.Start(t)
	client := dynamodb.NewFromConfig(mototest.Config(endpoint))
	if err := mototest.CreateRunsTable(context.Background(), client, "runs"); err != nil {
		t.Fatal(err)
	}
	p := ready(t, append(mototest.Env(endpoint), agentkit.EnvRunsTable+"=runs", "AGENT_SIMULATED_LATENCY=300ms")...)
	c := newClient(t)

	// WHEN a run is posted
	code, body := do(t, c, "POST", p.base+"/runs", `{"input":"hello there"}`)
	var run struct {
		ID, Status, Where string
		URLs              struct{ Events string }
	}
	if err := json.Unmarshal([]byte(body), &run); err != nil || code != 202 || run.Where != "web" {
		t.Fatalf("POST /runs: %d %s", code, body)
	}

	// THEN its events stream one token per word of the answer, then "end"
	resp, err := c.Get(p.base + run.URLs.Events)
	if err != nil {
		t.Fatal(err)
	}
	events, _, _ := readEvents(t, resp.Body)
	resp.Body.Close()
	var tokens []string
	for _, ev := range events {
		if ev.name == "token" {
			var tok struct{ Token string }
			_ = json.Unmarshal([]byte(ev.data), &tok)
			tokens = append(tokens, tok.Token)
		}
	}
	if got := strings.Join(tokens, ""); got != "You said: hello there" || events[len(events)-1].name != "end" {
		t.Fatalf("events %+v", events)
	}
	// AND the run (ended, since its stream said so) succeeded with the
	// answer as its result
	code, body = do(t, c, "GET", p.base+"/runs/"+run.ID, "")
	if code != 200 || !strings.Contains(body, `"status":"succeeded"`) || !strings.Contains(body, `"result":{"output":"You said: hello there"}`) {
		t.Fatalf("GET: %d %s", code, body)
	}
}
