package agentkit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// The request deadline in these tests is agentkit.MinRequestTimeout (1s):
// a handler that ignores it is answered for RequestTimeoutGrace (2s) later.

// logEvents is a slog handler that hands every record's message and
// attributes, as one line, to a channel: tests wait on a log line as an
// event.
type logEvents chan string

func (l logEvents) Enabled(context.Context, slog.Level) bool { return true }
func (l logEvents) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logEvents) WithGroup(string) slog.Handler            { return l }
func (l logEvents) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	select {
	case l <- b.String():
	default: // nobody waits for it
	}
	return nil
}

// waitLog returns the first log line holding want.
func waitLog(t *testing.T, events logEvents, want string) string {
	t.Helper()
	for line := range events {
		if strings.Contains(line, want) {
			return line
		}
	}
	panic("unreachable: the channel is never closed")
}

// deadlineServer serves h on 127.0.0.1 with a 1s request deadline.
func deadlineServer(t *testing.T, h http.Handler) (base string, logs logEvents) {
	t.Helper()
	logs = make(logEvents, 256)
	srv := &agentkit.Server{
		HTTP:           &http.Server{Handler: h},
		RequestTimeout: agentkit.MinRequestTimeout,
		Logger:         slog.New(logs),
	}
	addr, _ := serveInProcess(t, srv)
	return "http://" + addr, logs
}

// deadlineStream is deadlineServer for a handler that streams: body runs
// with the stream started, and the stream is closed after it.
func deadlineStream(t *testing.T, body func(st *agentkit.Stream)) (base string, logs logEvents) {
	t.Helper()
	var srv *agentkit.Server
	logs = make(logEvents, 256)
	srv = &agentkit.Server{
		RequestTimeout: agentkit.MinRequestTimeout,
		Logger:         slog.New(logs),
		HTTP: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st, err := srv.Stream(w, r)
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			body(st)
		})},
	}
	addr, _ := serveInProcess(t, srv)
	return "http://" + addr, logs
}

func TestARequestWithinItsDeadlineIsServedUntouched(t *testing.T) {
	t.Parallel()
	// GIVEN a handler that answers at once, with a header and a trailer
	base, _ := deadlineServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Deadline(); !ok {
			http.Error(w, "no deadline on the request context", 500)
			return
		}
		w.Header().Set("Trailer", "X-Tokens")
		w.Header().Set("X-Agent", "yes")
		io.WriteString(w, "whole answer")
		w.Header().Set("X-Tokens", "42")
	}))

	// WHEN it is asked
	resp, err := newClient(t).Get(base + "/run")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()

	// THEN the client gets the handler's whole answer, its header and its trailer
	if err != nil || resp.StatusCode != 200 || string(body) != "whole answer" ||
		resp.Header.Get("X-Agent") != "yes" || resp.Trailer.Get("X-Tokens") != "42" {
		t.Fatalf("%d %q %v; header %v trailer %v", resp.StatusCode, body, err, resp.Header, resp.Trailer)
	}
}

func TestAHandlerSeesItsDeadlineAsErrRequestTimeoutAndAnswersItself(t *testing.T) {
	t.Parallel()
	// GIVEN a handler that waits on its context and answers when it ends
	base, _ := deadlineServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		if !errors.Is(context.Cause(r.Context()), agentkit.ErrRequestTimeout) {
			http.Error(w, "cause: "+context.Cause(r.Context()).Error(), 500)
			return
		}
		http.Error(w, "the handler's own timeout answer", http.StatusGatewayTimeout)
	}))

	// WHEN a request outlasts the deadline
	code, body := get(t, newClient(t), base+"/run")

	// THEN the handler's own answer reaches the client
	if code != 504 || body != "the handler's own timeout answer\n" {
		t.Fatalf("%d %q", code, body)
	}
}

func TestAHandlerThatIgnoresItsDeadlineIsAnsweredFor(t *testing.T) {
	t.Parallel()
	// GIVEN a handler that ignores its context and tries to answer only
	// when the test lets it
	release := make(chan struct{})
	late := make(chan error, 1)
	base, logs := deadlineServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("X-Late", "yes")
		_, err := io.WriteString(w, "too late")
		late <- err
	}))

	// WHEN a request outlasts the deadline and the grace after it
	resp, err := newClient(t).Get(base + "/run")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	close(release)

	// THEN the client gets a whole 504 saying so, never a cut connection;
	// the handler's late write fails; the log says what happened
	want := `{"error":"the request did not finish within its deadline of 1s"}` + "\n"
	if err != nil || resp.StatusCode != 504 || string(body) != want || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, err)
	}
	if err := <-late; !errors.Is(err, http.ErrHandlerTimeout) {
		t.Fatalf("late write: %v", err)
	}
	line := waitLog(t, logs, "agentkit: request deadline reached")
	if !strings.Contains(line, "path=/run") || !strings.Contains(line, "sent=504") {
		t.Fatalf("log: %s", line)
	}
}

func TestAStreamThatIgnoresItsDeadlineEndsWithAnErrorEvent(t *testing.T) {
	t.Parallel()
	// GIVEN a stream handler that sends one event and then ignores its context
	release := make(chan struct{})
	defer close(release)
	base, logs := deadlineStream(t, func(st *agentkit.Stream) {
		st.Send("token", `{"token":"Hello"}`)
		<-release
	})

	// WHEN the stream outlasts the deadline and the grace after it
	resp, err := newClient(t).Get(base + "/run/stream")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()

	// THEN the client reads the event sent, then an error event, then a
	// clean end of the stream
	want := "event: token\ndata: {\"token\":\"Hello\"}\n\n" +
		"event: error\ndata: {\"error\":\"the request did not finish within its deadline of 1s\"}\n\n"
	if err != nil || resp.StatusCode != 200 || string(body) != want {
		t.Fatalf("%d %v\n%q\nwant\n%q", resp.StatusCode, err, body, want)
	}
	waitLog(t, logs, "sent=an SSE error event")
}

func TestAPlainAnswerBegunBeforeTheDeadlineEndsAsItStands(t *testing.T) {
	t.Parallel()
	// GIVEN a handler that sends part of a plain answer and then hangs
	release := make(chan struct{})
	defer close(release)
	base, logs := deadlineServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part one, ")
		http.NewResponseController(w).Flush()
		<-release
	}))

	// WHEN it outlasts the deadline and the grace
	resp, err := newClient(t).Get(base + "/run")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()

	// THEN the response ends cleanly with what was sent (a status cannot
	// change once sent), and the log says so
	if err != nil || resp.StatusCode != 200 || string(body) != "part one, " {
		t.Fatalf("%d %q %v", resp.StatusCode, body, err)
	}
	waitLog(t, logs, "sent=nothing more: the answer had begun")
}

func TestAHandlerPanicUnderADeadlineReachesNetHTTPWithItsStack(t *testing.T) {
	t.Parallel()
	// GIVEN a handler that panics at once, and one that panics after the
	// deadline took its response over
	release := make(chan struct{})
	var logs lockedBuffer
	mux := http.NewServeMux()
	mux.HandleFunc("/now", func(http.ResponseWriter, *http.Request) { panic("bug now") })
	mux.HandleFunc("/late", func(http.ResponseWriter, *http.Request) { <-release; panic("bug late") })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	events := make(logEvents, 256)
	srv := &agentkit.Server{
		HTTP:           &http.Server{Handler: mux},
		RequestTimeout: agentkit.MinRequestTimeout,
		Logger:         slog.New(tee{slog.NewJSONHandler(&logs, nil), events}),
	}
	addr, _ := serveInProcess(t, srv)
	client := newClient(t)

	// WHEN both are asked
	_, nowErr := client.Get("http://" + addr + "/now")
	lateCode, _ := get(t, client, "http://"+addr+"/late")
	close(release)
	waitLog(t, events, "agentkit: handler panicked after agentkit answered for it")
	code, body := get(t, client, "http://"+addr+"/ok")

	// THEN the first is net/http's usual panic (logged with the handler's
	// stack, the connection closed), the second was answered 504 and its
	// panic logged, and the process goes on
	if nowErr == nil || lateCode != 504 || code != 200 || body != "ok" {
		t.Fatalf("/now: %v; /late: %d; /ok: %d %q", nowErr, lateCode, code, body)
	}
	l := logs.String()
	for _, want := range []string{"http: panic serving", "bug now", "deadline_test.go", "bug late"} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %q:\n%s", want, l)
		}
	}
}

func TestAHijackedConnectionIsLeftToItsHandler(t *testing.T) {
	t.Parallel()
	// GIVEN a handler that hijacks its connection and answers on it only
	// after the deadline and its grace have passed
	release := make(chan struct{})
	base, logs := deadlineServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		<-release
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		rw.Flush()
	}))

	// WHEN the deadline passes
	respCh := make(chan string, 1)
	go func() {
		resp, err := newClient(t).Get(base + "/ws")
		if err != nil {
			respCh <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		respCh <- string(b)
	}()
	waitLog(t, logs, "sent=nothing: the connection was hijacked")
	close(release)

	// THEN Server wrote nothing on the connection: the handler's answer is
	// the one the client reads
	if got := <-respCh; got != "hijacked" {
		t.Fatalf("client read %q", got)
	}
}

func TestRequestTimeoutComesFromTheEnvironmentAndIsChecked(t *testing.T) {
	cases := []struct {
		env, want string
	}{
		{"60", `agentkit: AGENTKIT_REQUEST_TIMEOUT "60" is not a Go duration (for example "60s"): time: missing unit in duration "60"`},
		{"500ms", `agentkit: AGENTKIT_REQUEST_TIMEOUT 500ms is out of range; use 1s to 10m0s`},
		{"11m", `agentkit: AGENTKIT_REQUEST_TIMEOUT 11m0s is out of range; use 1s to 10m0s`},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			// GIVEN a malformed AGENTKIT_REQUEST_TIMEOUT
			t.Setenv(agentkit.EnvRequestTimeout, c.env)

			// WHEN a server starts
			err := (&agentkit.Server{Logger: quiet}).ListenAndServe(context.Background())

			// THEN it fails at once naming the variable and the value
			if err == nil || err.Error() != c.want {
				t.Fatalf("got  %v\nwant %s", err, c.want)
			}
		})
	}
	t.Run("field", func(t *testing.T) {
		err := (&agentkit.Server{Logger: quiet, RequestTimeout: time.Hour}).ListenAndServe(context.Background())
		if want := "agentkit: Server.RequestTimeout 1h0m0s is out of range; use 1s to 10m0s"; err == nil || err.Error() != want {
			t.Fatalf("got  %v\nwant %s", err, want)
		}
	})
	t.Run("valid", func(t *testing.T) {
		// GIVEN a valid variable, WHEN a handler runs in memory, THEN its
		// request carries that deadline
		t.Setenv(agentkit.EnvRequestTimeout, "45s")
		var srv agentkit.Server
		got := make(chan time.Duration, 1)
		before := time.Now()
		h := srv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			dl, _ := r.Context().Deadline()
			got <- dl.Sub(before)
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/run", nil))
		if d := <-got; d < 45*time.Second || d > 46*time.Second {
			t.Fatalf("deadline %s after the request began; want 45s", d)
		}
	})
}

// tee sends each record to two handlers.
type tee [2]slog.Handler

func (t tee) Enabled(ctx context.Context, l slog.Level) bool { return t[0].Enabled(ctx, l) }
func (t tee) WithAttrs(a []slog.Attr) slog.Handler           { return tee{t[0].WithAttrs(a), t[1].WithAttrs(a)} }
func (t tee) WithGroup(g string) slog.Handler                { return tee{t[0].WithGroup(g), t[1].WithGroup(g)} }
func (t tee) Handle(ctx context.Context, r slog.Record) error {
	t[0].Handle(ctx, r.Clone())
	return t[1].Handle(ctx, r)
}

func TestAStreamToAPeerThatStoppedReadingIsTakenOverAtItsDeadline(t *testing.T) {
	t.Parallel()
	// GIVEN a stream handler that ignores its context and writes as fast as
	// it can, to a client that sends its request and then reads nothing
	late := make(chan error, 1)
	event := strings.Repeat("x", 64<<10)
	base, _ := deadlineStream(t, func(st *agentkit.Stream) {
		for {
			if err := st.Send("token", event); err != nil {
				late <- err
				return
			}
		}
	})
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /run/stream HTTP/1.1\r\nHost: agent\r\n\r\n"); err != nil {
		t.Fatal(err)
	}

	// WHEN the deadline and its grace pass, the handler blocked in a write
	// THEN Server still takes the response over: the write fails, rather
	// than wait on the peer for ever, and the handler can return
	select {
	case err := <-late:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler's write failed with %v, want a deadline", err)
		}
	case <-time.After(30 * time.Second): // a guard against a hang, not a measure
		t.Fatal("the handler's write to the stalled peer is still blocked")
	}
}

func TestTheDeadlinesAnswerArrivesOnTimeWhateverTheBodyDoes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body func(c *rawConn) // sends the body after the header
	}{
		// 10 of 1000 bytes, then nothing
		{"stalled body", func(c *rawConn) { c.send(strings.Repeat("x", 10)) }},
		// one byte every 50ms: 50s for the whole body
		{"trickling body", func(c *rawConn) { go trickle(c, strings.Repeat("x", 1000), 50*time.Millisecond) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// GIVEN a 1s request deadline, a 10-minute read timeout, and a
			// handler that reads the body, ignoring its context
			srv := &agentkit.Server{
				HTTP: &http.Server{ReadTimeout: 10 * time.Minute, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					io.Copy(io.Discard, r.Body)
				})},
				RequestTimeout: agentkit.MinRequestTimeout,
				Logger:         quiet,
			}
			addr, _ := serveInProcess(t, srv)

			// WHEN a client that keeps its connection alive sends a
			// 1000-byte body that stalls or trickles
			c := dialRaw(t, addr)
			start := time.Now()
			c.send("POST /run HTTP/1.1\r\nHost: agent\r\nContent-Length: 1000\r\n\r\n")
			tc.body(c)

			// THEN the 504 arrives at the deadline and its grace (3s),
			// not at the read timeout, saying Connection: close; and the
			// server closes the connection after it
			resp, _ := c.response()
			took := time.Since(start)
			if resp.StatusCode != http.StatusGatewayTimeout || !resp.Close {
				t.Fatalf("got %d, Connection: close %t; want 504 and close", resp.StatusCode, resp.Close)
			}
			if took < agentkit.MinRequestTimeout+agentkit.RequestTimeoutGrace || took > 8*time.Second {
				t.Fatalf("the 504 came after %s; want 3s, far from the 10-minute read timeout", took)
			}
			if !c.closedByServer() {
				t.Fatal("the connection stayed open after the 504")
			}
		})
	}
}

func TestRequestsStillRunningAtTheClosePointAreAnswered503(t *testing.T) {
	t.Parallel()
	// GIVEN a 2s stop timeout (cancel point 500ms, close point 1s), a
	// 1-minute request deadline, metrics on, and two handlers that ignore
	// their context: a plain one and a stream that has sent one event
	release, started := make(chan struct{}), make(chan struct{}, 2)
	t.Cleanup(func() { close(release) })
	var out lockedBuffer
	logs := make(logEvents, 256)
	srv := &agentkit.Server{StopTimeout: 2 * time.Second, RequestTimeout: time.Minute, Logger: slog.New(logs),
		Metrics: &agentkit.Metrics{Service: "web", Output: &out}}
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		st, err := srv.Stream(w, r)
		if err != nil {
			t.Error(err)
			return
		}
		defer st.Close()
		st.Send("token", `{"token":"Hello"}`)
		started <- struct{}{}
		<-release
	})
	srv.HTTP = &http.Server{Handler: mux}
	addr, stop := serveInProcess(t, srv)
	type result struct {
		resp *http.Response
		body string
		err  error
	}
	ask := func(path string) <-chan result {
		ch := make(chan result, 1)
		go func() {
			resp, err := newClient(t).Get("http://" + addr + path)
			if err != nil {
				ch <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			ch <- result{resp, string(b), err}
		}()
		return ch
	}
	plain, stream := ask("/plain"), ask("/stream")
	<-started
	<-started

	// WHEN the drain reaches its close point with both still running
	serveErr := stop()

	// THEN the plain request gets a whole 503 saying to retry, with
	// Retry-After and Connection: close; the stream gets an error event,
	// then a clean end; Serve reports the cut; the log says what was sent;
	// and the metrics count both as cut by the drain
	msg := `{"error":"the server is stopping and the request did not finish in time; retry it"}`
	p := <-plain
	if p.err != nil || p.resp.StatusCode != 503 || p.body != msg+"\n" || p.resp.Header.Get("Retry-After") != "1" || !p.resp.Close {
		t.Fatalf("plain: %v %q, err %v", p.resp, p.body, p.err)
	}
	s := <-stream
	if want := "event: token\ndata: {\"token\":\"Hello\"}\n\nevent: error\ndata: " + msg + "\n\n"; s.err != nil || s.body != want {
		t.Fatalf("stream: %q, err %v\nwant %q", s.body, s.err, want)
	}
	if !errors.Is(serveErr, agentkit.ErrDrainTimeout) {
		t.Fatalf("Serve() = %v", serveErr)
	}
	waitLog(t, logs, "agentkit: drain deadline reached and the handler did not answer; agentkit answered for it method=GET path=/plain deadline=1m0s sent=503")
	docs := emfLines(t, out.String())
	if cut := docs[len(docs)-1].Members[agentkit.MetricDrainCut]; cut != 2.0 {
		t.Fatalf("DrainCut %v, want 2", cut)
	}
}
