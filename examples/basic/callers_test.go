package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/apikeys"
	"github.com/agentcdk/agentcdk/internal/mototest"
	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// refreshForTest is the key refresh the test asks of the agent, through
// its documented knob (apikeys.EnvRefreshInterval), instead of the
// minute a deployed task waits.
const refreshForTest = 200 * time.Millisecond

// agentChecksCallers is the proof that the deployed example checks
// its callers: the example agent, run with the environment its container
// gets from the template, against Secrets Manager in moto_server.
//
// What it relies on of Secrets Manager: GetSecretValue without a version
// returns AWSCURRENT
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html),
// and PutSecretValue without stages makes the new value AWSCURRENT
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html).
// moto's CloudFormation makes no AWS::SecretsManager::Secret, so the test
// makes the secret the template describes (GenerateSecretString: a JSON
// template with one generated key) through moto's Secrets Manager API,
// with GetRandomPassword and the template's own generator settings.
func agentChecksCallers(t *testing.T, s *stacktest.Synthesized) {
	// GIVEN the container's environment, read from the task definition
	env, secretRef := containerEnvironment(t, s)
	if env[agentkit.EnvAuth] != agentkit.AuthAPIKeys || secretRef == "" {
		t.Fatalf("the container's %s is %q with secret %q; want %q with the template's secret", agentkit.EnvAuth, env[agentkit.EnvAuth], secretRef, agentkit.AuthAPIKeys)
	}
	// AND Secrets Manager holding the secret the template describes
	endpoint := mototest.Start(t)
	sm := secretsmanager.NewFromConfig(mototest.Config(endpoint))
	ctx := context.Background()
	arn, caller, key := makeSecret(t, ctx, sm, s.Resources("AWS::SecretsManager::Secret")[secretRef])
	env[agentkit.EnvAPIKeysSecret] = arn

	// WHEN the example agent runs with it, pointed at the emulator
	agent := startExampleAgent(t, env, endpoint)
	base := agent.base

	// THEN /health answers 200 without a credential
	if code, _, _ := call(t, http.MethodGet, base+"/health", ""); code != http.StatusOK {
		t.Errorf("GET /health without a credential: %d, want 200", code)
	}
	// AND a run without a credential is refused with a challenge
	code, challenge, _ := call(t, http.MethodPost, base+"/run", "")
	if code != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer ") {
		t.Errorf("POST /run without a credential: %d, WWW-Authenticate %q; want 401 with a Bearer challenge", code, challenge)
	}
	// AND with a key that is not the caller's, too
	if code, _, _ := call(t, http.MethodPost, base+"/run", "not-the-owners-key-0123456789"); code != http.StatusUnauthorized {
		t.Errorf("POST /run with a bad key: %d, want 401", code)
	}
	// AND the caller's key, as the owner reads it from the secret, runs
	if code, _, body := call(t, http.MethodPost, base+"/run", key); code != http.StatusOK {
		t.Errorf("POST /run with %s's key: %d %s, want 200", caller, code, body)
	}

	// WHEN the key is rotated in the store, as the owner would, with no
	// deploy and no restart
	rotated := key[len(key)/2:] + key[:len(key)/2] + "R"
	value, _ := json.Marshal(map[string]string{caller: rotated})
	from := agent.logged()
	put := time.Now()
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(string(value))}); err != nil {
		t.Fatal(err)
	}

	// THEN the agent takes the new key set within the refresh interval
	// (the deadline allows a busy machine ten of them)
	agent.waitLog(t, from, "apikeys: key set in force", 10*refreshForTest)
	t.Logf("the rotated key set was in force %s after PutSecretValue (refresh every %s)", time.Since(put).Round(time.Millisecond), refreshForTest)
	// AND the new key runs, and the old one is refused
	if code, _, body := call(t, http.MethodPost, base+"/run", rotated); code != http.StatusOK {
		t.Errorf("POST /run with the rotated key: %d %s, want 200", code, body)
	}
	if code, _, _ := call(t, http.MethodPost, base+"/run", key); code != http.StatusUnauthorized {
		t.Errorf("POST /run with the old key after the rotation: %d, want 401", code)
	}
}

// containerEnvironment is the agent container's plain environment in the
// template, and the logical ID of the secret its AGENTKIT_API_KEYS_SECRET
// refers to; any other value that is not a literal fails the test.
func containerEnvironment(t *testing.T, s *stacktest.Synthesized) (map[string]string, string) {
	t.Helper()
	defs := s.Resources("AWS::ECS::TaskDefinition")
	if len(defs) != 1 {
		t.Fatalf("%d task definitions, want 1", len(defs))
	}
	env := map[string]string{}
	var secretRef string
	for _, def := range defs {
		containers := def["Properties"].(map[string]any)["ContainerDefinitions"].([]any)
		for _, kv := range containers[0].(map[string]any)["Environment"].([]any) {
			m := kv.(map[string]any)
			name := m["Name"].(string)
			switch v := m["Value"].(type) {
			case string:
				env[name] = v
			case map[string]any:
				ref, ok := v["Ref"].(string)
				if name != agentkit.EnvAPIKeysSecret || !ok {
					t.Fatalf("the container's %s is %v, not a literal", name, v)
				}
				secretRef = ref
			}
		}
	}
	return env, secretRef
}

// makeSecret makes, in the emulator, the secret the template's resource
// describes, and returns its ARN and the one caller and key in it.
func makeSecret(t *testing.T, ctx context.Context, sm *secretsmanager.Client, res map[string]any) (arn, caller, key string) {
	t.Helper()
	gen, _ := res["Properties"].(map[string]any)["GenerateSecretString"].(map[string]any)
	caller, _ = gen["GenerateStringKey"].(string)
	length, _ := gen["PasswordLength"].(float64)
	if gen["SecretStringTemplate"] != "{}" || caller == "" || length < float64(agentkit.MinAPIKeyLength) {
		t.Fatalf("the secret's GenerateSecretString is %v; want a {} template, a key name and a length of at least %d", gen, agentkit.MinAPIKeyLength)
	}
	pw, err := sm.GetRandomPassword(ctx, &secretsmanager.GetRandomPasswordInput{
		PasswordLength:     aws.Int64(int64(length)),
		ExcludePunctuation: aws.Bool(gen["ExcludePunctuation"] == true),
		IncludeSpace:       aws.Bool(gen["IncludeSpace"] == true),
	})
	if err != nil {
		t.Fatal(err)
	}
	key = aws.ToString(pw.RandomPassword)
	value, _ := json.Marshal(map[string]string{caller: key})
	out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("BasicAgent-APIKeys"), SecretString: aws.String(string(value))})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN), caller, key
}

// exampleAgent is the example agent running, and its log.
type exampleAgent struct {
	base string // http://127.0.0.1:port

	mu    sync.Mutex
	lines []string      // stderr
	more  chan struct{} // a line came, or the agent exited
	done  bool          // the agent exited
}

// startExampleAgent builds ./agent and runs it with env on a free loopback
// port, the AWS SDK pointed at endpoint and the key refresh at
// refreshForTest, and returns once it serves.
func startExampleAgent(t *testing.T, env map[string]string, endpoint string) *exampleAgent {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "agent")
	if out, err := exec.Command("go", "build", "-o", bin, "./agent").CombinedOutput(); err != nil {
		t.Fatalf("go build ./agent: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	env[agentkit.EnvPort] = port // the template's 8080 may be taken here
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), mototest.Env(endpoint)...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "AGENT_HOST=127.0.0.1", apikeys.EnvRefreshInterval+"="+refreshForTest.String())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &exampleAgent{base: "http://127.0.0.1:" + port, more: make(chan struct{}, 1)}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			a.add(sc.Text(), false)
		}
		cmd.Wait()
		a.add("", true)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", strings.Join(a.lines, "\n"))
		}
	})
	a.waitLog(t, 0, "agentkit: serving", 30*time.Second)
	return a
}

func (a *exampleAgent) add(line string, done bool) {
	a.mu.Lock()
	if done {
		a.done = true
	} else {
		a.lines = append(a.lines, line)
	}
	a.mu.Unlock()
	select {
	case a.more <- struct{}{}:
	default:
	}
}

// logged is how many lines the agent has logged.
func (a *exampleAgent) logged() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.lines)
}

// waitLog waits until a line after the first from lines holds text, and
// fails the test when the agent exits or within passes first.
func (a *exampleAgent) waitLog(t *testing.T, from int, text string, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		a.mu.Lock()
		for _, l := range a.lines[from:] {
			if strings.Contains(l, text) {
				a.mu.Unlock()
				return
			}
		}
		done := a.done
		a.mu.Unlock()
		if done {
			t.Fatalf("the agent exited before it logged %q", text)
		}
		select {
		case <-a.more:
		case <-timeout:
			t.Fatalf("the agent did not log %q within %s", text, within)
		}
	}
}

// call sends one request, with key as its bearer credential unless empty,
// and returns the status, the WWW-Authenticate header and the body.
func call(t *testing.T, method, url, key string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Body = io.NopCloser(strings.NewReader(`{"input": "hello"}`))
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(body)
}
