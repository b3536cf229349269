package stopsignal_test

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/internal/stopsignal"
)

func TestContextEndsWithTheCallersContext(t *testing.T) {
	// GIVEN a Stop watching a context
	ctx, cancel := context.WithCancelCause(context.Background())
	s := stopsignal.Watch(ctx)
	defer s.Release()

	// WHEN the context is cancelled
	cancel(errors.New("shutting down"))

	// THEN the Stop's context ends, saying why
	<-s.Context().Done()
	if got := s.Reason(); got != "context done: shutting down" {
		t.Fatalf("Reason() = %q", got)
	}
}

func TestFirstSignalEndsTheContextAndTheNextIsDelivered(t *testing.T) {
	// GIVEN a Stop watching the process's signals
	s := stopsignal.Watch(context.Background())
	defer s.Release()

	// WHEN the process gets SIGTERM, then SIGINT
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not end the context")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}

	// THEN the first ended the context and the second came on Second
	if got := s.Reason(); got != "signal terminated" {
		t.Fatalf("Reason() = %q", got)
	}
	select {
	case sig := <-s.Second():
		if sig != syscall.SIGINT {
			t.Fatalf("Second delivered %v", sig)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second signal was not delivered")
	}
}

func TestReleaseEndsTheContext(t *testing.T) {
	// GIVEN a Stop
	s := stopsignal.Watch(context.Background())

	// WHEN it is released
	s.Release()

	// THEN its context has ended and its goroutine is gone (Release waited)
	select {
	case <-s.Context().Done():
	default:
		t.Fatal("context still live after Release")
	}
}

func TestASignalThatEndsTheCallersContextIsNotTakenForASecond(t *testing.T) {
	// GIVEN a caller whose context is signal.NotifyContext's, as a Go main's
	// usually is, and other listeners for SIGTERM, as a program may have:
	// os/signal delivers a signal to one listener after another, and the
	// others widen the gap between the caller's copy and the Stop's, so
	// that the caller's context often ends before the Stop sees its own
	// copy
	for range 20_000 {
		other := make(chan os.Signal, 1)
		signal.Notify(other, syscall.SIGTERM)
		defer signal.Stop(other)
	}
	const rounds = 50
	for round := range rounds {
		ctx, stopNotify := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		s := stopsignal.Watch(ctx)

		// WHEN one SIGTERM arrives, and after the stop began, one SIGINT
		kill(t, syscall.SIGTERM)
		select {
		case <-s.Context().Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: SIGTERM did not end the context", round)
		}
		kill(t, syscall.SIGINT)

		// THEN the first second signal is the SIGINT: the SIGTERM that
		// began the stop is never taken for a second one
		select {
		case sig := <-s.Second():
			if sig != syscall.SIGINT {
				t.Errorf("round %d of %d: Second delivered %v, the signal that began the stop (reason %q)", round, rounds, sig, s.Reason())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the SIGINT was not delivered", round)
		}
		s.Release()
		stopNotify()
	}
}

func kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
}
