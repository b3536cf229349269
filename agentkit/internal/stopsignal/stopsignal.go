// Package stopsignal is how agentkit's Server and sqsworker's Consumer learn
// that their process must stop, so that both follow one model: the first
// SIGTERM or SIGINT, or the end of the caller's context, begins the drain; a
// further signal during the drain ends it at once. The signals are handled
// (signal.Notify) only between Watch and Release, so that outside them, and
// after a second signal has ended the drain, the default handling applies
// (unless the program listens for them too).
//
// One signal is one reason to stop, however many listeners it reaches. The
// os/signal package hands each signal to every channel that listens for it,
// one channel after another, so a program whose main uses
// signal.NotifyContext (or its own signal.Notify) and passes that context to
// Watch gets two copies of one SIGTERM: its context ends, and the same
// SIGTERM lands in Watch's channel, possibly later. Read then as a second
// signal, it would cut the drain short. So when the caller's context ends,
// Watch waits until os/signal has delivered every signal it was delivering
// (see settle) and counts one signal already delivered as the cause of that
// end; only signals after it are second signals.
package stopsignal

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// watched are the signals that stop a run.
var watched = []os.Signal{syscall.SIGTERM, os.Interrupt}

// A Stop watches for the reasons to stop one run.
type Stop struct {
	ctx      context.Context
	sigs     chan os.Signal // what os/signal delivers
	second   chan os.Signal // the signals after the first reason to stop
	released chan struct{}
	done     chan struct{}
}

// signalError is the cause of a Stop's context when a signal ended it.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "signal " + e.sig.String() }

// Watch starts watching: Context ends at the first SIGTERM or SIGINT, or when
// ctx ends. Call Release when the run is over.
func Watch(ctx context.Context) *Stop {
	s := &Stop{
		// Room for the signal that begins the stop, its copy when ctx
		// ended with it, and one that ends the drain: os/signal drops what
		// finds the channel full.
		sigs:     make(chan os.Signal, 3),
		second:   make(chan os.Signal, 1),
		released: make(chan struct{}),
		done:     make(chan struct{}),
	}
	signal.Notify(s.sigs, watched...)
	stopCtx, cancel := context.WithCancelCause(ctx)
	s.ctx = stopCtx
	go func() {
		defer close(s.done)
		select {
		case sig := <-s.sigs:
			cancel(signalError{sig})
		case <-ctx.Done():
			s.settle()
		case <-s.released:
			cancel(context.Canceled)
			return
		}
		for {
			select {
			case sig := <-s.sigs:
				select {
				case s.second <- sig:
				default: // one is enough to end the drain
				}
			case <-s.released:
				return
			}
		}
	}()
	return s
}

// settle runs when the caller's context ended, and takes out of s.sigs the
// signal that ended it, when one did.
//
// The end of ctx happened after whatever ended it. When that was a signal,
// os/signal was delivering it, to the caller's channel and to s.sigs, in one
// pass under its handlers lock (os/signal's process). signal.Notify takes the
// same lock, so once this call to it returns (it adds nothing: s.sigs
// already listens for these signals) that pass is over and the copy meant
// for s.sigs is in it. A signal already there is therefore the one that
// ended ctx, or one that arrived in the same instant (ECS sends one SIGTERM);
// either way it is part of the first reason to stop.
func (s *Stop) settle() {
	signal.Notify(s.sigs, watched...)
	select {
	case <-s.sigs:
	default:
	}
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

// Second delivers the signals that arrive after the first reason to stop:
// each is a reason to stop at once. The signal that began the stop, also
// when it reached the caller's context first, never comes here.
func (s *Stop) Second() <-chan os.Signal { return s.second }

// Release stops handling the signals, so the default handling applies again
// (a further SIGTERM kills the process, unless the program listens for it
// itself).
func (s *Stop) Release() {
	signal.Stop(s.sigs)
	close(s.released)
	<-s.done
}
