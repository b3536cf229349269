package agentkit_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

const (
	keyAlice = "alice-key-0123456789abcdef"
	keyBob   = "bob-key-0123456789abcdef00"
)

func TestAPIKeyAuthNamesTheCaller(t *testing.T) {
	// GIVEN a server whose callers hold API keys
	set, err := agentkit.NewAPIKeySet(map[string]string{"alice": keyAlice, "bob": keyBob})
	if err != nil {
		t.Fatal(err)
	}
	h := (&agentkit.Server{Auth: agentkit.APIKeyAuth(set)}).Handler(echoCaller)

	cases := []struct {
		name, auth string
		code       int
		body       string
		challenge  string
	}{
		{"alice's key", "Bearer " + keyAlice, 200, "apikeys:alice", ""},
		{"bob's key", "Bearer " + keyBob, 200, "apikeys:bob", ""},
		{"no key", "", 401, `{"error":"no bearer credential"}`, `Bearer realm="agent"`},
		{"unknown key", "Bearer " + keyAlice + "x", 401, `{"error":"unknown API key"}`, `Bearer realm="agent", error="invalid_token", error_description="unknown API key"`},
		{"a key's prefix", "Bearer " + keyAlice[:20], 401, `{"error":"unknown API key"}`, `Bearer realm="agent", error="invalid_token", error_description="unknown API key"`},
		{"key without the scheme", keyAlice, 401, `{"error":"no bearer credential"}`, `Bearer realm="agent"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// WHEN a request carries that key
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, bearer(tc.auth))

			// THEN the handler sees its caller, or it is refused with a challenge
			if rec.Code != tc.code || strings.TrimSpace(rec.Body.String()) != tc.body {
				t.Errorf("got %d %q, want %d %q", rec.Code, rec.Body, tc.code, tc.body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
		})
	}
}

func TestTwoAuthorizationHeadersAreRefused(t *testing.T) {
	// GIVEN a server with API keys
	set, _ := agentkit.NewAPIKeySet(map[string]string{"alice": keyAlice})
	h := (&agentkit.Server{Auth: agentkit.APIKeyAuth(set)}).Handler(echoCaller)

	// WHEN a request carries a bad and a good Authorization header
	r := bearer("Bearer wrong-key-0123456789")
	r.Header.Add("Authorization", "Bearer "+keyAlice)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)

	// THEN it is refused
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", rec.Code)
	}
}

func TestNewAPIKeySetRefusesBadSets(t *testing.T) {
	cases := []struct {
		name string
		keys map[string]string
		want string
	}{
		{"empty", map[string]string{}, "agentkit: API key set is empty; give at least one caller a key"},
		{"short key", map[string]string{"alice": "short"}, `agentkit: API key of caller "alice" is not 16 to 16384 printable ASCII characters without spaces`},
		{"key with a space", map[string]string{"alice": "0123456789 abcdef"}, `agentkit: API key of caller "alice" is not 16 to 16384 printable ASCII characters without spaces`},
		{"empty name", map[string]string{"": keyAlice}, `agentkit: API key caller name "" is not 1 to 128 printable ASCII characters`},
		{"name with a newline", map[string]string{"a\nb": keyAlice}, `agentkit: API key caller name "a\nb" is not 1 to 128 printable ASCII characters`},
		{"shared key", map[string]string{"alice": keyAlice, "bob": keyAlice}, `agentkit: callers "alice" and "bob" have the same API key; give each its own`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := agentkit.NewAPIKeySet(tc.keys)
			if err == nil || err.Error() != tc.want {
				t.Errorf("err %v\nwant %s", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), keyAlice) {
				t.Errorf("the error shows a key: %v", err)
			}
		})
	}
}

// sourceOf is an APIKeySource whose set a test swaps.
type sourceOf struct {
	set atomic.Pointer[agentkit.APIKeySet]
}

func (s *sourceOf) APIKeys() *agentkit.APIKeySet { return s.set.Load() }

func TestAPIKeySourceIsReadOnEveryRequest(t *testing.T) {
	// GIVEN a server whose key source has no set yet
	src := &sourceOf{}
	h := (&agentkit.Server{Auth: agentkit.APIKeyAuth(src)}).Handler(echoCaller)
	get := func(key string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, bearer("Bearer "+key))
		return rec
	}

	// WHEN a key arrives before the set THEN it is answered 503, retry
	if rec := get(keyAlice); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("no set yet: %d %v, want 503 with Retry-After", rec.Code, rec.Header())
	}

	// WHEN the source gets a set, then a rotated one, THEN each key works
	// exactly while its set is in force
	first, _ := agentkit.NewAPIKeySet(map[string]string{"alice": keyAlice})
	src.set.Store(first)
	if rec := get(keyAlice); rec.Code != 200 {
		t.Errorf("first set: %d", rec.Code)
	}
	rotated, _ := agentkit.NewAPIKeySet(map[string]string{"alice": keyBob})
	src.set.Store(rotated)
	if rec := get(keyAlice); rec.Code != 401 {
		t.Errorf("old key after rotation: %d, want 401", rec.Code)
	}
	if rec := get(keyBob); rec.Code != 200 || rec.Body.String() != "apikeys:alice" {
		t.Errorf("new key after rotation: %d %q", rec.Code, rec.Body)
	}
}

func TestHealthIsReachableWithoutCredentialAndTellsNothing(t *testing.T) {
	// GIVEN a server that checks callers, and one that does not
	set, _ := agentkit.NewAPIKeySet(map[string]string{"alice": keyAlice})
	checked := (&agentkit.Server{Auth: agentkit.APIKeyAuth(set)}).Handler(echoCaller)
	open := (&agentkit.Server{}).Handler(echoCaller)

	// WHEN the load balancer checks /health without a credential
	a, b := httptest.NewRecorder(), httptest.NewRecorder()
	checked.ServeHTTP(a, httptest.NewRequest(http.MethodGet, agentkit.HealthPath, nil))
	open.ServeHTTP(b, httptest.NewRequest(http.MethodGet, agentkit.HealthPath, nil))

	// THEN both answer 200 with the same body and no challenge
	if a.Code != 200 || a.Body.String() != b.Body.String() || a.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("checked: %d %q %v; unchecked: %q", a.Code, a.Body, a.Header(), b.Body)
	}
}

func TestNoAuthIsAnonymous(t *testing.T) {
	// GIVEN a server with the named opt-out
	h := (&agentkit.Server{Auth: agentkit.NoAuth}).Handler(echoCaller)

	// WHEN a request without credential arrives THEN it is served, anonymous
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, bearer(""))
	if rec.Code != 200 || rec.Body.String() != "anonymous" {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
}

func TestAuthFromEnvironment(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string // the start-up error; "" for none
	}{
		{"unset", map[string]string{}, ""},
		{"none", map[string]string{"AGENTKIT_AUTH": "none"}, ""},
		{"jwt", map[string]string{"AGENTKIT_AUTH": "jwt", "AGENTKIT_JWT_ISSUER": testIssuer, "AGENTKIT_JWT_JWKS_URL": "https://issuer.test/jwks", "AGENTKIT_JWT_AUDIENCE": testAudience, "AGENTKIT_JWT_REQUIRED_CLAIMS": `{"scope": "agent:run"}`}, ""},
		{"jwt without issuer", map[string]string{"AGENTKIT_AUTH": "jwt", "AGENTKIT_JWT_JWKS_URL": "https://issuer.test/jwks", "AGENTKIT_JWT_AUDIENCE": testAudience},
			`agentkit: AGENTKIT_JWT_ISSUER is empty; set it to the issuer the tokens' "iss" claim names`},
		{"jwt with http", map[string]string{"AGENTKIT_AUTH": "jwt", "AGENTKIT_JWT_ISSUER": testIssuer, "AGENTKIT_JWT_JWKS_URL": "http://issuer.test/jwks", "AGENTKIT_JWT_AUDIENCE": testAudience},
			`agentkit: AGENTKIT_JWT_JWKS_URL "http://issuer.test/jwks" is not an https:// URL; set it to the issuer's JSON Web Key Set`},
		{"jwt with claims not JSON", map[string]string{"AGENTKIT_AUTH": "jwt", "AGENTKIT_JWT_ISSUER": testIssuer, "AGENTKIT_JWT_JWKS_URL": "https://issuer.test/jwks", "AGENTKIT_JWT_AUDIENCE": testAudience, "AGENTKIT_JWT_REQUIRED_CLAIMS": "scope=agent:run"},
			`agentkit: AGENTKIT_JWT_REQUIRED_CLAIMS "scope=agent:run" is not a JSON object of claim names to strings (for example {"scope": "agent:run"}): invalid character 's' looking for beginning of value`},
		{"apikeys without Server.Auth", map[string]string{"AGENTKIT_AUTH": "apikeys"},
			`agentkit: AGENTKIT_AUTH is "apikeys" but Server.Auth is nil; a main serving API keys sets Server.Auth to agentkit.APIKeyAuth(source), the source from package agentkit/apikeys (see its example)`},
		{"unknown method", map[string]string{"AGENTKIT_AUTH": "JWT"}, `agentkit: AGENTKIT_AUTH "JWT" is not a method; use "jwt", "apikeys", "alb" or "none"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN that environment
			for _, k := range []string{"AGENTKIT_AUTH", "AGENTKIT_JWT_ISSUER", "AGENTKIT_JWT_JWKS_URL", "AGENTKIT_JWT_AUDIENCE", "AGENTKIT_JWT_REQUIRED_CLAIMS"} {
				t.Setenv(k, tc.env[k])
			}
			var logBuf bytes.Buffer
			srv := &agentkit.Server{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // serve nothing: drain at once

			// WHEN the server starts
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			err = srv.Serve(ctx, l)

			// THEN it starts, or fails at once naming the variable
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Serve: %v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("Serve: %v\nwant %s", err, tc.want)
			}
			// AND the in-memory handler never serves unchecked when the
			// configuration is bad
			if tc.want != "" {
				rec := httptest.NewRecorder()
				(&agentkit.Server{Logger: slog.New(slog.DiscardHandler)}).Handler(echoCaller).ServeHTTP(rec, bearer(""))
				if rec.Code != http.StatusInternalServerError {
					t.Errorf("Handler with a bad configuration answered %d, want 500", rec.Code)
				}
			}
		})
	}
}

func TestServingLogNamesTheMethod(t *testing.T) {
	// GIVEN a server with API keys
	set, _ := agentkit.NewAPIKeySet(map[string]string{"alice": keyAlice})
	var logBuf bytes.Buffer
	srv := &agentkit.Server{Auth: agentkit.APIKeyAuth(set), Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	// WHEN it serves THEN its start-up line says how callers are checked
	if err := srv.Serve(ctx, l); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logBuf.String(), "auth=apikeys") {
		t.Errorf("log:\n%s", logBuf.String())
	}
}

func TestRefusalsReachTheClientCountInTheMetricsAndLogNothing(t *testing.T) {
	t.Parallel()
	// GIVEN a metered server with API keys, serving on loopback
	set, _ := agentkit.NewAPIKeySet(map[string]string{"alice": keyAlice})
	var logBuf, metrics syncbuf.Buffer
	srv := &agentkit.Server{
		Auth:    agentkit.APIKeyAuth(set),
		HTTP:    &http.Server{Handler: echoCaller},
		Logger:  slog.New(slog.NewTextHandler(&logBuf, nil)),
		Metrics: &agentkit.Metrics{Service: "web", Namespace: "Test", Output: &metrics, Interval: 50 * time.Millisecond},
	}
	addr, stop := serveInProcess(t, srv)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	// WHEN clients post bodies without a key, with a wrong one and with
	// alice's, on one connection
	for _, tc := range []struct {
		auth string
		code int
	}{{"", 401}, {"Bearer wrong-key-0123456789", 401}, {"Bearer " + keyAlice, 200}, {"", 401}} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/run", strings.NewReader(`{"input": "hi"}`))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()

		// THEN each gets its answer
		if resp.StatusCode != tc.code {
			t.Errorf("auth %q: %d %s, want %d", tc.auth, resp.StatusCode, body, tc.code)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// AND the metrics count all four as requests answered, none as a 5xx
	docs := emfLines(t, metrics.String())
	if n, _ := total(docs, agentkit.MetricRequests, ""); n != 4 {
		t.Errorf("%s %v, want 4", agentkit.MetricRequests, n)
	}
	if n, _ := total(docs, agentkit.MetricServerErrors, ""); n != 0 {
		t.Errorf("%s %v, want 0", agentkit.MetricServerErrors, n)
	}
	// AND the log has no line for a refusal
	if strings.Contains(logBuf.String(), "refused") || strings.Contains(logBuf.String(), "credential") {
		t.Errorf("log:\n%s", logBuf.String())
	}
}

func TestCallerLogsItsNameAndMethodOnly(t *testing.T) {
	// GIVEN a caller with claims
	c := agentkit.Caller{Name: "user-1", Method: agentkit.AuthJWT, Claims: map[string]any{"email": "secret@example.com"}}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))

	// WHEN it is logged THEN the line has its name and method, not its claims
	log.Info("run started", "caller", c)
	if got := buf.String(); !strings.Contains(got, `"caller":{"name":"user-1","method":"jwt"}`) || strings.Contains(got, "secret@") {
		t.Errorf("log line %s", got)
	}
}

func TestContextWithCaller(t *testing.T) {
	ctx := agentkit.ContextWithCaller(context.Background(), agentkit.Caller{Name: "n", Method: "m"})
	if c, ok := agentkit.CallerFrom(ctx); !ok || c.Name != "n" {
		t.Errorf("%+v %v", c, ok)
	}
	if _, ok := agentkit.CallerFrom(context.Background()); ok {
		t.Error("a context without a caller has one")
	}
}

// An Authenticator of one's own chooses the answer by the error it wraps.
func TestCustomAuthenticatorErrors(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{agentkit.ErrNoCredential, 401},
		{agentkit.ErrBadCredential, 401},
		{agentkit.ErrForbidden, 403},
		{agentkit.ErrAuthUnavailable, 503},
		{errors.New("something else"), 401},
	}
	for _, tc := range cases {
		h := (&agentkit.Server{Auth: authFunc(func(*http.Request) (agentkit.Caller, error) { return agentkit.Caller{}, tc.err })}).Handler(echoCaller)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, bearer("Bearer x"))
		if rec.Code != tc.code {
			t.Errorf("%v: %d, want %d", tc.err, rec.Code, tc.code)
		}
		if strings.Contains(rec.Body.String(), "something else") {
			t.Errorf("the body tells the caller the authenticator's own error: %s", rec.Body)
		}
	}
}

type authFunc func(*http.Request) (agentkit.Caller, error)

func (f authFunc) Authenticate(r *http.Request) (agentkit.Caller, error) { return f(r) }
