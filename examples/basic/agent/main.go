// Command agent is a runnable agent server built on agentkit: copy it as the
// start of your own. It stands in for a model call with a configurable delay,
// so it runs without any API key.
//
// Usage:
//
//	agent              serve
//	agent healthcheck  probe http://127.0.0.1:$PORT/health (or [::1]); exit 0 on 200
//
// Environment:
//
//	PORT                     port to listen on (default 8080)
//	AGENT_HOST               address to listen on (default: all interfaces;
//	                         127.0.0.1 for loopback only)
//	AGENT_SIMULATED_LATENCY  how long each run takes, a Go duration (default 0)
//	AGENTKIT_STOP_TIMEOUT    the container's stopTimeout (default 30s)
//	AGENTKIT_IDLE_TIMEOUT    the load balancer's idle timeout (default 60s)
//	AGENTKIT_REQUEST_TIMEOUT the request deadline (default none)
//	AGENTKIT_METRICS_SERVICE the service the metrics on stdout are for (default none: no metrics)
//	AGENT_MODEL              the name the stand-in model's calls are recorded under (default "simulated")
//	AGENTKIT_AUTH            how callers identify: "apikeys", "jwt" or "none" (default none; set by the construct)
//	AGENTKIT_API_KEYS_SECRET the Secrets Manager secret of the API keys, with "apikeys" (set by the construct)
//	AGENTKIT_API_KEYS_REFRESH_INTERVAL how often the keys are read again (default 1m)
//	AGENTKIT_JWT_*           the issuer, key set, audience and claims, with "jwt" (set by the construct)
//	AGENTKIT_RUNS_TABLE      the DynamoDB table of durable runs (set by the construct's RunStore);
//	                         with it the agent serves the run API under /runs
//	AGENT_QUEUE_URL          the worker's queue (examples/worker): runs execute there; without it, here
//
// Every route but /health wants the caller's credential as
// "Authorization: Bearer <key or token>" and answers 401 without one.
//
// Routes (a prompt travels only in a request body: a URL's query string is
// kept in the load balancer's access logs and the firewall's logs):
//
//	GET  /health       200 {"status":"ok"}, 503 once draining
//	POST /run          {"input": "..."} -> 200 {"output": "..."}
//	POST /run/stream   {"input": "..."} -> server-sent events
//	POST /runs, GET /runs/{id}, GET /runs/{id}/events, POST /runs/{id}/cancel
//	                   durable runs (package agentkit/runs), with AGENTKIT_RUNS_TABLE:
//	                   {"input": "..."} in, a "token" event per word, {"output": "..."} as the result
//
// A POST body may also hold "simulated_latency", a Go duration that stands
// in for a slower or faster model on that run only.
//
// A stream sends one "token" event per word, {"token": "..."}, then "done"
// with {"output": "..."}. When the process starts draining it sends
// "draining" and carries on; if the stop timeout comes too close it sends
// "error" with {"error": "agent is stopping; retry"} and ends; a run cut
// that way, or whose request body is still arriving then, gets 503 with the
// same error. A run that reaches the request deadline gets 504 with
// {"error": "the run did not finish within the request deadline; ..."},
// or, on a stream, an "error" event with it. Bad requests get 400 (413 when over 1 MiB, 408 when the body
// does not arrive within the read timeout) with {"error": "..."}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/apikeys"
)

// Environment variables of this example (agentkit's are in agentkit).
const (
	envHost    = "AGENT_HOST"
	envLatency = "AGENT_SIMULATED_LATENCY"
	envModel   = "AGENT_MODEL"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

func main() {
	switch {
	case len(os.Args) == 2 && os.Args[1] == agentkit.ProbeArg:
		os.Exit(agentkit.RunProbe())
	case len(os.Args) != 1:
		fmt.Fprintf(os.Stderr, "usage: agent [%s]\n", agentkit.ProbeArg)
		os.Exit(2)
	}
	// Hook SIGTERM first: a stop during start-up then ends ctx instead of
	// the process (agentkit's "Signals"); one SIGTERM is still one drain.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	err := run(ctx, log)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	latency, err := latencyFromEnv()
	if err != nil {
		return err
	}
	port, err := agentkit.PortFromEnv()
	if err != nil {
		return err
	}
	srv := &agentkit.Server{Logger: log}
	if os.Getenv(agentkit.EnvAuth) == agentkit.AuthAPIKeys {
		// agentkit imports no AWS SDK: main wires the key source. It reads
		// the secret once (a task that cannot fails its deployment), then
		// again every minute, so a rotated key works without a restart.
		keys, err := apikeys.FromEnv(ctx)
		if err != nil && ctx.Err() != nil {
			return nil // stopped while starting, as ListenAndServe would be
		}
		if err != nil {
			return err
		}
		go keys.Run(ctx)
		srv.Auth = agentkit.APIKeyAuth(keys)
	} // "jwt" and "none": Serve reads the environment itself
	model := os.Getenv(envModel)
	if model == "" {
		model = "simulated"
	}
	a := &agent{latency: latency, srv: srv, log: log, model: model}
	mux := a.routes()
	runsAPI, err := a.runsAPI(ctx)
	if err != nil {
		return err
	}
	if runsAPI != nil {
		mux.Handle("/runs", runsAPI)
		mux.Handle("/runs/", runsAPI)
	}
	srv.HTTP = &http.Server{
		Addr:    net.JoinHostPort(os.Getenv(envHost), strconv.Itoa(port)),
		Handler: mux,
	}
	return srv.ListenAndServe(ctx)
}

func latencyFromEnv() (time.Duration, error) {
	v := os.Getenv(envLatency)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a Go duration (for example \"2s\"): %w", envLatency, v, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s %s is negative; use 0 or more", envLatency, d)
	}
	return d, nil
}

// agent answers runs. Replace answer with your model call.
type agent struct {
	latency time.Duration
	srv     *agentkit.Server
	log     *slog.Logger
	model   string // the name its calls are recorded under
}

func (a *agent) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run", a.run)
	mux.HandleFunc("POST /run/stream", a.stream)
	return mux
}

type runRequest struct {
	Input string `json:"input"`
	// SimulatedLatency, when set, replaces AGENT_SIMULATED_LATENCY for
	// this run: the stand-in for a slower or faster model.
	SimulatedLatency string `json:"simulated_latency,omitempty"`
	latency          time.Duration
}

type runResponse struct {
	Output string `json:"output"`
}

type errorResponse struct {
	Error string `json:"error"`
}

// What a client hears when its run is cut short: by the drain (retry, the
// next task will answer) or by the request deadline (the run is too long to
// answer synchronously).
const (
	errStopping = "agent is stopping; retry"
	errDeadline = "the run did not finish within the request deadline; make it shorter, or run it on the queue worker"
)

func (a *agent) run(w http.ResponseWriter, r *http.Request) {
	req, code, err := decodeRun(w, r)
	if err != nil {
		writeJSON(w, code, errorResponse{Error: err.Error()})
		return
	}
	caller, _ := agentkit.CallerFrom(r.Context())
	a.log.Info("run started", "caller", caller, "input_bytes", len(req.Input), "stream", false)
	began := time.Now()
	err = sleep(r.Context(), a.runLatency(req), nil, nil)
	a.recordCall(r.Context(), req.Input, began, err)
	if err != nil {
		if code, msg, ok := cutShort(r.Context()); ok {
			writeJSON(w, code, errorResponse{Error: msg})
		}
		return // otherwise the client left: nobody to answer
	}
	writeJSON(w, http.StatusOK, runResponse{Output: answer(req.Input)})
}

func (a *agent) stream(w http.ResponseWriter, r *http.Request) {
	req, code, err := decodeRun(w, r)
	if err != nil {
		writeJSON(w, code, errorResponse{Error: err.Error()})
		return
	}
	caller, _ := agentkit.CallerFrom(r.Context())
	a.log.Info("run started", "caller", caller, "input_bytes", len(req.Input), "stream", true)
	st, err := a.srv.Stream(w, r)
	if err != nil {
		a.log.Error("stream", "err", err)
		return // the status is sent; nothing useful can follow
	}
	defer st.Close()

	output := answer(req.Input)
	tokens := strings.SplitAfter(output, " ")
	per := a.runLatency(req) / time.Duration(len(tokens))
	draining := st.Draining()
	began := time.Now()
	var runErr error
	defer func() { a.recordCall(r.Context(), req.Input, began, runErr) }()
	for _, tok := range tokens {
		err := sleep(r.Context(), per, draining, func() {
			draining = nil // tell the client once
			st.Send("draining", "{}")
		})
		if err != nil {
			runErr = err
			if _, msg, ok := cutShort(r.Context()); ok {
				st.Send("error", mustJSON(errorResponse{Error: msg}))
			}
			return
		}
		if st.Send("token", mustJSON(map[string]string{"token": tok})) != nil {
			return // the client left
		}
	}
	st.Send("done", mustJSON(runResponse{Output: output}))
}

// recordCall records the stand-in model's call in the metrics, as agent
// code records each call to its model: tokens (here, words) in and out,
// latency and error.
func (a *agent) recordCall(ctx context.Context, input string, began time.Time, err error) {
	agentkit.RecordModelCall(ctx, agentkit.ModelCall{
		Model:        a.model,
		InputTokens:  len(strings.Fields(input)),
		OutputTokens: len(strings.Fields(answer(input))),
		Latency:      time.Since(began),
		Err:          err,
	})
}

// runLatency is how long the stand-in model takes for req.
func (a *agent) runLatency(req runRequest) time.Duration {
	if req.SimulatedLatency != "" {
		return req.latency
	}
	return a.latency
}

// cutShort says what to tell a client whose run ended before its answer:
// the drain's cancel point (503, retry elsewhere) or the request deadline
// (504). ok is false when the client itself left.
func cutShort(ctx context.Context) (code int, msg string, ok bool) {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, agentkit.ErrDrainTimeout):
		return http.StatusServiceUnavailable, errStopping, true
	case errors.Is(cause, agentkit.ErrRequestTimeout):
		return http.StatusGatewayTimeout, errDeadline, true
	}
	return 0, "", false
}

// answer stands in for the model.
func answer(input string) string {
	return "You said: " + input
}

// sleep waits for d, the simulated model latency, or until ctx ends. If
// draining is closed first, it calls onDrain once and goes on waiting.
func sleep(ctx context.Context, d time.Duration, draining <-chan struct{}, onDrain func()) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-draining:
			draining = nil
			onDrain()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// decodeRun reads a {"input": "..."} body. It returns the HTTP status for an
// error: 503 when the drain's cancel point cut the read, 408 when the body
// did not arrive within the server's read timeout, 413 for a body over
// maxBody, 400 for anything else wrong.
func decodeRun(w http.ResponseWriter, r *http.Request) (runRequest, int, error) {
	var req runRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		code, err := bodyError(r, err)
		return req, code, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return req, http.StatusBadRequest, errors.New("request body has data after the JSON object")
		}
		code, err := bodyError(r, err)
		return req, code, err
	}
	if req.Input == "" {
		return req, http.StatusBadRequest, errors.New(`"input" is missing or empty; send {"input": "..."}`)
	}
	if v := req.SimulatedLatency; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return req, http.StatusBadRequest, fmt.Errorf(`"simulated_latency" %q is not a Go duration of 0 or more (for example "2s")`, v)
		}
		req.latency = d
	}
	return req, 0, nil
}

func bodyError(r *http.Request, err error) (int, error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(context.Cause(r.Context()), agentkit.ErrDrainTimeout):
		return http.StatusServiceUnavailable, errors.New(errStopping)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return http.StatusRequestTimeout, errors.New("request body did not arrive within the read timeout")
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("request body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, errors.New(`request body is empty; send {"input": "..."}`)
	default:
		return http.StatusBadRequest, fmt.Errorf("request body is not {\"input\": \"...\"}: %w", err)
	}
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
