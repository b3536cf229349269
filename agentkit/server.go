package agentkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
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

// A Server runs an HTTP server until the process is told to stop, then drains
// it within the container's stop timeout. It also answers HealthPath, tracks
// the requests in flight and the background jobs started with Go, and makes
// server-sent event streams with Stream.
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

	// CloseDelay is how long the listener keeps accepting connections
	// after the drain begins, answering 503 on HealthPath, so that a load
	// balancer that has not yet stopped routing to this process sees it
	// fail and moves on. It must end before the cancel point.
	// Default: 0, the listener closes at once: ECS deregisters a task
	// from its target groups and waits out the deregistration delay
	// before it sends SIGTERM, so no new request is on its way.
	CloseDelay time.Duration

	// Logger receives the drain's progress and the errors of jobs.
	// Default: slog.Default().
	Logger *slog.Logger

	inflight atomic.Int64 // requests being served, health probes excluded
	conns    atomic.Int64 // connections open and not hijacked

	mu        sync.Mutex
	ready     bool // the fields below the mutex are initialised
	served    bool
	draining  bool
	drainCh   chan struct{}
	jobs      int
	jobsIdle  chan struct{} // made when the drain begins; closed once jobs is 0
	jobCtx    context.Context
	jobCancel context.CancelCauseFunc
	reqCtx    context.Context // parent of every request context
	reqCancel context.CancelCauseFunc
	health    *Health
}

// timing is a Server's resolved configuration.
type timing struct {
	stop, idle, cancelAt, closeAt time.Duration
}

// ListenAndServe listens on HTTP.Addr, or on ":$PORT" (PortFromEnv) when
// it is empty, and calls Serve. A malformed PORT, AGENTKIT_STOP_TIMEOUT or
// AGENTKIT_IDLE_TIMEOUT, or an invalid field, is reported before it
// listens.
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
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("agentkit: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, l)
}

// Serve serves HTTP on l until SIGTERM or SIGINT arrives or ctx is done, then
// drains and returns. It always closes l. It handles SIGTERM and SIGINT
// (signal.Notify) only while it runs.
//
// The drain, timed from its start by DrainDeadlines(StopTimeout):
//
//  1. At once: HealthPath answers 503, Draining is closed, Go refuses new
//     jobs, keep-alives are disabled.
//  2. After CloseDelay (default at once): the listener closes, so new
//     connections are refused; idle connections close; requests in flight
//     carry on.
//  3. At cancelAt: the contexts of the requests and jobs still running are
//     cancelled, with ErrDrainTimeout as their cause.
//  4. At closeAt, a safety margin before SIGKILL: the connections still open
//     are closed and Serve returns an error wrapping ErrDrainTimeout. Jobs and
//     handlers that ignore their context are abandoned.
//
// Serve returns nil as soon as every request and job has ended, however
// early. A second signal during the drain closes everything and returns at
// once, and restores the default signal handling so that a third signal
// kills the process.
//
// Serve changes HTTP before serving: it wraps Handler with s.Handler (health
// and request tracking), BaseContext so the drain can cancel request
// contexts, and ConnState so the drain sees when the last connection closes
// (the wrappers call the caller's functions), and it sets ReadHeaderTimeout to DefaultReadHeaderTimeout and
// IdleTimeout to IdleTimeout + IdleTimeoutMargin when they are zero. It
// leaves WriteTimeout alone: zero, its default, is right for agents, since a
// write timeout would cut long and streaming responses. A non-zero
// HTTP.IdleTimeout not longer than IdleTimeout is an error (the load balancer
// would answer 502).
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs, t, err := s.prepare()
	if err != nil {
		l.Close()
		return err
	}
	// Buffered for two: the signal that starts the drain and the one that
	// ends it at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sigs)

	served := make(chan error, 1)
	go func() { served <- hs.Serve(l) }()
	log := s.logger()
	// Durations as strings: a JSON handler would print nanoseconds.
	log.Info("agentkit: serving", "addr", l.Addr().String(), "stop_timeout", t.stop.String(),
		"idle_timeout", t.idle.String(), "cancel_at", t.cancelAt.String(), "close_at", t.closeAt.String())

	var reason string
	var serveErr error
	select {
	case sig := <-sigs:
		reason = "signal " + sig.String()
	case <-ctx.Done():
		reason = "context done: " + context.Cause(ctx).Error()
	case err := <-served:
		serveErr = fmt.Errorf("agentkit: serve: %w", err)
		reason = serveErr.Error()
	}
	err = s.drain(hs, t, reason, sigs)
	if serveErr == nil {
		<-served // the drain closed the server: this is quick
	}
	return errors.Join(serveErr, err)
}

// drain runs the drain timeline documented on Serve.
func (s *Server) drain(hs *http.Server, t timing, reason string, sigs <-chan os.Signal) error {
	start := time.Now()
	jobsIdle, jobs := s.beginDrain()
	log := s.logger()
	log.Info("agentkit: drain started", "reason", reason, "requests", s.inflight.Load(), "jobs", jobs)

	cancelTimer := time.NewTimer(t.cancelAt)
	defer cancelTimer.Stop()
	closeTimer := time.NewTimer(t.closeAt)
	defer closeTimer.Stop()

	shutdownCtx, stopShutdown := context.WithCancel(context.Background())
	defer stopShutdown()
	shutdown := func() {
		go hs.Shutdown(shutdownCtx) // ends at the latest when drain returns
	}
	hs.SetKeepAlivesEnabled(false)
	var delayed <-chan time.Time
	if s.CloseDelay > 0 {
		dt := time.NewTimer(s.CloseDelay)
		defer dt.Stop()
		delayed = dt.C
	} else {
		shutdown()
	}

	// Shutdown polls its connections up to 500ms apart, too coarse for a
	// 2s stop timeout; the connection and request counters are watched every
	// 10ms instead. The request counter also sees hijacked connections, which
	// Shutdown does not.
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	listenerClosed, jobsDone := s.CloseDelay <= 0, false
	for {
		if listenerClosed && jobsDone && s.conns.Load() == 0 && s.inflight.Load() == 0 {
			hs.Close() // nothing is open but, perhaps, the listener Shutdown is closing
			s.cancelWork(context.Canceled)
			log.Info("agentkit: drain complete", "elapsed", time.Since(start).Round(time.Millisecond).String())
			return nil
		}
		select {
		case <-delayed:
			delayed, listenerClosed = nil, true
			shutdown()
			log.Info("agentkit: listener closed", "after", time.Since(start).Round(time.Millisecond).String())
		case <-jobsIdle:
			jobsIdle, jobsDone = nil, true
		case <-poll.C:
		case <-cancelTimer.C:
			log.Warn("agentkit: stop timeout near; cancelling work",
				"requests", s.inflight.Load(), "jobs", s.jobCount())
			s.cancelWork(ErrDrainTimeout)
		case <-closeTimer.C:
			requests, jobs := s.inflight.Load(), s.jobCount()
			hs.Close()
			s.cancelWork(ErrDrainTimeout)
			err := fmt.Errorf("agentkit: drain did not finish within %s (stop timeout %s); closed %d request(s), abandoned %d job(s): %w",
				t.closeAt, t.stop, requests, jobs, ErrDrainTimeout)
			log.Error("agentkit: drain deadline", "err", err)
			return err
		case sig := <-sigs:
			requests, jobs := s.inflight.Load(), s.jobCount()
			hs.Close()
			s.cancelWork(ErrDrainTimeout)
			err := fmt.Errorf("agentkit: second signal %s during the drain; stopped at once with %d request(s) and %d job(s) running", sig, requests, jobs)
			log.Error("agentkit: drain interrupted", "err", err)
			return err
		}
	}
}

// Handler returns h wrapped the way Serve wraps HTTP.Handler: requests for
// HealthPath go to the Server's Health; the others are counted as in flight
// while h serves them, so the drain waits for them. A nil h means
// http.DefaultServeMux. Use it to drive a Server's handling in memory, with
// httptest.
func (s *Server) Handler(h http.Handler) http.Handler {
	if h == nil {
		h = http.DefaultServeMux
	}
	s.mu.Lock()
	s.initLocked()
	health := s.health
	s.mu.Unlock()
	return &tracked{s: s, health: health, next: h}
}

type tracked struct {
	s      *Server
	health *Health
	next   http.Handler
}

func (t *tracked) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath {
		t.health.ServeHTTP(w, r)
		return
	}
	t.s.inflight.Add(1)
	defer t.s.inflight.Add(-1)
	t.next.ServeHTTP(w, r)
}

// Go runs f in a new goroutine as a tracked background job: the drain waits
// for it under the same deadline as the requests, and cancels its context at
// the cancel point (with ErrDrainTimeout as the cause). The context carries
// no request values and outlives the request that started the job.
//
// Go returns ErrDraining, and does not run f, once the drain has begun. A
// non-nil error from f is logged. A panic in f crashes the process, as in any
// goroutine.
func (s *Server) Go(f func(ctx context.Context) error) error {
	s.mu.Lock()
	s.initLocked()
	if s.draining {
		s.mu.Unlock()
		return ErrDraining
	}
	s.jobs++
	ctx := s.jobCtx
	s.mu.Unlock()

	go func() {
		defer s.jobDone()
		if err := f(ctx); err != nil {
			s.logger().Error("agentkit: job failed", "err", err)
		}
	}()
	return nil
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
	s.jobCtx, s.jobCancel = context.WithCancelCause(context.Background())
	s.reqCtx, s.reqCancel = context.WithCancelCause(context.Background())
	s.health = s.Health
	if s.health == nil {
		s.health = &Health{Logger: s.Logger}
	}
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
	t.cancelAt, t.closeAt = DrainDeadlines(t.stop)
	if s.CloseDelay < 0 || s.CloseDelay >= t.cancelAt {
		return t, fmt.Errorf("agentkit: Server.CloseDelay %s leaves no time to drain; use 0 up to less than %s (the cancel point for a stop timeout of %s)",
			s.CloseDelay, t.cancelAt, t.stop)
	}
	if s.HTTP != nil && s.HTTP.IdleTimeout != 0 && s.HTTP.IdleTimeout <= t.idle {
		return t, fmt.Errorf("agentkit: http.Server.IdleTimeout %s is not longer than the load balancer idle timeout %s; the load balancer would answer 502 (leave it zero for %s)",
			s.HTTP.IdleTimeout, t.idle, t.idle+IdleTimeoutMargin)
	}
	if s.Health != nil {
		if err := s.Health.Validate(); err != nil {
			return t, err
		}
	}
	return t, nil
}

func (s *Server) stopTimeout() (time.Duration, error) {
	if s.StopTimeout == 0 {
		return StopTimeoutFromEnv()
	}
	if s.StopTimeout < MinStopTimeout || s.StopTimeout > MaxStopTimeout {
		return 0, fmt.Errorf("agentkit: Server.StopTimeout %s is out of range; use %s to %s", s.StopTimeout, MinStopTimeout, MaxStopTimeout)
	}
	return s.StopTimeout, nil
}

func (s *Server) idleTimeout() (time.Duration, error) {
	if s.IdleTimeout == 0 {
		return IdleTimeoutFromEnv()
	}
	if s.IdleTimeout < time.Second || s.IdleTimeout > MaxIdleTimeout {
		return 0, fmt.Errorf("agentkit: Server.IdleTimeout %s is out of range; use %s to %s", s.IdleTimeout, time.Second, MaxIdleTimeout)
	}
	return s.IdleTimeout, nil
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

	hs := s.HTTP
	if hs == nil {
		hs = &http.Server{}
	}
	if hs.ReadHeaderTimeout == 0 {
		hs.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if hs.IdleTimeout == 0 {
		hs.IdleTimeout = t.idle + IdleTimeoutMargin
	}
	conn := hs.ConnState
	hs.ConnState = func(c net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			s.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.conns.Add(-1)
		}
		if conn != nil {
			conn(c, state)
		}
	}
	hs.Handler = &tracked{s: s, health: s.health, next: orDefault(hs.Handler)}
	base, reqCtx := hs.BaseContext, s.reqCtx
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
