package sqsworker

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// settings are a Consumer's fields with the defaults applied and checked:
// the one place where defaults live.
type settings struct {
	client      Client
	queueURL    string
	handler     Handler
	concurrency int
	visibility  int32 // seconds
	heartbeat   time.Duration
	wait        int32 // seconds
	retryBase   time.Duration
	jobTimeout  time.Duration
	stop        time.Duration
	// cancelAt and closeAt are the drain's deadlines, from its start: the
	// jobs' contexts are cancelled at the first, Run returns by the second.
	cancelAt, closeAt time.Duration
	protection        *protector // nil when off
	log               *slog.Logger
	meter             *meter.Meter // nil when off
}

func (c *Consumer) settings() (*settings, error) {
	s := &settings{client: c.Client, queueURL: c.QueueURL, handler: c.Handler, log: c.Logger}
	var mc meter.Config
	if c.Metrics != nil {
		mc = meter.Config(*c.Metrics)
	}
	var err error
	if s.meter, err = meter.New(mc, false); err != nil {
		return nil, err
	}
	if s.client == nil {
		return nil, errors.New("sqsworker: Client is nil; use an *sqs.Client")
	}
	if s.queueURL == "" {
		if s.queueURL = queueURLFromEnv(); s.queueURL == "" {
			return nil, fmt.Errorf("sqsworker: QueueURL is empty and %s is not set; set either to the URL of the queue to consume", agentkit.EnvQueueURL)
		}
	}
	if s.handler == nil {
		return nil, errors.New("sqsworker: Handler is nil; set it to the function that runs a job")
	}
	if s.log == nil {
		s.log = slog.Default()
	}

	switch {
	case c.Concurrency == 0:
		n, err := concurrencyFromEnv()
		if err != nil {
			return nil, err
		}
		s.concurrency = n
	case c.Concurrency < 1 || c.Concurrency > agentkit.MaxWorkerConcurrency:
		return nil, fmt.Errorf("sqsworker: Concurrency %d is out of range; use 1 to %d", c.Concurrency, agentkit.MaxWorkerConcurrency)
	default:
		s.concurrency = c.Concurrency
	}

	vis := orDefault(c.VisibilityTimeout, agentkit.DefaultQueueVisibilityTimeout)
	if vis < time.Second || vis > MaxVisibilityTimeout || vis%time.Second != 0 {
		return nil, fmt.Errorf("sqsworker: VisibilityTimeout %s is not whole seconds from 1s to %s", c.VisibilityTimeout, MaxVisibilityTimeout)
	}
	s.visibility = int32(vis / time.Second)

	s.heartbeat = orDefault(c.HeartbeatInterval, vis/3)
	if s.heartbeat <= 0 || s.heartbeat >= vis {
		return nil, fmt.Errorf("sqsworker: HeartbeatInterval %s is out of range; use more than 0 and less than VisibilityTimeout %s", c.HeartbeatInterval, vis)
	}

	wait := orDefault(c.WaitTime, MaxWaitTime)
	if wait < time.Second || wait > MaxWaitTime || wait%time.Second != 0 {
		return nil, fmt.Errorf("sqsworker: WaitTime %s is not whole seconds from 1s to %s", c.WaitTime, MaxWaitTime)
	}
	s.wait = int32(wait / time.Second)

	s.retryBase = orDefault(c.RetryBackoff, DefaultRetryBackoff)
	if s.retryBase < 0 || s.retryBase > MaxRetryBackoff {
		return nil, fmt.Errorf("sqsworker: RetryBackoff %s is out of range; use 0 (the default, %s) to %s", c.RetryBackoff, DefaultRetryBackoff, MaxRetryBackoff)
	}

	// The job's message stays hidden past its limit for one more heartbeat
	// interval at most, which is shorter than the visibility timeout.
	maxJob := MaxVisibilityTimeout - vis
	switch {
	case c.JobTimeout == 0:
		d, err := jobTimeoutFromEnv(maxJob)
		if err != nil {
			return nil, err
		}
		s.jobTimeout = d
	case c.JobTimeout < time.Second || c.JobTimeout > maxJob:
		return nil, fmt.Errorf("sqsworker: JobTimeout %s is out of range; use 1s to %s (MaxVisibilityTimeout less VisibilityTimeout)", c.JobTimeout, maxJob)
	default:
		s.jobTimeout = c.JobTimeout
	}

	switch {
	case c.StopTimeout == 0:
		stop, err := agentkit.StopTimeoutFromEnv()
		if err != nil {
			return nil, err
		}
		s.stop = stop
	case c.StopTimeout < agentkit.MinStopTimeout || c.StopTimeout > agentkit.MaxStopTimeout:
		return nil, fmt.Errorf("sqsworker: StopTimeout %s is out of range; use %s to %s", c.StopTimeout, agentkit.MinStopTimeout, agentkit.MaxStopTimeout)
	default:
		s.stop = c.StopTimeout
	}
	s.cancelAt, s.closeAt = agentkit.DrainDeadlines(s.stop)

	p, err := c.Protection.protector(s.log)
	if err != nil {
		return nil, err
	}
	s.protection = p
	return s, nil
}

// protector resolves the protection settings; it returns nil outside ECS.
func (p TaskProtection) protector(log *slog.Logger) (*protector, error) {
	uri := p.AgentURI
	if uri == "" {
		uri = os.Getenv(envECSAgentURI)
	}
	expiry := orDefault(p.Expiry, DefaultProtectionExpiry)
	if expiry < time.Minute || expiry > MaxProtectionExpiry {
		return nil, fmt.Errorf("sqsworker: Protection.Expiry %s is out of range; use 1m0s to %s", p.Expiry, MaxProtectionExpiry)
	}
	if uri == "" {
		return nil, nil
	}
	client := p.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: protectionCallTimeout}
	}
	return &protector{
		url:    uri + protectionPath,
		expiry: expiry,
		client: client,
		log:    log,
		wake:   make(chan struct{}, 1),
	}, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
