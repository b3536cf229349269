package agentkit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// The whole runtime half of an agent: health, the SIGTERM drain, the
// container probe. The signal hook comes first in main, so that a SIGTERM
// during start-up ends the process cleanly; one SIGTERM is one drain, the
// context and Serve both seeing it. Serve returns once the drain is over.
func ExampleServer() {
	if len(os.Args) == 2 && os.Args[1] == agentkit.ProbeArg {
		os.Exit(agentkit.RunProbe())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"output":"..."}`)
	})
	srv := &agentkit.Server{HTTP: &http.Server{Handler: mux}}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}

// Serve drains when its context ends, as it does on SIGTERM.
func ExampleServer_Serve() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &agentkit.Server{Logger: quiet}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()

	resp, err := http.Get("http://" + l.Addr().String() + agentkit.HealthPath)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	fmt.Print(resp.StatusCode, " ", string(body))

	stop()
	fmt.Println("serve returned:", <-done)
	// Output:
	// 200 {"status":"ok"}
	// serve returned: <nil>
}

// A background job outlives its request; the drain waits for it, and no new
// job starts once the drain has begun.
func ExampleServer_Go() {
	srv := &agentkit.Server{Logger: quiet}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()

	finished := false
	err = srv.Go(func(ctx context.Context) error {
		time.Sleep(50 * time.Millisecond) // an agent run
		finished = true
		return nil
	})
	fmt.Println("started:", err)

	stop()
	<-srv.Draining()
	err = srv.Go(func(context.Context) error { return nil })
	fmt.Println("refused:", errors.Is(err, agentkit.ErrDraining))
	fmt.Println("serve returned:", <-done)
	fmt.Println("job finished first:", finished)
	// Output:
	// started: <nil>
	// refused: true
	// serve returned: <nil>
	// job finished first: true
}

// Stream sends server-sent events, with heartbeats in between.
func ExampleServer_Stream() {
	var srv agentkit.Server
	handler := func(w http.ResponseWriter, r *http.Request) {
		st, err := srv.Stream(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer st.Close()
		for _, tok := range []string{"Hello", " world"} {
			select {
			case <-r.Context().Done(): // the client left, or the drain cancelled it
				st.Send("error", "agent stopping; retry")
				return
			default:
				st.Send("token", tok)
			}
		}
		st.Send("done", `{"output":"Hello world"}`)
	}

	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest("GET", "/run/stream", nil))
	fmt.Println(rec.Header().Get("Content-Type"))
	fmt.Print(rec.Body.String())
	// Output:
	// text/event-stream
	// event: token
	// data: Hello
	//
	// event: token
	// data:  world
	//
	// event: done
	// data: {"output":"Hello world"}
}

// A failing dependency shared by every task is reported, not fatal: the
// answer stays 200 so ECS does not replace healthy tasks.
func ExampleHealth() {
	h := &agentkit.Health{Logger: quiet, Checks: []agentkit.Check{
		{Name: "queue", Run: func(ctx context.Context) error { return nil }},
		{Name: "llm", NonCritical: true, Run: func(ctx context.Context) error {
			return errors.New("api.example.com: 529 overloaded")
		}},
	}}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", agentkit.HealthPath, nil))
	fmt.Print(rec.Code, " ", rec.Body.String())

	h.SetDraining()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", agentkit.HealthPath, nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 {"status":"degraded","checks":{"llm":{"status":"fail","critical":false},"queue":{"status":"ok","critical":true}}}
	// 503 {"status":"draining"}
}

func ExampleDrainDeadlines() {
	for _, stop := range []time.Duration{2 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second} {
		cancelAt, closeAt := agentkit.DrainDeadlines(stop)
		fmt.Printf("stop timeout %4s: cancel at %5s, close at %4s\n", stop, cancelAt, closeAt)
	}
	// Output:
	// stop timeout   2s: cancel at 500ms, close at   1s
	// stop timeout  30s: cancel at   24s, close at  27s
	// stop timeout 1m0s: cancel at   50s, close at  55s
	// stop timeout 2m0s: cancel at 1m50s, close at 1m55s
}

func ExampleProbe() {
	ts := httptest.NewServer(&agentkit.Health{})
	defer ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), agentkit.ProbeTimeout)
	defer cancel()
	fmt.Println(agentkit.Probe(ctx, ts.URL+agentkit.HealthPath))
	// Output:
	// <nil>
}

// The Model value of a model name: valid names stay, blank ones are
// "other", and others are made valid CloudWatch dimension values.
func ExampleModelDimension() {
	for _, name := range []string{"claude-sonnet-4-5", "gpt-4o\n", "", "modèle", strings.Repeat("x", 300)} {
		v := agentkit.ModelDimension(name)
		fmt.Printf("%.20q -> %.20q (%d characters)\n", name, v, len(v))
	}
	// Output:
	// "claude-sonnet-4-5" -> "claude-sonnet-4-5" (17 characters)
	// "gpt-4o\n" -> "gpt-4o" (6 characters)
	// "" -> "other" (5 characters)
	// "modèle" -> "mod_le~209b459b" (15 characters)
	// "xxxxxxxxxxxxxxxxxxxx" -> "xxxxxxxxxxxxxxxxxxxx" (255 characters)
}

// A handler learns who called from its request's context; a request
// without a valid credential never reaches it, and /health needs none.
func ExampleCallerFrom() {
	keys, err := agentkit.NewAPIKeySet(map[string]string{"billing-batch": "k3Yq7PzR9mW2xT4v"})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := &agentkit.Server{Auth: agentkit.APIKeyAuth(keys)}
	h := srv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := agentkit.CallerFrom(r.Context())
		fmt.Fprintf(w, "run for %s (%s)", caller.Name, caller.Method)
	}))
	for _, auth := range []string{"Bearer k3Yq7PzR9mW2xT4v", ""} {
		r := httptest.NewRequest(http.MethodPost, "/run", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, agentkit.HealthPath, nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 200  run for billing-batch (apikeys)
	// 401 Bearer realm="agent" {"error":"no bearer credential"}
	//
	// 200 {"status":"ok"}
}

// A JWTVerifier from the user's identity provider, as the construct
// configures it through AGENTKIT_AUTH=jwt and the AGENTKIT_JWT_* variables.
func ExampleJWTVerifier() {
	srv := &agentkit.Server{Auth: &agentkit.JWTVerifier{
		Issuer:         "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE",
		JWKSURL:        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE/.well-known/jwks.json",
		Audience:       "agent-api",
		RequiredClaims: map[string]string{"scope": "agent:run"},
	}}
	_ = srv // srv.ListenAndServe(ctx) checks every token before the handler
}
