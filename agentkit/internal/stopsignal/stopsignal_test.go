package stopsignal_test

import (
	"context"
	"errors"
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
