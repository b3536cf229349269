package agentkit_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

func TestStreamWritesServerSentEvents(t *testing.T) {
	// GIVEN a stream on a recorder
	srv := &agentkit.Server{IdleTimeout: time.Hour}
	rec := httptest.NewRecorder()
	st, err := srv.Stream(rec, httptest.NewRequest("GET", "/run/stream", nil))
	if err != nil {
		t.Fatal(err)
	}

	// WHEN it sends a named event with line breaks and a default event
	for _, e := range [][2]string{{"token", "one\ntwo\r\nthree\rfour"}, {"", "plain"}} {
		if err := st.Send(e[0], e[1]); err != nil {
			t.Fatal(err)
		}
	}
	closeErr := st.Close()

	// THEN the response is a well-formed event stream, and Send after Close fails
	if closeErr != nil {
		t.Fatal(closeErr)
	}
	want := "event: token\ndata: one\ndata: two\ndata: three\ndata: four\n\ndata: plain\n\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
	for k, v := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if err := st.Send("late", ""); err == nil || err.Error() != "agentkit: stream closed" {
		t.Fatalf("Send after Close: %v", err)
	}
}

func TestStreamRejectsBadInput(t *testing.T) {
	cases := []struct {
		name  string
		event string
		want  string
	}{
		{"newline in event name", "to\nken", `agentkit: stream: event name "to\nken" contains a line break`},
		{"carriage return in event name", "to\rken", `agentkit: stream: event name "to\rken" contains a line break`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a stream
			srv := &agentkit.Server{IdleTimeout: time.Hour}
			st, err := srv.Stream(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()

			// WHEN an event with a bad name is sent
			err = st.Send(c.event, "x")

			// THEN it is refused with a message naming it
			if err == nil || err.Error() != c.want {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

// noFlush is a ResponseWriter that cannot flush.
type noFlush struct{ h http.Header }

func (n *noFlush) Header() http.Header         { return n.h }
func (n *noFlush) Write(b []byte) (int, error) { return len(b), nil }
func (n *noFlush) WriteHeader(int)             {}

func TestStreamFails(t *testing.T) {
	cases := []struct {
		name string
		env  string
		w    http.ResponseWriter
		want string
	}{
		{"writer cannot flush", "", &noFlush{h: http.Header{}},
			"agentkit: stream: cannot flush the response: feature not supported"},
		{"malformed idle timeout", "soon", httptest.NewRecorder(),
			`agentkit: AGENTKIT_IDLE_TIMEOUT "soon" is not a Go duration (for example "60s"): time: invalid duration "soon"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a writer and environment
			if c.env != "" {
				t.Setenv(agentkit.EnvIdleTimeout, c.env)
			}

			// WHEN a stream starts
			_, err := (&agentkit.Server{}).Stream(c.w, httptest.NewRequest("GET", "/", nil))

			// THEN it fails with the reason
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestStreamSendIDWritesTheIDFirst(t *testing.T) {
	// GIVEN a stream on a recorder
	srv := &agentkit.Server{IdleTimeout: time.Hour}
	rec := httptest.NewRecorder()
	st, err := srv.Stream(rec, httptest.NewRequest("GET", "/runs/x/events", nil))
	if err != nil {
		t.Fatal(err)
	}

	// WHEN it sends an event with an id, one without, and bad ids
	if err := st.SendID("7", "step", "a"); err != nil {
		t.Fatal(err)
	}
	if err := st.SendID("", "end", "b"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"1\n2", "1\r", "a\x00"} {
		if err := st.SendID(bad, "step", "c"); err == nil {
			t.Errorf("SendID(%q) succeeded", bad)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// THEN the id comes first in its event, the event without one has no
	// id field (a client keeps its last event ID), and the bad ones wrote nothing
	if want := "id: 7\nevent: step\ndata: a\n\nevent: end\ndata: b\n\n"; rec.Body.String() != want {
		t.Fatalf("got %q, want %q", rec.Body, want)
	}
}
