package runs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// DefaultPollInterval is how often an event stream asks the store for new
// events while it has none to send.
const DefaultPollInterval = 500 * time.Millisecond

// eventPage is how many events a stream reads from the store at a time.
const eventPage = 100

// API serves the run API under /runs:
//
//	POST /runs                 the body (a JSON value of at most MaxInputBytes)
//	                           is the run's input -> 202 with the run
//	GET  /runs/{id}            -> 200 with the run
//	GET  /runs/{id}/events     -> the run's events as server-sent events
//	POST /runs/{id}/cancel     -> 202 with the run (200 when it ended at once)
//
// A run is answered as its JSON (Run's fields but Caller, Owner,
// LeaseUntil and Expires) with "urls": {"self", "events", "cancel"}.
//
// Every route answers only the caller that created the run
// (agentkit.CallerFrom; serve API behind agentkit.Server's caller check): a
// run of another caller is answered 404, as a missing one is. Without a
// caller check every caller is the same anonymous one.
//
// POST /runs with an Idempotency-Key header (1 to 255 printable ASCII
// characters) creates the run once per caller and key: a repeat answers
// 200 with the same run (422 when its body differs), and starts it again
// if it is still queued (a duplicate start is harmless: one claim wins).
// Without the header every POST is a new run. A run whose Start fails is
// answered 503 with Retry-After: with a key it stays queued, and a repeat
// starts it again; without one it ends Failed.
//
// GET /runs/{id}/events sends each event with its Seq as the SSE id, its
// Type as the event name and its Data as the data, from the one after the
// Last-Event-ID header (from the first without it), then polls the store
// every PollInterval until the run has ended and every event was sent, and
// ends with an "end" event without an id whose data is {"status": ...}.
// A client that loses the stream reconnects, to any task, with the last id
// it saw, and gets every later event once and in order. When the Server
// drains, the stream ends without "end": the client reconnects elsewhere.
// Each open stream costs the store about two reads per PollInterval while
// the run has no new event (Events, then Get).
//
// A web run (OnWeb) whose task stopped without ending it (its lease ended)
// is ended Failed, "the task running it stopped", by the first request
// that reads it; a worker run is taken over by a worker instead (see
// Executor).
type API struct {
	// Store keeps the runs. Required.
	Store Store
	// Start starts a run the API created: it sends its ID to the worker's
	// queue, or executes it in this task (see Local). Required.
	Start func(ctx context.Context, r Run) error
	// Where the runs execute: OnWorker or OnWeb. Default: OnWorker.
	Where string
	// Server streams the events (heartbeats inside the idle timeout, the
	// end at its drain). Required.
	Server *agentkit.Server
	// PollInterval is how often a stream polls the store while the run has
	// no new event. Default: DefaultPollInterval.
	PollInterval time.Duration
	// Retention is how long the store keeps a run after its creation.
	// Default: AGENTKIT_RUN_RETENTION, or agentkit.DefaultRunRetention.
	Retention time.Duration
	// Logger receives the API's errors. Default: slog.Default().
	Logger *slog.Logger

	once    sync.Once
	mux     *http.ServeMux
	initErr error
}

// Local returns an API.Start that executes each run in the Server's
// background (Server.Go) with e, so that the drain waits for it until the
// cancel point and then releases it. Start fails with agentkit.ErrDraining
// once the drain has begun.
func Local(srv *agentkit.Server, e *Executor) func(ctx context.Context, r Run) error {
	return func(_ context.Context, r Run) error {
		return srv.Go(func(ctx context.Context) error {
			err := e.Execute(ctx, r.ID)
			if errors.Is(err, ErrHeld) {
				return nil // another holder runs it
			}
			return err
		})
	}
}

func (a *API) init() error {
	a.once.Do(func() {
		switch {
		case a.Store == nil || a.Start == nil || a.Server == nil:
			a.initErr = errors.New("runs: an API needs a Store, a Start and a Server")
			return
		case a.Where == "":
			a.Where = OnWorker
		case a.Where != OnWorker && a.Where != OnWeb:
			a.initErr = fmt.Errorf("runs: API.Where %q is not %q or %q", a.Where, OnWorker, OnWeb)
			return
		}
		if a.PollInterval <= 0 {
			a.PollInterval = DefaultPollInterval
		}
		if a.Retention == 0 {
			a.Retention, a.initErr = RetentionFromEnv()
		}
		if a.Logger == nil {
			a.Logger = slog.Default()
		}
		a.mux = http.NewServeMux()
		a.mux.HandleFunc("POST /runs", a.create)
		a.mux.HandleFunc("GET /runs/{id}", a.get)
		a.mux.HandleFunc("GET /runs/{id}/events", a.events)
		a.mux.HandleFunc("POST /runs/{id}/cancel", a.cancel)
	})
	return a.initErr
}

// ServeHTTP implements http.Handler; mount it at "/runs" and "/runs/".
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := a.init(); err != nil {
		a.Logger.Error("runs: the API is misconfigured", "error", err)
		writeError(w, http.StatusInternalServerError, "the run API is misconfigured")
		return
	}
	a.mux.ServeHTTP(w, r)
}

// view is a run as the API answers it.
type view struct {
	Run
	URLs urls `json:"urls"`
}

type urls struct {
	Self   string `json:"self"`
	Events string `json:"events"`
	Cancel string `json:"cancel"`
}

func viewOf(r Run) view {
	self := "/runs/" + r.ID
	return view{Run: r, URLs: urls{Self: self, Events: self + "/events", Cancel: self + "/cancel"}}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func callerOf(r *http.Request) string {
	c, _ := agentkit.CallerFrom(r.Context())
	return c.Name
}

func (a *API) create(w http.ResponseWriter, req *http.Request) {
	key, keyed := req.Header.Get("Idempotency-Key"), len(req.Header.Values("Idempotency-Key")) > 0
	if keyed && !validKey(key) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Idempotency-Key must be 1 to %d printable ASCII characters", MaxIdempotencyKey))
		return
	}
	input, err := io.ReadAll(io.LimitReader(req.Body, MaxInputBytes+1))
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, "the request body could not be read")
		return
	case len(input) > MaxInputBytes:
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a run's input is at most %d bytes", MaxInputBytes))
		return
	case !json.Valid(input):
		writeError(w, http.StatusBadRequest, "the request body (the run's input) must be a JSON value")
		return
	}
	caller := callerOf(req)
	now := time.Now().UTC()
	run := Run{ID: NewID(), Caller: caller, Where: a.Where, Status: Queued, Input: json.RawMessage(input),
		Created: now, Expires: now.Add(a.Retention)}
	if keyed {
		run.ID = IDFor(caller, key)
	}
	ctx := req.Context()
	got, created, err := a.Store.Create(ctx, run)
	if err != nil {
		a.storeFailed(w, "create a run", err)
		return
	}
	if !created && (got.Caller != caller || !bytes.Equal(compact(got.Input), compact(run.Input))) {
		writeError(w, http.StatusUnprocessableEntity, "this Idempotency-Key was used with another request body")
		return
	}
	if created {
		if m := meter.FromContext(ctx); m != nil {
			m.RunCreated()
		}
	}
	code := http.StatusOK
	if created {
		code = http.StatusAccepted
	}
	if created || got.Status == Queued {
		if err := a.Start(ctx, got); err != nil {
			a.notStarted(w, req, got, keyed, err)
			return
		}
	}
	w.Header().Set("Location", "/runs/"+got.ID)
	writeJSON(w, code, viewOf(got))
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

// notStarted answers a run Start refused: 503, the run left queued for a
// keyed repeat, or ended Failed when no repeat can name it.
func (a *API) notStarted(w http.ResponseWriter, req *http.Request, r Run, keyed bool, err error) {
	a.Logger.Error("runs: a run could not be started", "run", r.ID, "error", err)
	if !keyed {
		a.end(req.Context(), r, Failed, "the run could not be started: "+err.Error())
	}
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "the run could not be started; retry")
}

// end ends a run the API does not hold: it claims it (a queued run, or one
// whose lease ended) and finishes it at once.
func (a *API) end(ctx context.Context, r Run, status Status, why string) (Run, bool) {
	owner := "api/" + NewID()
	now := time.Now().UTC()
	if _, err := a.Store.Claim(ctx, r.ID, owner, now, time.Minute); err != nil {
		return r, false
	}
	ended, err := a.Store.Finish(ctx, r.ID, owner, status, nil, why, now)
	if err != nil {
		return r, false
	}
	if m := meter.FromContext(ctx); m != nil {
		m.RunEnded(string(status))
	}
	return ended, true
}

func (a *API) storeFailed(w http.ResponseWriter, what string, err error) {
	a.Logger.Error("runs: store call failed", "call", what, "error", err)
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "the run store is unavailable; retry")
}

// find returns the caller's run, or answers 404 (or 503) and false.
func (a *API) find(w http.ResponseWriter, req *http.Request) (Run, bool) {
	id := req.PathValue("id")
	if !ValidID(id) {
		writeError(w, http.StatusNotFound, "no such run")
		return Run{}, false
	}
	r, err := a.Store.Get(req.Context(), id)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such run")
		return Run{}, false
	case err != nil:
		a.storeFailed(w, "read a run", err)
		return Run{}, false
	case r.Caller != callerOf(req):
		writeError(w, http.StatusNotFound, "no such run")
		return Run{}, false
	}
	return a.settleDead(req.Context(), r), true
}

// webRunStopped is the error of a web run whose task stopped under it.
const webRunStopped = "the task running it stopped"

// settleDead ends a web run whose lease ended: its task stopped.
func (a *API) settleDead(ctx context.Context, r Run) Run {
	if r.Where != OnWeb || r.Status != Running || !r.LeaseUntil.Before(time.Now()) {
		return r
	}
	if ended, ok := a.end(ctx, r, Failed, webRunStopped); ok {
		return ended
	}
	if again, err := a.Store.Get(ctx, r.ID); err == nil {
		return again
	}
	return r
}

func (a *API) get(w http.ResponseWriter, req *http.Request) {
	if r, ok := a.find(w, req); ok {
		writeJSON(w, http.StatusOK, viewOf(r))
	}
}

func (a *API) cancel(w http.ResponseWriter, req *http.Request) {
	r, ok := a.find(w, req)
	if !ok {
		return
	}
	was := r.Status
	r, err := a.Store.Cancel(req.Context(), r.ID, time.Now().UTC())
	if err != nil {
		a.storeFailed(w, "cancel a run", err)
		return
	}
	if was == Queued && r.Status == Cancelled {
		if m := meter.FromContext(req.Context()); m != nil {
			m.RunEnded(string(Cancelled))
		}
	}
	code := http.StatusAccepted
	if r.Status.Ended() {
		code = http.StatusOK
	}
	writeJSON(w, code, viewOf(r))
}

func (a *API) events(w http.ResponseWriter, req *http.Request) {
	after := int64(0)
	if v := req.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > MaxEvents {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Last-Event-ID must be an event id from 0 to %d", MaxEvents))
			return
		}
		after = n
	}
	r, ok := a.find(w, req)
	if !ok {
		return
	}
	st, err := a.Server.Stream(w, req)
	if err != nil {
		a.Logger.Error("runs: cannot stream", "error", err)
		writeError(w, http.StatusInternalServerError, "cannot stream")
		return
	}
	defer st.Close()
	ctx := req.Context()
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-st.Draining():
			return // the client resumes on another task from its last id
		case <-poll.C:
		}
		evs, err := a.Store.Events(ctx, r.ID, after, eventPage)
		if err != nil {
			a.Logger.Warn("runs: reading a run's events failed; retrying", "run", r.ID, "error", err)
			poll.Reset(a.PollInterval)
			continue
		}
		for _, ev := range evs {
			if err := st.SendID(strconv.FormatInt(ev.Seq, 10), ev.Type, ev.Data); err != nil {
				return // the client left
			}
			after = ev.Seq
		}
		if len(evs) == eventPage {
			poll.Reset(0)
			continue
		}
		if now, err := a.Store.Get(ctx, r.ID); err == nil {
			r = a.settleDead(ctx, now)
		}
		switch {
		case after < r.Events:
			poll.Reset(0) // appended since the read
		case r.Status.Ended():
			b, _ := json.Marshal(map[string]Status{"status": r.Status})
			_ = st.SendID("", "end", string(b))
			return
		default:
			poll.Reset(a.PollInterval)
		}
	}
}
