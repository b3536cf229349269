package main_test

import (
	"net"
	"syscall"
	"testing"
	"time"
)

func TestAgentWithAPIKeysFailsAtStartWithoutItsSecret(t *testing.T) {
	t.Parallel()
	// GIVEN the API keys method without the secret's name
	// WHEN the agent starts
	p := startAgent(t, []string{"AGENTKIT_AUTH=apikeys", "AGENTKIT_API_KEYS_SECRET="})
	code := p.wait(10 * time.Second)

	// THEN it exits 1 at once, naming the variable: a task that cannot
	// check its callers fails its deployment instead of serving open
	want := "agent: apikeys: AGENTKIT_API_KEYS_SECRET is empty; set it to the name or ARN of the secret that holds the API keys"
	if logs := p.allLogs(); code != 1 || len(logs) != 1 || logs[0] != want {
		t.Fatalf("exit %d, stderr %q\nwant %q", code, logs, want)
	}
}

func TestAgentStoppedWhileReadingItsKeysExitsCleanly(t *testing.T) {
	t.Parallel()
	// GIVEN a Secrets Manager that takes the connection and never answers
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	// AND the agent reading its keys from it at start
	p := startAgent(t, []string{"AGENTKIT_AUTH=apikeys", "AGENTKIT_API_KEYS_SECRET=agents/prod/api-keys",
		"AWS_ENDPOINT_URL=http://" + l.Addr().String(), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"})
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not ask for its keys within 10s")
	}

	// WHEN ECS stops it then (SIGTERM)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// THEN it stops at once without serving and exits 0, as a stop during
	// start-up does without API keys
	if code := p.wait(5 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM while reading the keys, want 0; stderr %q", code, p.allLogs())
	}
}
