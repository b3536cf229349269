package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

// motoStartTimeout bounds the wait for moto_server to answer; a cold
// Python start takes about a second on a loaded two-core machine.
const motoStartTimeout = 30 * time.Second

// moto is a moto_server child process. mototest.Start does the same for a
// test; a program has no testing.TB to hang the cleanup on.
type moto struct {
	endpoint string // http://127.0.0.1:PORT
	cmd      *exec.Cmd
	exited   chan struct{}
	out      *headBuffer
}

// findMoto looks moto_server up on PATH.
func findMoto() (string, error) {
	bin, err := exec.LookPath(mototest.Binary)
	if err != nil {
		return "", fmt.Errorf("%s is not on PATH; install it with pip install 'moto[server]', or run -part web: %w", mototest.Binary, err)
	}
	return bin, nil
}

// startMoto starts bin, moto_server, on a free port of 127.0.0.1 and waits
// until it answers. The port is found by binding and releasing it, so a
// failed start is retried on a new port.
func startMoto(ctx context.Context, bin string) (*moto, error) {
	var lastErr error
	for range 3 {
		m, err := tryMoto(ctx, bin)
		if err == nil {
			return m, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryMoto(ctx context.Context, bin string) (*moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &moto{
		endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		exited:   make(chan struct{}),
		out:      &headBuffer{max: 16 << 10},
	}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	// Its own process group, so that stopping it reaches whatever the
	// pyenv shim or Python forks.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		_ = m.cmd.Wait()
		close(m.exited)
	}()
	if err := m.waitReady(ctx); err != nil {
		m.stop()
		return nil, fmt.Errorf("%s on port %d: %w; its output:\n%s", bin, port, err, m.out.String())
	}
	return m, nil
}

func (m *moto) waitReady(ctx context.Context) error {
	// No keep-alive: no idle connection, and no goroutine, outlives the wait.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ready := func() bool {
		resp, err := client.Get(m.endpoint + "/moto-api/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}
	exited := func() bool {
		select {
		case <-m.exited:
			return true
		default:
			return false
		}
	}
	if !waitFor(ctx, motoStartTimeout, func() bool { return exited() || ready() }) {
		return fmt.Errorf("did not answer within %s", motoStartTimeout)
	}
	if exited() {
		return errors.New("exited before answering")
	}
	return nil
}

// stop ends the process group with SIGTERM, then SIGKILL, and waits.
func (m *moto) stop() {
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.exited
	}
}

// headBuffer keeps the first max bytes written to it: enough to say why a
// server did not start, without growing for as long as it runs.
type headBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *headBuffer) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.b)
}

// queuePair is a job queue and its dead-letter queue.
type queuePair struct {
	url, dlq string
}

// createQueues makes name and name-dlq as the worker construct does: a 60s
// visibility timeout and a redrive to the dead-letter queue after five
// receives.
func createQueues(ctx context.Context, client *sqs.Client, name string) (queuePair, error) {
	d, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		return queuePair{}, fmt.Errorf("create queue %s-dlq: %w", name, err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: d.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return queuePair{}, fmt.Errorf("get the ARN of %s-dlq: %w", name, err)
	}
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(name),
		Attributes: map[string]string{
			string(types.QueueAttributeNameVisibilityTimeout): "60",
			string(types.QueueAttributeNameRedrivePolicy): fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"5"}`,
				attrs.Attributes[string(types.QueueAttributeNameQueueArn)]),
		},
	})
	if err != nil {
		return queuePair{}, fmt.Errorf("create queue %s: %w", name, err)
	}
	return queuePair{url: aws.ToString(q.QueueUrl), dlq: aws.ToString(d.QueueUrl)}, nil
}

// sendJobs sends n jobs, ten per call, and returns their message IDs.
func sendJobs(ctx context.Context, client *sqs.Client, queue string, n int) ([]string, error) {
	var ids []string
	for first := 0; first < n; first += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i := first; i < min(first+10, n); i++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(fmt.Sprintf(`{"job":%d}`, i)),
			})
		}
		out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries})
		if err != nil {
			return nil, fmt.Errorf("send jobs %d to %d: %w", first, first+len(entries)-1, err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return nil, fmt.Errorf("send jobs %d to %d: %d failed, the first with %s: %s",
				first, first+len(entries)-1, len(out.Failed), aws.ToString(f.Code), aws.ToString(f.Message))
		}
		for _, s := range out.Successful {
			ids = append(ids, aws.ToString(s.MessageId))
		}
	}
	return ids, nil
}

// messagesIn returns how many messages queue holds, visible, in flight or
// delayed.
func messagesIn(ctx context.Context, client *sqs.Client, queue string) (int, error) {
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return 0, fmt.Errorf("count the messages in %s: %w", queue, err)
	}
	n := 0
	for name, v := range out.Attributes {
		i, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("count the messages in %s: %s is %q, not a number", queue, name, v)
		}
		n += i
	}
	return n, nil
}
