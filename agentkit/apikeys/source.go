package apikeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/agentcdk/agentcdk/agentkit"
)

const (
	// DefaultRefreshInterval is how often Run reads the secret when
	// Source.RefreshInterval is zero: a rotated or removed key takes
	// effect on every task within it.
	DefaultRefreshInterval = time.Minute

	// MinRefreshInterval is the shortest RefreshInterval accepted.
	MinRefreshInterval = 100 * time.Millisecond

	// FetchTimeout bounds one read of the secret, the SDK's retries
	// included.
	FetchTimeout = 10 * time.Second

	// EnvRefreshInterval names the optional environment variable that
	// FromEnv reads into Source.RefreshInterval: a Go duration of at least
	// MinRefreshInterval ("30s"). Unset, the source refreshes every
	// DefaultRefreshInterval. The construct does not set it; a shorter
	// interval costs one GetSecretValue call per task per interval.
	EnvRefreshInterval = "AGENTKIT_API_KEYS_REFRESH_INTERVAL"
)

// Client is the part of *secretsmanager.Client a Source uses.
type Client interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// A Source is an agentkit.APIKeySource that reads its key set from one
// Secrets Manager secret (see the package documentation for its format) and
// keeps it fresh while Run runs. Set its fields before calling a method;
// its methods are safe for concurrent use.
type Source struct {
	// Client reads the secret. Required.
	Client Client

	// SecretID is the secret's name or ARN. Required.
	SecretID string

	// RefreshInterval is how often Run reads the secret.
	// Default: DefaultRefreshInterval; at least MinRefreshInterval.
	RefreshInterval time.Duration

	// Logger receives the reads that fail and the sets that take effect.
	// Default: slog.Default().
	Logger *slog.Logger

	set          atomic.Pointer[agentkit.APIKeySet]
	mu           sync.Mutex    // serialises loads, so a slow one never overwrites a newer set
	version      string        // of the set in force
	fetchTimeout time.Duration // FetchTimeout when 0; tests shorten it (export_test.go)
}

// FromEnv returns a Source for the secret AGENTKIT_API_KEYS_SECRET names,
// refreshed every AGENTKIT_API_KEYS_REFRESH_INTERVAL (EnvRefreshInterval)
// when set, with a client from the default AWS configuration (in ECS, the
// task role), after a first Load. Start its refresh with `go src.Run(ctx)`.
func FromEnv(ctx context.Context) (*Source, error) {
	id := os.Getenv(agentkit.EnvAPIKeysSecret)
	if id == "" {
		return nil, fmt.Errorf("apikeys: %s is empty; set it to the name or ARN of the secret that holds the API keys", agentkit.EnvAPIKeysSecret)
	}
	var every time.Duration
	if v := os.Getenv(EnvRefreshInterval); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < MinRefreshInterval {
			return nil, fmt.Errorf("apikeys: %s %q is not a refresh interval; use a Go duration of at least %s, or leave it unset for %s", EnvRefreshInterval, v, MinRefreshInterval, DefaultRefreshInterval)
		}
		every = d
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("apikeys: load AWS configuration: %w", err)
	}
	s := &Source{Client: secretsmanager.NewFromConfig(cfg), SecretID: id, RefreshInterval: every}
	if err := s.Load(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// APIKeys returns the key set in force: the last one read and found valid,
// or nil before the first.
func (s *Source) APIKeys() *agentkit.APIKeySet { return s.set.Load() }

// Validate reports a missing or malformed field.
func (s *Source) Validate() error {
	switch {
	case s.Client == nil:
		return errors.New("apikeys: Source.Client is nil; set it to a Secrets Manager client")
	case s.SecretID == "":
		return errors.New("apikeys: Source.SecretID is empty; set it to the name or ARN of the secret that holds the API keys")
	case s.RefreshInterval != 0 && s.RefreshInterval < MinRefreshInterval:
		return fmt.Errorf("apikeys: Source.RefreshInterval %s is too short; use at least %s (0 for %s)", s.RefreshInterval, MinRefreshInterval, DefaultRefreshInterval)
	}
	return nil
}

// Load reads the secret once, within FetchTimeout, and puts its key set in
// force. On an error (the read failed, or the value is not a valid key
// set) the set in force does not change. Errors name the secret, never a
// key.
func (s *Source) Load(ctx context.Context) error {
	if err := s.Validate(); err != nil {
		return err
	}
	timeout := FetchTimeout
	if s.fetchTimeout != 0 {
		timeout = s.fetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	out, err := s.Client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.SecretID)})
	if err != nil {
		return fmt.Errorf("apikeys: read secret %s: %w", s.SecretID, err)
	}
	version := aws.ToString(out.VersionId)
	if version != "" && version == s.version && s.set.Load() != nil {
		return nil
	}
	if out.SecretString == nil {
		return fmt.Errorf("apikeys: secret %s has no string value; store a JSON object of caller names to keys", s.SecretID)
	}
	var keys map[string]string
	if json.Unmarshal([]byte(*out.SecretString), &keys) != nil {
		// The decoder's error may quote the value: it is left out.
		return fmt.Errorf("apikeys: secret %s (version %s) is not a JSON object of caller names to keys", s.SecretID, version)
	}
	set, err := agentkit.NewAPIKeySet(keys)
	if err != nil {
		return fmt.Errorf("apikeys: secret %s (version %s): %w", s.SecretID, version, err)
	}
	s.set.Store(set)
	s.version = version
	s.logger().Info("apikeys: key set in force", "secret", s.SecretID, "version", version, "callers", len(set.Callers()))
	return nil
}

// Run reads the secret every RefreshInterval until ctx ends, then returns
// nil. A read that fails is logged and leaves the last good set in force.
func (s *Source) Run(ctx context.Context) error {
	if err := s.Validate(); err != nil {
		return err
	}
	every := s.RefreshInterval
	if every == 0 {
		every = DefaultRefreshInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := s.Load(ctx); err != nil && ctx.Err() == nil {
			s.logger().Error("apikeys: refresh failed; the last good key set stays in force", "err", err)
		}
	}
}

func (s *Source) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
