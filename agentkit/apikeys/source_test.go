package apikeys_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/apikeys"
	"github.com/agentcdk/agentcdk/internal/faultproxy"
	"github.com/agentcdk/agentcdk/internal/mototest"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

const (
	keyOld = "old-key-0123456789abcdef"
	keyNew = "new-key-0123456789abcdef"
)

// emulator is a moto_server with one secret, and a client of it.
type emulator struct {
	endpoint string
	client   *secretsmanager.Client
	secret   string
}

func startEmulator(t *testing.T, endpoint, name, value string) *emulator {
	t.Helper()
	client := secretsmanager.NewFromConfig(mototest.Config(endpoint))
	out, err := client.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatal(err)
	}
	return &emulator{endpoint: endpoint, client: client, secret: aws.ToString(out.ARN)}
}

func (e *emulator) put(t *testing.T, value string) {
	t.Helper()
	if _, err := e.client.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(e.secret), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

// status is what a server checking keys from src answers a request with key.
func status(src agentkit.APIKeySource, key string) int {
	h := (&agentkit.Server{Auth: agentkit.APIKeyAuth(src)}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/run", nil)
	r.Header.Set("Authorization", "Bearer "+key)
	h.ServeHTTP(rec, r)
	return rec.Code
}

// waitFor polls cond every 10ms until it holds or within passes, and
// returns how long it took.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	began := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Since(began) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		<-tick.C
	}
	return time.Since(began)
}

// TestWithEmulator runs the tests that need Secrets Manager on one
// moto_server (each with a secret of its own): starting one takes seconds.
func TestWithEmulator(t *testing.T) {
	endpoint := mototest.Start(t)
	// FromEnv sets environment variables, so it runs alone, first.
	t.Run("FromEnv", func(t *testing.T) { testFromEnv(t, endpoint) })
	for name, test := range map[string]func(*testing.T, string){
		"RotatedKeyWorksWithinTheRefreshIntervalWithoutARestart": testRotatedKeyWorksWithinTheRefreshIntervalWithoutARestart,
		"BadValuesAndOutagesKeepTheLastGoodSet":                  testBadValuesAndOutagesKeepTheLastGoodSet,
		"AStalledReadIsBoundedAndKeepsTheSet":                    testAStalledReadIsBoundedAndKeepsTheSet,
		"RunLogsAFailedRefresh":                                  testRunLogsAFailedRefresh,
	} {
		t.Run(name, func(t *testing.T) { test(t, endpoint) })
	}
}

// What the tests rely on of Secrets Manager, from its API reference: a
// GetSecretValue without VersionId or VersionStage returns the AWSCURRENT
// version (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html),
// and a PutSecretValue without VersionStages moves AWSCURRENT to the new
// version (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html).
// So a rotation, by hand or by a rotation function, is seen by the next read.

func testRotatedKeyWorksWithinTheRefreshIntervalWithoutARestart(t *testing.T, endpoint string) {
	t.Parallel()
	// GIVEN a secret with one caller's key, and a source refreshing it every 500ms
	e := startEmulator(t, endpoint, "agents/rotation", `{"support-bot": "`+keyOld+`"}`)
	var log syncbuf.Buffer
	const every = 500 * time.Millisecond
	src := &apikeys.Source{Client: e.client, SecretID: e.secret, RefreshInterval: every, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	if err := src.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	if got := status(src, keyOld); got != 200 {
		t.Fatalf("old key before rotation: %d", got)
	}

	// WHEN the key is rotated in the secret
	e.put(t, `{"support-bot": "`+keyNew+`"}`)

	// THEN the new key works, and the old one is refused, within the
	// refresh interval (and the read's time), with no restart
	took := waitFor(t, every+3*time.Second, "new key accepted", func() bool { return status(src, keyNew) == 200 })
	if got := status(src, keyOld); got != 401 {
		t.Errorf("old key after rotation: %d, want 401", got)
	}
	t.Logf("rotated key accepted %s after the rotation (refresh interval %s)", took.Round(time.Millisecond), every)
	if !strings.Contains(log.String(), "apikeys: key set in force") {
		t.Errorf("log:\n%s", log.String())
	}
}

func testBadValuesAndOutagesKeepTheLastGoodSet(t *testing.T, endpoint string) {
	t.Parallel()
	// GIVEN a source that loaded a key set, through a proxy
	e := startEmulator(t, endpoint, "agents/outage", `{"support-bot": "`+keyOld+`"}`)
	proxy := faultproxy.Start(t, strings.TrimPrefix(e.endpoint, "http://"))
	client := secretsmanager.NewFromConfig(mototest.Config(proxy.URL()))
	var log syncbuf.Buffer
	src := &apikeys.Source{Client: client, SecretID: e.secret, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	if err := src.Load(context.Background()); err != nil {
		t.Fatal(err)
	}

	bad := []struct{ name, value, want string }{
		{"not JSON", "support-bot=" + keyNew, "is not a JSON object of caller names to keys"},
		{"a short key", `{"support-bot": "short"}`, `API key of caller "support-bot" is not 16 to`},
		{"empty", `{}`, "API key set is empty"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			// WHEN the secret's new value is not a valid key set
			e.put(t, tc.value)
			err := src.Load(context.Background())

			// THEN the load fails naming the secret, never the value, and
			// the old key still works
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), e.secret) {
				t.Errorf("err %v, want it to name the secret and say %q", err, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), keyNew) || strings.Contains(err.Error(), "short")) {
				t.Errorf("the error shows the value: %v", err)
			}
			if got := status(src, keyOld); got != 200 {
				t.Errorf("old key: %d", got)
			}
		})
	}

	for _, f := range []faultproxy.Fault{{Kind: faultproxy.Refuse}, {Kind: faultproxy.Reset}} {
		t.Run(f.Kind.String(), func(t *testing.T) {
			// WHEN Secrets Manager cannot be reached
			e.put(t, `{"support-bot": "`+keyNew+`"}`)
			proxy.Set(f)
			err := src.Load(context.Background())
			proxy.Set(faultproxy.Fault{})

			// THEN the load fails and the last good set stays in force
			if err == nil {
				t.Fatal("load through the fault succeeded")
			}
			if got := status(src, keyOld); got != 200 {
				t.Errorf("old key during the outage: %d", got)
			}
			e.put(t, `{"support-bot": "`+keyOld+`"}`)
		})
	}
}

func testAStalledReadIsBoundedAndKeepsTheSet(t *testing.T, endpoint string) {
	t.Parallel()
	// GIVEN a source that loaded a key set, whose reads are bounded by 1s
	// (FetchTimeout's 10s is the same bound, TestLoadIsBoundedByFetchTimeout),
	// and then Secrets Manager stalls
	const fetchTimeout = time.Second
	e := startEmulator(t, endpoint, "agents/stall", `{"support-bot": "`+keyOld+`"}`)
	proxy := faultproxy.Start(t, strings.TrimPrefix(e.endpoint, "http://"))
	src := &apikeys.Source{Client: secretsmanager.NewFromConfig(mototest.Config(proxy.URL())), SecretID: e.secret, Logger: slog.New(slog.DiscardHandler)}
	apikeys.SetFetchTimeout(src, fetchTimeout)
	if err := src.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	proxy.Set(faultproxy.Fault{Kind: faultproxy.Stall})
	defer proxy.Set(faultproxy.Fault{})

	// WHEN it reads the secret
	began := time.Now()
	err := src.Load(context.Background())

	// THEN the read gives up within its bound, and the set stays
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want a deadline", err)
	}
	if d := time.Since(began); d > fetchTimeout+2*time.Second {
		t.Errorf("read took %s, want about %s", d, fetchTimeout)
	}
	if got := status(src, keyOld); got != 200 {
		t.Errorf("old key: %d", got)
	}
}

// deadlineClient records the deadline of the context each read gets.
type deadlineClient struct{ deadline time.Time }

func (c *deadlineClient) GetSecretValue(ctx context.Context, _ *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.deadline, _ = ctx.Deadline()
	return nil, errors.New("recorded")
}

func TestLoadIsBoundedByFetchTimeout(t *testing.T) {
	t.Parallel()
	// GIVEN a source whose caller's context has no deadline
	client := &deadlineClient{}
	src := &apikeys.Source{Client: client, SecretID: "agents/deadline", Logger: slog.New(slog.DiscardHandler)}

	// WHEN it reads the secret
	began := time.Now()
	_ = src.Load(context.Background())

	// THEN the read's context ends FetchTimeout after the read began
	if d := client.deadline.Sub(began); d < apikeys.FetchTimeout || d > apikeys.FetchTimeout+time.Second {
		t.Errorf("the read's deadline is %s after it began, want %s", d, apikeys.FetchTimeout)
	}
}

func testRunLogsAFailedRefresh(t *testing.T, endpoint string) {
	t.Parallel()
	// GIVEN a running source whose secret then becomes invalid
	e := startEmulator(t, endpoint, "agents/runlog", `{"support-bot": "`+keyOld+`"}`)
	var log syncbuf.Buffer
	src := &apikeys.Source{Client: e.client, SecretID: e.secret, RefreshInterval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&log, nil))}
	if err := src.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// WHEN the secret's value is broken
	e.put(t, "{")

	// THEN the refresh says so in the log, and the old key works
	waitFor(t, 5*time.Second, "failed refresh logged", func() bool {
		return strings.Contains(log.String(), "apikeys: refresh failed; the last good key set stays in force")
	})
	if got := status(src, keyOld); got != 200 {
		t.Errorf("old key: %d", got)
	}
}

func testFromEnv(t *testing.T, endpoint string) {
	// GIVEN the environment a task gets: the secret, and the SDK pointed at
	// the emulator
	e := startEmulator(t, endpoint, "agents/env", `{"support-bot": "`+keyOld+`"}`)
	for _, kv := range mototest.Env(e.endpoint) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv(agentkit.EnvAPIKeysSecret, "agents/env")

	// WHEN main builds its source THEN the keys work at once
	src, err := apikeys.FromEnv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := status(src, keyOld); got != 200 {
		t.Errorf("key: %d", got)
	}
	if src.RefreshInterval != 0 {
		t.Errorf("RefreshInterval %s without %s, want 0 (the default)", src.RefreshInterval, apikeys.EnvRefreshInterval)
	}

	// AND AGENTKIT_API_KEYS_REFRESH_INTERVAL sets the refresh interval;
	// one that is not a duration of at least 100ms fails naming it
	t.Setenv(apikeys.EnvRefreshInterval, "250ms")
	if src, err := apikeys.FromEnv(context.Background()); err != nil || src.RefreshInterval != 250*time.Millisecond {
		t.Errorf("FromEnv with %s=250ms: RefreshInterval %v, err %v", apikeys.EnvRefreshInterval, src, err)
	}
	for _, bad := range []string{"10ms", "soon", "-1s"} {
		t.Setenv(apikeys.EnvRefreshInterval, bad)
		want := `apikeys: AGENTKIT_API_KEYS_REFRESH_INTERVAL "` + bad + `" is not a refresh interval; use a Go duration of at least 100ms, or leave it unset for 1m0s`
		if _, err := apikeys.FromEnv(context.Background()); err == nil || err.Error() != want {
			t.Errorf("FromEnv with %s=%s: %v, want %s", apikeys.EnvRefreshInterval, bad, err, want)
		}
	}
	t.Setenv(apikeys.EnvRefreshInterval, "")

	// AND without the variable, or with a secret that does not exist, it
	// fails naming it
	t.Setenv(agentkit.EnvAPIKeysSecret, "")
	if _, err := apikeys.FromEnv(context.Background()); err == nil || err.Error() != "apikeys: AGENTKIT_API_KEYS_SECRET is empty; set it to the name or ARN of the secret that holds the API keys" {
		t.Errorf("unset: %v", err)
	}
	t.Setenv(agentkit.EnvAPIKeysSecret, "agents/missing")
	if _, err := apikeys.FromEnv(context.Background()); err == nil || !strings.Contains(err.Error(), "apikeys: read secret agents/missing: ") {
		t.Errorf("missing: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src  *apikeys.Source
		want string
	}{
		{&apikeys.Source{SecretID: "s"}, "apikeys: Source.Client is nil; set it to a Secrets Manager client"},
		{&apikeys.Source{Client: &secretsmanager.Client{}}, "apikeys: Source.SecretID is empty; set it to the name or ARN of the secret that holds the API keys"},
		{&apikeys.Source{Client: &secretsmanager.Client{}, SecretID: "s", RefreshInterval: time.Millisecond}, "apikeys: Source.RefreshInterval 1ms is too short; use at least 100ms (0 for 1m0s)"},
	}
	for _, tc := range cases {
		if err := tc.src.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("err %v\nwant %s", err, tc.want)
		}
	}
}
