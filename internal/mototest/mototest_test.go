package mototest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

func TestStartServesSQSThroughConfig(t *testing.T) {
	// GIVEN a moto_server started for this test
	endpoint := mototest.Start(t)

	// WHEN an SQS client built from Config creates a queue and lists queues
	client := sqs.NewFromConfig(mototest.Config(endpoint))
	ctx := context.Background()
	created, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("mototest")})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	listed, err := client.ListQueues(ctx, &sqs.ListQueuesInput{})
	if err != nil {
		t.Fatalf("list queues: %v", err)
	}

	// THEN the emulator on 127.0.0.1 answered with the queue it made
	if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint = %q, want http://127.0.0.1:PORT", endpoint)
	}
	if !slices.Contains(listed.QueueUrls, aws.ToString(created.QueueUrl)) {
		t.Errorf("queues = %v, want %s among them", listed.QueueUrls, aws.ToString(created.QueueUrl))
	}
}

func TestStartGivesEachCallItsOwnServer(t *testing.T) {
	// GIVEN two emulators started by one test
	a, b := mototest.Start(t), mototest.Start(t)

	// WHEN their endpoints are compared
	// THEN they listen on different ports
	if a == b {
		t.Errorf("both servers at %s", a)
	}
}

// childEnv marks the re-executed test binary that plays the child process.
const childEnv = "MOTOTEST_CHILD"

func TestEnvPointsAChildProcessAtTheEmulator(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		// The child: an ordinary SDK program that knows nothing of moto.
		cfg, err := config.LoadDefaultConfig(context.Background())
		if err != nil {
			t.Fatalf("load config: %v", err)
		}
		out, err := sqs.NewFromConfig(cfg).CreateQueue(context.Background(),
			&sqs.CreateQueueInput{QueueName: aws.String("from-child")})
		if err != nil {
			t.Fatalf("create queue: %v", err)
		}
		fmt.Println("queue:", aws.ToString(out.QueueUrl))
		return
	}

	// GIVEN a moto_server
	endpoint := mototest.Start(t)

	// WHEN this test binary runs again as a child with Env appended to
	// this process's environment, loading its SDK config from the environment
	cmd := exec.Command(os.Args[0], "-test.run=^TestEnvPointsAChildProcessAtTheEmulator$")
	cmd.Env = append(os.Environ(), append(mototest.Env(endpoint), childEnv+"=1")...)
	out, err := cmd.CombinedOutput()

	// THEN the child reached the emulator with the dummy credentials
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if want := "queue: " + endpoint + "/"; !strings.Contains(string(out), want) {
		t.Errorf("child output = %s, want a line starting %q", out, want)
	}
}
