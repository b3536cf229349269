package agentkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
	"github.com/agentcdk/agentcdk/agentkit/internal/stopsignal"
)

// ErrDraining is returned by Server.Go once the drain has begun: the process
// is stopping and takes no new work.
var ErrDraining = errors.New("agentkit: draining; no new jobs accepted")

// ErrDrainTimeout is the cause (see context.Cause) of the request and job
// contexts the drain cancels shortly before the stop timeout. The error Serve
// returns when work was still running at the drain deadline wraps it.
var ErrDrainTimeout = errors.New("agentkit: stop timeout near; work cancelled")

// DefaultReadHeaderTimeout is the http.Server.ReadHeaderTimeout Serve sets
// when the caller left it zero: a client gets that long to send its request
// headers, which stops slow-header attacks without limiting long requests.
const DefaultReadHeaderTimeout = 10 * time.Second

// DefaultReadTimeout is the http.Server.ReadTimeout Serve sets when the
// caller left it zero: a client gets that long to send its whole request,
// headers and body. It is ample for a prompt of several megabytes over a slow
// link, and it stops a client that trickles its body from holding a handler
// (and the drain) for ever. A handler that accepts larger uploads extends its
// own deadline with http.ResponseController.SetReadDeadline. It bounds only
// the reading: a handler may take as long as it needs to answer.
const DefaultReadTimeout = 60 * time.Second

// A Server runs an HTTP server until the process is told to stop, then drains
// it within the container's stop timeout. It also answers HealthPath, tracks
// the requests in flight and the background jobs started with Go, caps the
// requests in flight and the size of their bodies (see "Admission" in the
// package documentation), and makes server-sent event streams with Stream.
//
// The zero value is ready to use: it serves http.DefaultServeMux on
// ":$PORT" with a Health that has no checks, and reads its timings from
// the environment. Set the fields before calling any method; do not change
// them afterwards. A Server serves once.
type Server struct {
	// HTTP is the server to run. Serve changes it as its doc comment says.
	// Default: a new http.Server with no fields set.
	HTTP *http.Server

	// Health answers HealthPath, before HTTP.Handler sees the request.
	// Default: a Health with no checks (200 while serving, 503 draining).
	Health *Health

	// StopTimeout is the container's stopTimeout, from which the drain
	// deadlines come (see DrainDeadlines).
	// Default: AGENTKIT_STOP_TIMEOUT, or DefaultStopTimeout when unset.
	StopTimeout time.Duration

	// IdleTimeout is the load balancer's idle timeout, from which the
	// server's keep-alive idle timeout and the stream heartbeats come.
	// Default: AGENTKIT_IDLE_TIMEOUT, or DefaultIdleTimeout when unset.
	IdleTimeout time.Duration

	// RequestTimeout is the request deadline: the longest a request (a
	// stream included) may run. Each request's context ends at it with the
	// cause ErrRequestTimeout; a handler that does not answer within
	// RequestTimeoutGrace after that is answered for (see "The request
	// deadline" in the package documentation). Health probes are exempt.
	// A handler under a deadline runs in a goroutine of its own, which also
	// lets the drain answer 503 for it at its close point rather than cut
	// its connection (see "The drain").
	// Default: AGENTKIT_REQUEST_TIMEOUT, or no deadline when unset.
	RequestTimeout time.Duration

	// CloseDelay is how long the listener keeps accepting connections
	// after the drain begins, answering 503 on HealthPath, so that a load
	// balancer that has not yet stopped routing to this process sees it
	// fail and moves on. It must end before the cancel point.
	// Default: 0, the listener closes at once: ECS deregisters a task
	// from its target groups and waits out the deregistration delay
	// before it sends SIGTERM, so no new request is on its way.
	CloseDelay time.Duration

	// Metrics configures the CloudWatch metrics Serve writes: requests,
	// concurrency, latency, jobs and model calls (see "Metrics" in the
	// package documentation).
	// Default: from the environment; none unless AGENTKIT_METRICS_SERVICE
	// is set.
	Metrics *Metrics

	// MaxInFlight is the most requests the Server serves at once, health
	// probes excepted; one beyond it waits up to AdmissionWait for a slot,
	// then is answered 503 with Retry-After (see "Admission" in the package
	// documentation). A negative value means no cap, whatever the
	// environment says.
	// Default: AGENTKIT_MAX_IN_FLIGHT, or no cap when it is unset or 0
	// (the construct always sets it).
	MaxInFlight int

	// AdmissionWait is how long a request beyond MaxInFlight waits for a
	// slot before it is refused, at most MaxAdmissionWait. A negative value
	// means no wait: refused at once.
	// Default: DefaultAdmissionWait (50ms).
	AdmissionWait time.Duration

	// MaxRequestBytes is the largest request body accepted, in bytes, at
	// most MaxRequestBytesLimit: a larger one is answered 413 (see
	// "Admission" in the package documentation). A negative value means no
	// limit.
	// Default: AGENTKIT_MAX_REQUEST_BYTES, or DefaultMaxRequestBytes (1 MiB).
	MaxRequestBytes int64

	// Logger receives the drain's progress, the errors of jobs, the panics
	// of handlers, jobs and checks, and net/http's own error log.
	// Default: slog.Default().
	Logger *slog.Logger

	// Auth checks every request's credential before the handler sees it
	// (HealthPath excepted) and puts the caller in its context (see
	// CallerFrom and "Caller identity" in the package documentation):
	// a JWTVerifier, APIKeyAuth(source), NoAuth, or one of your own.
	// Default: what AGENTKIT_AUTH names: a JWTVerifier from the
	// AGENTKIT_JWT_* variables for "jwt"; no check for "none" or when it
	// is unset; for "apikeys", Serve refuses to start, since the key
	// source lives in package agentkit/apikeys and main must set Auth.
	Auth Authenticator

	// Budget is a spend budget per caller per window: a caller that has
	// spent it is answered 429 with Retry-After until its window ends
	// (see "Caller budget" in the package documentation). A Budget with
	// both amounts zero means none, whatever the environment says.
	// Default: from AGENTKIT_CALLER_BUDGET_USD, _TOKENS and _WINDOW (see
	// BudgetFromEnv); no budget when neither amount is set.
	Budget *Budget

	now func() time.Time // the budget's clock; nil: time.Now (tests set it)

	inflight      atomic.Int64 // requests being served, health probes excluded
	underDeadline atomic.Int64 // of those, the ones under a request deadline
	drainCut      atomic.Int64 // requests and jobs the drain cut, for the metrics

	connMu sync.Mutex
	conns  map[net.Conn]connState // open, not hijacked

	mu        sync.Mutex
	ready     bool // the fields below the mutex are initialised
	served    bool
	draining  bool
	drainCh   chan struct{}
	closing   chan struct{} // closed at the drain's close point
	jobs      int
	jobsIdle  chan struct{} // made when the drain begins; closed once jobs is 0
	jobCtx    context.Context
	jobCancel context.CancelCauseFunc
	reqCtx    context.Context // parent of every request context
	reqCancel context.CancelCauseFunc
	health    *Health
	meter     *meter.Meter // nil: no metrics
	adm       *admission   // nil: no cap
	ledger    *ledger      // nil: no caller budget
}

// timing is a Server's resolved configuration.
type timing struct {
	stop, idle, request, cancelAt, closeAt time.Duration
	meter                                  *meter.Meter  // nil: no metrics
	auth                                   Authenticator // nil: no check
	authMethod                             string
	ledger                                 *ledger // nil: no caller budget
	limits
}

// limits are a Server's resolved admission settings.
type limits struct {
	maxInFlight int           // 0: no cap
	wait        time.Duration // 0: refuse at once
	maxBody     int64         // 0: no limit
}

// ListenAndServe listens on HTTP.Addr, or on ":$PORT" (PortFromEnv) when
// it is empty, and serves as Serve does. A malformed PORT,
// AGENTKIT_STOP_TIMEOUT, AGENTKIT_IDLE_TIMEOUT, AGENTKIT_REQUEST_TIMEOUT,
// AGENTKIT_MAX_IN_FLIGHT, AGENTKIT_MAX_REQUEST_BYTES or
// AGENTKIT_CALLER_BUDGET_*, or an invalid field, is reported before it
// listens. It handles SIGTERM
// and SIGINT from before it listens; when ctx is already done (the program
// was told to stop while it started), it returns nil without listening.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if _, err := s.timing(); err != nil {
		return err
	}
	addr := ""
	if s.HTTP != nil {
		addr = s.HTTP.Addr
	}
	if addr == "" {
		port, err := PortFromEnv()
		if err != nil {
			return err
		}
		addr = ":" + strconv.Itoa(port)
	}
	stop := stopsignal.Watch(ctx)
	if stop.Context().Err() != nil {
		s.logger().Info("agentkit: stopped before serving", "reason", stop.Reason())
		stop.Release()
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		stop.Release()
		return fmt.Errorf("agentkit: listen on %s: %w", addr, err)
	}
	return s.serve(l, stop)
}

// Serve serves HTTP on l until SIGTERM or SIGINT arrives or ctx is done, then
// drains as the package documentation's "The drain" says, and returns. It
// always closes l. It handles SIGTERM and SIGINT (signal.Notify) only while
// it runs. A ctx from signal.NotifyContext is fine: one SIGTERM that ends
// ctx and reaches Serve too is one reason to stop, not two (see "Signals"
// in the package documentation).
//
// Serve returns nil as soon as every request, job and connection has ended,
// however early; an error wrapping ErrDrainTimeout when it had to close
// requests or abandon jobs at the drain deadline (those under a request
// deadline are answered 503 first); and an error at once when a second
// signal arrives during the drain (it then stops handling the signals, so
// that, unless the program handles them itself, a third kills the
// process).
//
// Serve changes HTTP before serving: it wraps Handler with s.Handler (health,
// request tracking and admission), BaseContext so the drain can cancel request
// contexts, and ConnState so the drain sees every connection (the wrappers
// call the caller's functions); it sets ReadHeaderTimeout to
// DefaultReadHeaderTimeout, ReadTimeout to DefaultReadTimeout and
// IdleTimeout to IdleTimeout + IdleTimeoutMargin when they are zero, and a
// nil ErrorLog to one that writes to Logger at level Error, so that
// net/http's own reports (a handler's panic, which net/http recovers with
// its stack, closing that connection only) reach the same log. It
// leaves WriteTimeout alone: zero, its default, is right for agents, since a
// write timeout would cut long and streaming responses. A non-zero
// HTTP.IdleTimeout not longer than IdleTimeout is an error (the load balancer
// would answer 502). The drain never calls HTTP.Shutdown, which drops a
// request read after it began; it closes the listener and the connections
// itself.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return s.serve(l, stopsignal.Watch(ctx))
}

// serve is Serve with the signals already watched by stop, which it
// releases.
func (s *Server) serve(l net.Listener, stop *stopsignal.Stop) error {
	defer stop.Release()
	hs, t, err := s.prepare()
	if err != nil {
		l.Close()
		return err
	}
	var drainStart time.Time
	if m := s.meter; m != nil {
		metricsStop, metricsDone := make(chan struct{}), make(chan struct{})
		go m.Run(meter.Gauges{Inflight: s.inflight.Load, Jobs: func() int64 { return int64(s.jobCount()) }}, metricsStop,
			func() map[string]float64 {
				return map[string]float64{
					MetricDrainSeconds: math.Round(time.Since(drainStart).Seconds()*1000) / 1000,
					MetricDrainCut:     float64(s.drainCut.Load()),
				}
			}, metricsDone)
		// The last line, with the drain's outcome, is written before Serve
		// returns: the process may exit right after.
		defer func() { close(metricsStop); <-metricsDone }()
	}

	dl := &drainListener{Listener: l}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(dl) }()
	log := s.logger()
	// Durations as strings: a JSON handler would print nanoseconds.
	log.Info("agentkit: serving", "addr", l.Addr().String(), "stop_timeout", t.stop.String(),
		"idle_timeout", t.idle.String(), "request_timeout", t.request.String(), "cancel_at", t.cancelAt.String(), "close_at", t.closeAt.String(),
		"auth", t.authMethod)
	if b := t.ledger; b != nil {
		log.Info("agentkit: caller budget", "usd", b.USD, "tokens", b.Tokens, "window", b.Window.String())
		if t.auth == nil {
			log.Warn("agentkit: a caller budget is set but there is no caller check; anonymous requests are not budgeted")
		}
	}

	var reason string
	var serveErr error
	select {
	case <-stop.Context().Done():
		reason = stop.Reason()
	case err := <-served:
		serveErr = fmt.Errorf("agentkit: serve: %w", err)
		reason = serveErr.Error()
		served = nil
	}
	drainStart = time.Now()
	err = s.drain(&drainRun{hs: hs, l: dl, served: served, t: t, stop: stop}, reason)
	return errors.Join(serveErr, err)
}

// Handler returns h wrapped the way Serve wraps HTTP.Handler: requests for
// HealthPath go to the Server's Health; the others are counted as in flight
// while h serves them, so the drain waits for them, and run under the
// request deadline, the in-flight cap and the request-body limit, after the
// caller check (Server.Auth), and the caller budget after that (one cap and
// one budget for the Server, shared by every handler it wraps and by
// Serve). A nil h means http.DefaultServeMux. Use it to drive a Server's
// handling in memory, with httptest. A malformed AGENTKIT_REQUEST_TIMEOUT,
// AGENTKIT_MAX_IN_FLIGHT or AGENTKIT_MAX_REQUEST_BYTES, or a caller budget
// Serve would refuse (a bad Server.Budget or AGENTKIT_CALLER_BUDGET_*, a
// dollar budget without prices), which Serve would report, means no
// deadline, no cap, no body limit or no budget here; a caller check that
// Serve would refuse to start with answers every request but HealthPath
// 500, so that nothing is served unchecked; requests are counted in the
// metrics once Serve has begun.
func (s *Server) Handler(h http.Handler) http.Handler {
	s.mu.Lock()
	s.initLocked()
	health, m, closing, adm, ledger := s.health, s.meter, s.closing, s.adm, s.ledger
	s.mu.Unlock()
	d, _ := s.requestTimeout()
	next := withBudget(ledger, orDefault(h))
	if auth, _, err := s.resolveAuth(); err != nil {
		next = misconfigured(s.logger(), err)
	} else {
		next = withAuth(auth, next)
	}
	l, _ := s.limits()
	return &tracked{s: s, health: health, next: next, deadline: d, meter: m, closing: closing, adm: adm, maxBody: l.maxBody}
}

type tracked struct {
	s        *Server
	health   *Health
	next     http.Handler
	deadline time.Duration // 0: none
	meter    *meter.Meter  // nil: no metrics
	closing  <-chan struct{}
	adm      *admission // nil: no cap
	maxBody  int64      // 0: no limit
}

func (t *tracked) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath {
		t.health.ServeHTTP(w, r)
		return
	}
	if t.maxBody > 0 && r.ContentLength > t.maxBody {
		if t.meter != nil {
			t.meter.TooLarge()
		}
		refuse(w, r, tooLarge(t.maxBody))
		return
	}
	// A request waiting for a slot counts as in flight: the drain waits
	// for it, and the scaling sees it.
	n := t.s.inflight.Add(1)
	defer t.s.inflight.Add(-1)
	if t.adm != nil {
		switch t.adm.acquire(r.Context()) {
		case refused:
			if t.meter != nil {
				t.meter.Refused()
			}
			refuse(w, r, overloaded)
			return
		case cancelled:
			// A client that left reads nothing; one that the drain's
			// cancel point caught waiting learns to retry.
			refuse(w, r, overloaded)
			return
		}
		defer t.adm.release()
	}
	if t.meter != nil {
		t.serveMetered(w, r, n)
		return
	}
	t.serve(w, r)
}

func (t *tracked) serve(w http.ResponseWriter, r *http.Request) {
	if t.maxBody > 0 && r.ContentLength < 0 {
		w = limitBody(w, r, t.maxBody, t.meter)
	}
	if t.deadline > 0 {
		t.serveDeadline(w, r, t.deadline)
		return
	}
	t.next.ServeHTTP(w, r)
}

// Go runs f in a new goroutine as a tracked background job: the drain waits
// for it under the same deadline as the requests, and cancels its context at
// the cancel point (with ErrDrainTimeout as the cause). The context carries
// no request values and outlives the request that started the job.
//
// Go returns ErrDraining, and does not run f, once the drain has begun. A
// non-nil error from f is logged; so is a panic in f, with its stack, and
// the process goes on.
func (s *Server) Go(f func(ctx context.Context) error) error {
	s.mu.Lock()
	s.initLocked()
	if s.draining {
		s.mu.Unlock()
		return ErrDraining
	}
	s.jobs++
	ctx, m := meter.With(withLedger(s.jobCtx, s.ledger), s.meter), s.meter
	s.mu.Unlock()

	go func() {
		defer s.jobDone()
		err := callUser(ctx, f)
		if m != nil {
			m.JobEnded(err)
		}
		var pe *panicError
		switch {
		case errors.As(err, &pe):
			s.logger().Error("agentkit: job panicked", "err", pe)
		case err != nil:
			s.logger().Error("agentkit: job failed", "err", err)
		}
	}()
	return nil
}

// callUser calls user code (a job, a health check), turning a panic into an
// error that carries the stack, so one bug does not take the process down.
func callUser(ctx context.Context, f func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: debug.Stack()}
		}
	}()
	return f(ctx)
}

// panicError is a recovered panic of user code: a job or a health check.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// LogValue adds the stack to the log record.
func (e *panicError) LogValue() slog.Value {
	return slog.GroupValue(slog.String("panic", fmt.Sprint(e.value)), slog.String("stack", string(e.stack)))
}

// Draining returns a channel that is closed when the drain begins. Handlers
// and jobs select on it to wind down early, for example to tell a client to
// reconnect elsewhere.
func (s *Server) Draining() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	return s.drainCh
}

func (s *Server) initLocked() {
	if s.ready {
		return
	}
	s.ready = true
	s.drainCh = make(chan struct{})
	s.closing = make(chan struct{})
	s.jobCtx, s.jobCancel = context.WithCancelCause(context.Background())
	s.reqCtx, s.reqCancel = context.WithCancelCause(context.Background())
	s.health = s.Health
	if s.health == nil {
		s.health = &Health{Logger: s.Logger}
	}
	// A malformed setting, which Serve reports before serving, means no
	// cap here.
	l, _ := s.limits()
	s.adm = newAdmission(l.maxInFlight, l.wait)
	s.ledger, _ = s.budget()
}

// timing resolves and validates the configuration without changing anything.
func (s *Server) timing() (timing, error) {
	var t timing
	var err error
	if t.stop, err = s.stopTimeout(); err != nil {
		return t, err
	}
	if t.idle, err = s.idleTimeout(); err != nil {
		return t, err
	}
	if t.request, err = s.requestTimeout(); err != nil {
		return t, err
	}
	t.cancelAt, t.closeAt = DrainDeadlines(t.stop)
	if s.CloseDelay < 0 || s.CloseDelay >= t.cancelAt {
		return t, fmt.Errorf("agentkit: Server.CloseDelay %s leaves no time to drain; use 0 up to less than %s (the cancel point for a stop timeout of %s)",
			s.CloseDelay, t.cancelAt, t.stop)
	}
	if s.HTTP != nil && s.HTTP.IdleTimeout != 0 && s.HTTP.IdleTimeout <= t.idle {
		return t, fmt.Errorf("agentkit: http.Server.IdleTimeout %s is not longer than the load balancer idle timeout %s; the load balancer would answer 502 (leave it zero for %s)",
			s.HTTP.IdleTimeout, t.idle, t.idle+IdleTimeoutMargin)
	}
	if t.limits, err = s.limits(); err != nil {
		return t, err
	}
	if t.meter, err = newMeter(s.Metrics, true); err != nil {
		return t, err
	}
	if t.auth, t.authMethod, err = s.resolveAuth(); err != nil {
		return t, err
	}
	if t.ledger, err = s.budget(); err != nil {
		return t, err
	}
	if s.Health != nil {
		if err := s.Health.Validate(); err != nil {
			return t, err
		}
	}
	return t, nil
}

// limits resolves MaxInFlight, AdmissionWait and MaxRequestBytes.
func (s *Server) limits() (limits, error) {
	var l limits
	switch {
	case s.MaxInFlight > MaxInFlightLimit:
		return l, fmt.Errorf("agentkit: Server.MaxInFlight %d is out of range; use 1 to %d, or a negative number for no cap", s.MaxInFlight, MaxInFlightLimit)
	case s.MaxInFlight > 0:
		l.maxInFlight = s.MaxInFlight
	case s.MaxInFlight == 0:
		n, err := MaxInFlightFromEnv()
		if err != nil {
			return l, err
		}
		l.maxInFlight = n
	}
	switch {
	case s.AdmissionWait > MaxAdmissionWait:
		return l, fmt.Errorf("agentkit: Server.AdmissionWait %s is out of range; use up to %s, or a negative duration for no wait", s.AdmissionWait, MaxAdmissionWait)
	case s.AdmissionWait > 0:
		l.wait = s.AdmissionWait
	case s.AdmissionWait == 0:
		l.wait = DefaultAdmissionWait
	}
	switch {
	case s.MaxRequestBytes > MaxRequestBytesLimit:
		return l, fmt.Errorf("agentkit: Server.MaxRequestBytes %d is out of range; use 1 to %d, or a negative number for no limit", s.MaxRequestBytes, MaxRequestBytesLimit)
	case s.MaxRequestBytes > 0:
		l.maxBody = s.MaxRequestBytes
	case s.MaxRequestBytes == 0:
		n, err := MaxRequestBytesFromEnv()
		if err != nil {
			return l, err
		}
		l.maxBody = n
	}
	return l, nil
}

func (s *Server) stopTimeout() (time.Duration, error) {
	return fieldOrEnv("StopTimeout", s.StopTimeout, StopTimeoutFromEnv, MinStopTimeout, MaxStopTimeout)
}

func (s *Server) requestTimeout() (time.Duration, error) {
	return fieldOrEnv("RequestTimeout", s.RequestTimeout, RequestTimeoutFromEnv, MinRequestTimeout, MaxRequestTimeout)
}

func (s *Server) idleTimeout() (time.Duration, error) {
	return fieldOrEnv("IdleTimeout", s.IdleTimeout, IdleTimeoutFromEnv, time.Second, MaxIdleTimeout)
}

// fieldOrEnv is a duration field of Server: its value, checked against
// lo..hi, or what the environment says when it is zero.
func fieldOrEnv(name string, v time.Duration, fromEnv func() (time.Duration, error), lo, hi time.Duration) (time.Duration, error) {
	if v == 0 {
		return fromEnv()
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("agentkit: Server.%s %s is out of range; use %s to %s", name, v, lo, hi)
	}
	return v, nil
}

// prepare validates the configuration and readies HTTP to serve.
func (s *Server) prepare() (*http.Server, timing, error) {
	t, err := s.timing()
	if err != nil {
		return nil, t, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	if s.served {
		return nil, t, errors.New("agentkit: Server.Serve called twice; a Server serves once")
	}
	s.served = true
	s.conns = make(map[net.Conn]connState)

	hs := s.HTTP
	if hs == nil {
		hs = &http.Server{}
	}
	if hs.ReadHeaderTimeout == 0 {
		hs.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if hs.ReadTimeout == 0 {
		hs.ReadTimeout = DefaultReadTimeout
	}
	if hs.IdleTimeout == 0 {
		hs.IdleTimeout = t.idle + IdleTimeoutMargin
	}
	if hs.ErrorLog == nil {
		hs.ErrorLog = slog.NewLogLogger(s.logger().Handler(), slog.LevelError)
	}
	conn := hs.ConnState
	hs.ConnState = func(c net.Conn, state http.ConnState) {
		s.trackConn(c, state)
		if conn != nil {
			conn(c, state)
		}
	}
	m := t.meter
	s.meter = m
	hs.Handler = &tracked{s: s, health: s.health, next: withAuth(t.auth, withBudget(s.ledger, orDefault(hs.Handler))), deadline: t.request, meter: m,
		closing: s.closing, adm: s.adm, maxBody: t.maxBody}
	base, reqCtx := hs.BaseContext, meter.With(withLedger(s.reqCtx, s.ledger), m)
	hs.BaseContext = func(l net.Listener) context.Context {
		if base == nil {
			return reqCtx
		}
		ctx, cancel := context.WithCancelCause(base(l))
		context.AfterFunc(reqCtx, func() { cancel(context.Cause(reqCtx)) })
		return ctx
	}
	return hs, t, nil
}

func orDefault(h http.Handler) http.Handler {
	if h == nil {
		return http.DefaultServeMux
	}
	return h
}

// beginDrain flips the Server to draining and returns a channel closed once
// no job runs, with the number of jobs running now.
func (s *Server) beginDrain() (<-chan struct{}, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.draining = true
	close(s.drainCh)
	s.health.SetDraining()
	s.jobsIdle = make(chan struct{})
	if s.jobs == 0 {
		close(s.jobsIdle)
	}
	return s.jobsIdle, s.jobs
}

func (s *Server) jobDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobs--
	if s.jobs == 0 && s.jobsIdle != nil {
		close(s.jobsIdle)
		s.jobsIdle = nil
	}
}

func (s *Server) jobCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs
}

func (s *Server) cancelWork(cause error) {
	s.reqCancel(cause)
	s.jobCancel(cause)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
