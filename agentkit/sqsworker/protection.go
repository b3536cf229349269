package sqsworker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// TaskProtection holds ECS task scale-in protection while any running job
// holds its message, so that service scale-in and deployments stop idle
// worker tasks and leave busy ones alone, and releases it when the worker is
// idle.
//
// It calls the ECS container agent's task scale-in protection endpoint,
// PUT $ECS_AGENT_URI/task-protection/v1/state with
// {"ProtectionEnabled":true,"ExpiresInMinutes":N} or {"ProtectionEnabled":false};
// the task role needs ecs:UpdateTaskProtection on its own task. Protection is
// renewed every third of Expiry while busy, and released after the worker has
// been idle for a second (so back-to-back jobs do not flip it per job).
// Failed calls are logged and retried with backoff.
//
// A job stops holding protection when its message is settled, released at
// its time limit or, if its handler ignores that, one HeartbeatInterval
// later (Consumer.JobTimeout), or lost: that is what bounds the harm of a
// job that hangs. Expiry bounds the harm of a process that stops renewing
// without releasing (SIGKILL, a crash, a frozen process): ECS drops the
// protection on its own when it expires.
//
// Protection narrows, but cannot close, the gap between ECS choosing an idle
// task to stop and that task taking a new job; the drain on SIGTERM covers it.
type TaskProtection struct {
	// AgentURI is the ECS container agent's endpoint.
	// Default: $ECS_AGENT_URI, which ECS sets in every task; when both are
	// empty (outside ECS) protection is off.
	AgentURI string

	// Expiry is how long one protection call protects the task, from one
	// minute to MaxProtectionExpiry, in whole minutes (rounded up): ECS's
	// ExpiresInMinutes takes 1 to 2,880.
	// Default: DefaultProtectionExpiry (10 minutes).
	Expiry time.Duration

	// HTTPClient calls the agent. Default: a client with a 10s timeout.
	HTTPClient *http.Client
}

// Limits of TaskProtection.Expiry.
const (
	// DefaultProtectionExpiry is the protection period asked for when
	// Expiry is zero.
	DefaultProtectionExpiry = 10 * time.Minute

	// MaxProtectionExpiry is the longest protection ECS grants (48 hours).
	MaxProtectionExpiry = 48 * time.Hour
)

const (
	envECSAgentURI        = "ECS_AGENT_URI"
	protectionPath        = "/task-protection/v1/state"
	protectionCallTimeout = 10 * time.Second
	protectionIdleDelay   = time.Second
	protectionRetryBase   = time.Second
	protectionRetryMax    = time.Minute
)

// protector keeps the task's protection in line with whether jobs run. One
// goroutine runs it; busy changes wake it.
type protector struct {
	url    string
	expiry time.Duration
	client *http.Client
	log    *slog.Logger
	wake   chan struct{}
}

// poke tells the protector that the number of running jobs changed.
func (p *protector) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run keeps protection on while busy() and off otherwise, until ctx is done;
// then it turns protection off, if it may be on, within the context final
// gives it (the drain's close point bounds it).
func (p *protector) run(ctx context.Context, busy func() bool, final func() (context.Context, context.CancelFunc)) {
	var (
		on        bool      // what the agent last confirmed
		maybeOn   bool      // an "on" was sent since the last confirmed "off"
		renewAt   time.Time // when to renew protection that is on
		idleSince time.Time // since when work has been absent while on
		retryAt   time.Time // no call before then, after a failure
		failures  int
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		now := time.Now()
		want := busy()
		if want {
			idleSince = time.Time{}
		} else if on && idleSince.IsZero() {
			idleSince = now
		}
		var next time.Time // zero: wait for a wake-up only
		switch {
		case now.Before(retryAt):
			next = retryAt
		case want && (!on || !now.Before(renewAt)), !want && on && now.Sub(idleSince) >= protectionIdleDelay:
			maybeOn = maybeOn || want
			if err := p.put(ctx, want); err != nil {
				if ctx.Err() != nil {
					break
				}
				d := backoff(failures, protectionRetryBase, protectionRetryMax)
				failures++
				retryAt = now.Add(d)
				p.log.Warn("sqsworker: task scale-in protection call failed; retrying",
					"protect", want, "error", err, "attempt", failures, "retry_in", d.String())
				continue
			}
			failures = 0
			on, maybeOn = want, want
			renewAt = now.Add(p.expiry / 3)
			p.log.Debug("sqsworker: task scale-in protection set", "protect", on)
			continue
		case want:
			next = renewAt
		case on:
			next = idleSince.Add(protectionIdleDelay)
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			if maybeOn { // an "on" cut short by the stop may have been applied
				offCtx, cancel := final()
				if err := p.put(offCtx, false); err != nil {
					p.log.Warn("sqsworker: could not release task scale-in protection at stop; it expires on its own",
						"error", err, "expires_within", p.expiry.String())
				}
				cancel()
			}
			return
		case <-p.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// protectionRequest is the body of the agent endpoint's PUT.
type protectionRequest struct {
	ProtectionEnabled bool `json:"ProtectionEnabled"`
	ExpiresInMinutes  int  `json:"ExpiresInMinutes,omitempty"`
}

// protectionResponse is the agent's answer: "protection" on success,
// "failure" (with status 200) when ECS refused, "error" with a non-2xx status.
type protectionResponse struct {
	Protection *struct {
		ProtectionEnabled bool
		ExpirationDate    string
		TaskArn           string
	} `json:"protection"`
	Failure *struct {
		Arn, Detail, Reason string
	} `json:"failure"`
	Error *struct {
		Arn, Code, Message string
	} `json:"error"`
}

// put asks the agent to turn protection on or off.
func (p *protector) put(ctx context.Context, enable bool) error {
	body := protectionRequest{ProtectionEnabled: enable}
	if enable {
		body.ExpiresInMinutes = int((p.expiry + time.Minute - 1) / time.Minute)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", p.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("read the agent's answer: %w", err)
	}
	var r protectionResponse
	jsonErr := json.Unmarshal(raw, &r)
	switch {
	case resp.StatusCode != http.StatusOK && r.Error != nil:
		return fmt.Errorf("agent answered %s: %s: %s", resp.Status, r.Error.Code, r.Error.Message)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("agent answered %s: %q", resp.Status, truncate(raw))
	case jsonErr != nil:
		return fmt.Errorf("decode the agent's answer %q: %w", truncate(raw), jsonErr)
	case r.Failure != nil:
		return fmt.Errorf("ECS refused: %s %s", r.Failure.Reason, r.Failure.Detail)
	case r.Protection == nil:
		return errors.New("agent answered without a protection state: " + truncate(raw))
	case r.Protection.ProtectionEnabled != enable:
		return fmt.Errorf("agent reports protection %t after asking for %t", r.Protection.ProtectionEnabled, enable)
	}
	return nil
}

func truncate(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
