package apikeys_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/apikeys"
)

// A main that serves whichever method the construct chose: with
// AGENTKIT_AUTH=apikeys it wires the Secrets Manager source (Serve cannot:
// agentkit imports no SDK); for "jwt" and "none", Server.Auth stays nil and
// Serve reads the environment itself.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &agentkit.Server{HTTP: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := agentkit.CallerFrom(r.Context())
		fmt.Fprintf(w, "hello, %s\n", caller.Name)
	})}}
	if os.Getenv(agentkit.EnvAuth) == agentkit.AuthAPIKeys {
		keys, err := apikeys.FromEnv(ctx) // reads AGENTKIT_API_KEYS_SECRET once; fails if it cannot
		if err != nil {
			log.Fatal(err)
		}
		go keys.Run(ctx) // refreshes every minute until SIGTERM
		srv.Auth = agentkit.APIKeyAuth(keys)
	}
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Fatal(err)
	}
}

// fixedSecret stands in for Secrets Manager.
type fixedSecret string

func (s fixedSecret) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(string(s)), VersionId: aws.String("v1")}, nil
}

// A Source's key set names each request's caller.
func ExampleSource() {
	src := &apikeys.Source{
		Client:   fixedSecret(`{"support-bot": "Qz9mV2x8LkP4rT7wYb3N"}`),
		SecretID: "agents/prod/api-keys",
		Logger:   slog.New(slog.DiscardHandler),
	}
	if err := src.Load(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	h := (&agentkit.Server{Auth: agentkit.APIKeyAuth(src)}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := agentkit.CallerFrom(r.Context())
		fmt.Fprintf(w, "hello, %s", caller.Name)
	}))
	for _, key := range []string{"Qz9mV2x8LkP4rT7wYb3N", "guessed-key-00000000"} {
		r := httptest.NewRequest(http.MethodPost, "/run", nil)
		r.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 hello, support-bot
	// 401 {"error":"unknown API key"}
}
