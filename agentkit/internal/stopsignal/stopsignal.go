// Package stopsignal is how agentkit's Server and sqsworker's Consumer learn
// that their process must stop, so that both follow one model: the first
// SIGTERM or SIGINT, or the end of the caller's context, begins the drain; a
// further signal during the drain ends it at once. The signals are handled
// (signal.Notify) only between Watch and Release, so that outside them, and
// after a second signal has ended the drain, the default handling applies.
package stopsignal

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// A Stop watches for the reasons to stop one run.
type Stop struct {
	ctx      context.Context
	sigs     chan os.Signal
	released chan struct{}
	done     chan struct{}
}

// signalError is the cause of a Stop's context when a signal ended it.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "signal " + e.sig.String() }

// Watch starts watching: Context ends at the first SIGTERM or SIGINT, or when
// ctx ends. Call Release when the run is over.
func Watch(ctx context.Context) *Stop {
	// Buffered for two: the signal that begins the drain and the one that
	// ends it.
	s := &Stop{sigs: make(chan os.Signal, 2), released: make(chan struct{}), done: make(chan struct{})}
	signal.Notify(s.sigs, syscall.SIGTERM, os.Interrupt)
	stopCtx, cancel := context.WithCancelCause(ctx)
	s.ctx = stopCtx
	go func() {
		defer close(s.done)
		select {
		case sig := <-s.sigs:
			cancel(signalError{sig})
		case <-stopCtx.Done():
		case <-s.released:
			cancel(context.Canceled)
		}
	}()
	return s
}

// Context ends at the first reason to stop.
func (s *Stop) Context() context.Context { return s.ctx }

// Reason says why Context ended: "signal terminated", or "context done: "
// and the cause of the caller's context.
func (s *Stop) Reason() string {
	cause := context.Cause(s.ctx)
	if se, ok := cause.(signalError); ok {
		return se.Error()
	}
	return fmt.Sprintf("context done: %v", cause)
}

// Second delivers the signals that arrive after Context ended: each is a
// reason to stop at once.
func (s *Stop) Second() <-chan os.Signal { return s.sigs }

// Release stops handling the signals, so the default handling applies again
// (a further SIGTERM kills the process).
func (s *Stop) Release() {
	signal.Stop(s.sigs)
	close(s.released)
	<-s.done
}
