package agentkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/internal/stopsignal"
)

// Drain tunables, explained in the package documentation's "The drain".
const (
	// drainPoll is how often the drain looks at its counters and
	// connections: http.Server.Shutdown's polling grows to 500ms, as long
	// as the whole gap between the cancel point and the close point at the
	// smallest stop timeout.
	drainPoll = 10 * time.Millisecond

	// maxQuietGrace is how long, at most, a connection with no request
	// under way may stay open during the drain, from the drain's start or
	// from its last request, whichever is later, before it is closed: time
	// for a request already on its way to arrive and be answered.
	maxQuietGrace = time.Second

	// backlogSweep is how long the listener waits for one more queued
	// connection once the drain closes it, where the kernel does not say
	// how many are queued: the connections it has already completed come
	// at once (their clients saw the connect succeed, and a closed listener
	// would reset them).
	backlogSweep = 5 * time.Millisecond
)

// quietGrace is maxQuietGrace, or half the time to the cancel point when
// that is shorter, so that quiet connections never hold a short drain.
func quietGrace(t timing) time.Duration {
	return min(maxQuietGrace, t.cancelAt/2)
}

// connState is what the drain knows of an open connection.
type connState struct {
	state http.ConnState
	since time.Time // of the last state change
}

// trackConn is the ConnState hook: it keeps the set of open connections.
func (s *Server) trackConn(c net.Conn, state http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	default:
		s.conns[c] = connState{state: state, since: time.Now()}
	}
}

// closeQuiet closes the connections that carry no request (new ones that
// have not sent a whole request yet; during the drain no connection is kept
// alive after its answer) and have been quiet for grace since quietFrom or
// since their last change, whichever is later. It returns how many
// connections are still open.
func (s *Server) closeQuiet(quietFrom time.Time, grace time.Duration) int {
	now := time.Now()
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c, st := range s.conns {
		if st.state == http.StateActive || now.Sub(later(st.since, quietFrom)) < grace {
			continue
		}
		c.Close()
		delete(s.conns, c) // net/http reports StateClosed later; deleting twice is harmless
	}
	return len(s.conns)
}

// interruptReads makes every read on an open connection fail now, so that a
// handler blocked reading a request body (a client trickling it) learns of
// the cancel point and can still answer.
func (s *Server) interruptReads() {
	now := time.Now()
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c := range s.conns {
		c.SetReadDeadline(now)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// drainRun is what one drain works with.
type drainRun struct {
	hs     *http.Server
	l      *drainListener
	served <-chan error // hs.Serve's result; nil once received
	t      timing
	stop   *stopsignal.Stop
}

// drain runs the drain that the package documentation's "The drain"
// describes.
func (s *Server) drain(d *drainRun, reason string) error {
	start := time.Now()
	// Every response whose header is written from now on says
	// "Connection: close", those of the requests in flight included; net/http
	// also closes the idle keep-alive connections now, as HTTP/1.1 lets a
	// server do with any idle connection. Before the drain is announced, so
	// that a handler woken by Draining answers with it too.
	d.hs.SetKeepAlivesEnabled(false)
	jobsIdle, jobs := s.beginDrain()
	log := s.logger()
	log.Info("agentkit: drain started", "reason", reason, "requests", s.inflight.Load(), "jobs", jobs)

	cancelTimer := time.NewTimer(d.t.cancelAt)
	defer cancelTimer.Stop()
	closeTimer := time.NewTimer(d.t.closeAt)
	defer closeTimer.Stop()
	var delayed <-chan time.Time
	if s.CloseDelay > 0 {
		dt := time.NewTimer(s.CloseDelay)
		defer dt.Stop()
		delayed = dt.C
	}
	grace := quietGrace(d.t)
	// The sweep of the backlog may last half the time from the listener's
	// close to the cancel point: a request it takes still has time to be
	// served.
	sweepCap := (d.t.cancelAt - s.CloseDelay) / 2
	if delayed == nil {
		d.l.stopAccepting(sweepCap)
	}
	poll := time.NewTicker(drainPoll)
	defer poll.Stop()

	for {
		// The request counter also sees hijacked connections, which the
		// connection set no longer holds.
		if d.served == nil && jobsIdle == nil && s.inflight.Load() == 0 && s.closeQuiet(start, grace) == 0 {
			d.close()
			s.cancelWork(context.Canceled)
			log.Info("agentkit: drain complete", "elapsed", time.Since(start).Round(time.Millisecond).String())
			return nil
		}
		select {
		case <-delayed:
			delayed = nil
			d.l.stopAccepting(sweepCap)
		case err := <-d.served:
			d.served = nil
			if !errors.Is(err, errListenerClosed) {
				log.Error("agentkit: serve ended during the drain", "err", err)
			}
			log.Info("agentkit: listener closed", "after", time.Since(start).Round(time.Millisecond).String())
		case <-jobsIdle:
			jobsIdle = nil
		case <-poll.C:
		case <-cancelTimer.C:
			log.Warn("agentkit: stop timeout near; cancelling work",
				"requests", s.inflight.Load(), "jobs", s.jobCount())
			s.cancelWork(ErrDrainTimeout)
			s.interruptReads()
		case <-closeTimer.C:
			requests, jobs := s.inflight.Load(), s.jobCount()
			s.drainCut.Store(requests + int64(jobs))
			s.answerAtClose()
			d.close()
			s.cancelWork(ErrDrainTimeout)
			if requests == 0 && jobs == 0 {
				// Only connections were left, their answers sent (net/http
				// lingers before closing one whose body went unread).
				log.Info("agentkit: drain complete at the deadline; closed the last connections",
					"elapsed", time.Since(start).Round(time.Millisecond).String())
				return nil
			}
			err := fmt.Errorf("agentkit: drain did not finish within %s (stop timeout %s); closed %d request(s), abandoned %d job(s): %w",
				d.t.closeAt, d.t.stop, requests, jobs, ErrDrainTimeout)
			log.Error("agentkit: drain deadline", "err", err)
			return err
		case sig := <-d.stop.Second():
			requests, jobs := s.inflight.Load(), s.jobCount()
			s.drainCut.Store(requests + int64(jobs))
			d.close()
			s.cancelWork(ErrDrainTimeout)
			err := fmt.Errorf("agentkit: second signal %s during the drain; stopped at once with %d request(s) and %d job(s) running", sig, requests, jobs)
			log.Error("agentkit: drain interrupted", "err", err)
			return err
		}
	}
}

// answerAtClose has Server answer for the handlers still running under a
// request deadline at the close point, as for a deadline but with 503 and
// Retry-After (see serveDeadline), and waits, closeAnswerWait at most, for
// the answers to be sent. A handler without a deadline runs on net/http's
// own goroutine, which owns its response: its connection is closed.
func (s *Server) answerAtClose() {
	close(s.closing)
	if s.underDeadline.Load() == 0 {
		return
	}
	end := time.Now().Add(closeAnswerWait)
	poll := time.NewTicker(drainPoll)
	defer poll.Stop()
	for s.underDeadline.Load() > 0 && time.Now().Before(end) {
		<-poll.C
	}
}

// close closes the listener and every connection, and waits for hs.Serve.
func (d *drainRun) close() {
	d.hs.Close()
	if d.served != nil {
		<-d.served
		d.served = nil
	}
}

// errListenerClosed is what Accept returns once the drain closed the
// listener; http.Server.Serve returns it.
var errListenerClosed = errors.New("agentkit: listener closed by the drain")

// drainListener is the listener Serve serves on. Its stopAccepting takes the
// connections the kernel has already completed before it closes, because
// closing a listener resets them although their clients saw the connect
// succeed.
type drainListener struct {
	net.Listener
	closing  atomic.Bool
	sweepCap time.Duration // written before closing is set, read after
	// The sweep's state; only Accept's goroutine uses it.
	sweeping bool
	sweepEnd time.Time
}

type deadliner interface{ SetDeadline(time.Time) error }

// Accept returns the next connection. Once stopAccepting was called it
// returns what is already queued, then closes the listener and returns
// errListenerClosed. Where the kernel tells how many connections wait
// (queued), it takes exactly those; elsewhere it takes connections until
// none comes within backlogSweep. Either way it stops at the sweep's cap, as
// a flood of new connections would never let it end. A connection whose
// handshake completes in the instant between the last look at the queue and
// the close is still reset: no socket API closes that gap.
func (l *drainListener) Accept() (net.Conn, error) {
	for {
		if l.sweeping && !l.setSweepDeadline() {
			break
		}
		c, err := l.Listener.Accept()
		if !l.closing.Load() || err == nil {
			return c, err
		}
		var ne net.Error
		if l.sweeping || !errors.As(err, &ne) || !ne.Timeout() {
			break
		}
		// stopAccepting's deadline woke Accept without letting it look
		// at the queue: sweep it.
		l.sweeping = true
		l.sweepEnd = time.Now().Add(l.sweepCap)
	}
	l.Listener.Close()
	return nil, errListenerClosed
}

// setSweepDeadline readies the next Accept of the sweep, and reports false
// when the sweep is over. The deadline is set before each Accept, not after
// the last: Accept fails at once, without looking at the queue, when its
// deadline passed while the caller handled a connection.
func (l *drainListener) setSweepDeadline() bool {
	d, ok := l.Listener.(deadliner)
	if !ok {
		return false
	}
	now := time.Now()
	if !now.Before(l.sweepEnd) {
		return false
	}
	end := l.sweepEnd
	if n, known := queued(l.Listener); known {
		if n == 0 {
			return false
		}
	} else if next := now.Add(backlogSweep); next.Before(end) {
		end = next
	}
	return d.SetDeadline(end) == nil
}

// stopAccepting makes Accept sweep the backlog, for sweepCap at most, and
// close the listener. A listener that cannot take a deadline is closed at
// once.
func (l *drainListener) stopAccepting(sweepCap time.Duration) {
	l.sweepCap = sweepCap
	l.closing.Store(true)
	if d, ok := l.Listener.(deadliner); ok && d.SetDeadline(time.Now()) == nil {
		return
	}
	l.Listener.Close()
}
