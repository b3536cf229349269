// Command agent is the starter's agent service: an HTTP server built on
// agentkit that answers runs, streamed or not. Replace answer with your
// model call.
//
// Usage:
//
//	agent              serve on :$PORT (default 8080)
//	agent healthcheck  probe http://127.0.0.1:$PORT/health; exit 0 on 200
//
// Routes (a prompt travels only in a request body, never in the URL, which
// load balancer and firewall logs keep):
//
//	GET  /health       200 {"status":"ok"}, 503 once draining
//	POST /run          {"input": "..."} -> 200 {"output": "..."}
//	POST /run/stream   {"input": "..."} -> server-sent events: "token"
//	                   {"token": "..."} per word, then "done" {"output": "..."}
//
// A bad body gets 400 (413 over 1 MiB) with {"error": "..."}. A run cut by
// the drain or the request deadline gets 503 or 504 (an "error" event on a
// stream) with {"error": "..."}.
//
// Every route but /health wants the caller's API key as "Authorization:
// Bearer <key>" (401 without one): the construct makes a Secrets Manager
// secret of keys, {"owner": "<key>"}, named by the stack output
// APIKeysSecret, and the agent reads it again every minute, so keys added
// or rotated with `aws secretsmanager put-secret-value` work without a
// deploy (see agentcdk's docs/caller-identity.md).
//
// The CDK app gives the container MODEL_API_KEY from SSM Parameter Store;
// agentkit reads PORT, its AGENTKIT_* timings and the caller check from the
// environment the construct sets.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/apikeys"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

func main() {
	if len(os.Args) == 2 && os.Args[1] == agentkit.ProbeArg {
		os.Exit(agentkit.RunProbe()) // the container health check: no curl in distroless
	}
	// Hook SIGTERM first: a stop while the agent starts up then ends ctx,
	// and ListenAndServe returns without serving, instead of the signal
	// killing the process. One SIGTERM is still one drain.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv := &agentkit.Server{Logger: log}
	srv.HTTP = &http.Server{Handler: routes(srv, log)} // listens on :$PORT
	err := withCallers(ctx, srv)
	if err == nil {
		err = srv.ListenAndServe(ctx)
	}
	stop()
	if err != nil {
		log.Error("agent stopped", "err", err)
		os.Exit(1)
	}
}

// withCallers wires the API keys when the construct chose them
// (AGENTKIT_AUTH=apikeys, the default): agentkit imports no AWS SDK, so
// main gives it the key source, which reads the Secrets Manager secret
// once (a task that cannot fails its deployment) and then every minute, so
// a rotated key works without a restart. For "jwt" and "none", Serve reads
// the environment itself.
func withCallers(ctx context.Context, srv *agentkit.Server) error {
	if os.Getenv(agentkit.EnvAuth) != agentkit.AuthAPIKeys {
		return nil
	}
	keys, err := apikeys.FromEnv(ctx)
	if err != nil && ctx.Err() != nil {
		return nil // stopped while starting, as ListenAndServe would be
	}
	if err != nil {
		return err
	}
	go keys.Run(ctx)
	srv.Auth = agentkit.APIKeyAuth(keys)
	return nil
}

func routes(srv *agentkit.Server, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run", run)
	mux.HandleFunc("POST /run/stream", func(w http.ResponseWriter, r *http.Request) { stream(srv, log, w, r) })
	return mux
}

// answer stands in for the model: replace it with your model call, which
// should return when ctx ends (the drain or the request deadline).
func answer(ctx context.Context, input string) (string, error) {
	return "You said: " + input, ctx.Err()
}

type runRequest struct {
	Input string `json:"input"`
}

func run(w http.ResponseWriter, r *http.Request) {
	input, err := decode(w, r)
	if err == nil {
		var output string
		if output, err = answer(r.Context(), input); err == nil {
			writeJSON(w, http.StatusOK, map[string]string{"output": output})
			return
		}
	}
	code, msg := failure(r.Context(), err)
	writeJSON(w, code, map[string]string{"error": msg})
}

func stream(srv *agentkit.Server, log *slog.Logger, w http.ResponseWriter, r *http.Request) {
	input, err := decode(w, r)
	if err != nil {
		code, msg := failure(r.Context(), err)
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	st, err := srv.Stream(w, r) // heartbeats keep the load balancer's idle timeout away
	if err != nil {
		log.Error("stream", "err", err)
		return // the status is sent; nothing useful can follow
	}
	defer st.Close()
	output, err := answer(r.Context(), input)
	if err != nil {
		_, msg := failure(r.Context(), err)
		st.Send("error", mustJSON(map[string]string{"error": msg}))
		return
	}
	for _, tok := range strings.SplitAfter(output, " ") {
		if st.Send("token", mustJSON(map[string]string{"token": tok})) != nil {
			return // the client left
		}
	}
	st.Send("done", mustJSON(map[string]string{"output": output}))
}

// badRequest is a client's mistake, with the status that answers it.
type badRequest struct {
	code int
	err  error
}

func (e *badRequest) Error() string { return e.err.Error() }

// decode reads a {"input": "..."} body.
func decode(w http.ResponseWriter, r *http.Request) (string, error) {
	var req runRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case r.Context().Err() != nil:
			return "", err // the drain or the deadline cut the read: failure says which
		case errors.As(err, &tooBig):
			return "", &badRequest{http.StatusRequestEntityTooLarge, fmt.Errorf("request body is larger than %d bytes", tooBig.Limit)}
		case errors.Is(err, os.ErrDeadlineExceeded):
			return "", &badRequest{http.StatusRequestTimeout, errors.New("request body did not arrive within the read timeout")}
		}
		return "", &badRequest{http.StatusBadRequest, fmt.Errorf(`request body is not {"input": "..."}: %w`, err)}
	}
	if req.Input == "" {
		return "", &badRequest{http.StatusBadRequest, errors.New(`"input" is missing or empty; send {"input": "..."}`)}
	}
	return req.Input, nil
}

// failure is the status and message for a run that ended without its
// answer: the client's mistake, the request deadline, the drain, or the
// model's own failure (whose details stay out of the answer).
func failure(ctx context.Context, err error) (int, string) {
	var bad *badRequest
	switch cause := context.Cause(ctx); {
	case errors.As(err, &bad):
		return bad.code, bad.Error()
	case errors.Is(cause, agentkit.ErrRequestTimeout):
		return http.StatusGatewayTimeout, "the run did not finish within the request deadline"
	case errors.Is(cause, agentkit.ErrDrainTimeout):
		return http.StatusServiceUnavailable, "agent is stopping; retry"
	}
	return http.StatusBadGateway, "the model call failed"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append([]byte(mustJSON(v)), '\n'))
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // only strings go in: cannot happen
		panic(fmt.Sprintf("agent: encode %T: %v", v, err))
	}
	return string(b)
}
