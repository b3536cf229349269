package agentkit_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/leakcheck"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
	"github.com/agentcdk/agentcdk/internal/testparallel"
)

// The process tests run this test binary a second time as a real server (or
// probe): TestMain looks at helperEnv and, when it is set, runs the helper
// instead of the tests.
const helperEnv = "AGENTKIT_TEST_HELPER"

// testParallel is how many of this package's tests run at once unless
// -parallel says otherwise (package testparallel says why). Each drain test
// signals only the server process it started, never this one, so they may
// overlap.
const testParallel = 16

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
	case "serve":
		os.Exit(helperServe())
	case "probe":
		os.Exit(agentkit.RunProbe())
	case "notify-rounds":
		os.Exit(helperNotifyRounds())
	case "early":
		os.Exit(helperEarly())
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
	if err := testparallel.Default(testParallel); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(leakcheck.Run(m))
}

// helperServe is the server process of the drain tests. It prints one line
// on stdout for every event the tests wait for.
func helperServe() int {
	var outMu sync.Mutex
	say := func(args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Println(args...)
	}
	closeDelay, _ := time.ParseDuration(os.Getenv("HELPER_CLOSE_DELAY"))
	srv := &agentkit.Server{
		CloseDelay: closeDelay,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	mux := http.NewServeMux()
	// GET /work?id=X&chunks=N&gap=D writes N chunks of body(X), D apart.
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		chunks, _ := strconv.Atoi(r.URL.Query().Get("chunks"))
		gap, _ := time.ParseDuration(r.URL.Query().Get("gap"))
		say("got", id)
		rc := http.NewResponseController(w)
		for i := range chunks {
			if i > 0 {
				time.Sleep(gap) // ignores the context: the drain must wait
			}
			w.Write(chunk(id, i))
			rc.Flush()
		}
		say("done", id)
	})
	// POST /echo reads the whole body and answers how long it was: 408
	// when the read timed out, 503 when the drain's cancel point cut it.
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		say("echo reading")
		n, err := io.Copy(io.Discard, r.Body)
		code := http.StatusOK
		switch {
		case errors.Is(context.Cause(r.Context()), agentkit.ErrDrainTimeout):
			code = http.StatusServiceUnavailable
		case errors.Is(err, os.ErrDeadlineExceeded):
			code = http.StatusRequestTimeout
		case err != nil:
			code = http.StatusBadRequest
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "read %d bytes", n)
		say("echo answered", code)
	})
	mux.HandleFunc("GET /hang", func(w http.ResponseWriter, r *http.Request) {
		say("hang")
		time.Sleep(time.Hour)
	})
	// POST /job?d=D starts a job that takes D unless cancelled.
	mux.HandleFunc("POST /job", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		err := srv.Go(func(ctx context.Context) error {
			say("job started")
			select {
			case <-time.After(d):
				say("job done")
			case <-ctx.Done():
				say("job cancelled:", context.Cause(ctx))
			}
			return nil
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	// GET /job-after-drain tries to start a job once the drain has begun.
	mux.HandleFunc("GET /job-after-drain", func(w http.ResponseWriter, r *http.Request) {
		say("waiting for drain")
		<-srv.Draining()
		err := srv.Go(func(context.Context) error { return nil })
		say("go after drain:", err)
		fmt.Fprint(w, "go after drain: ", err)
	})
	// GET /stream?d=D sends "start", stays quiet for D (heartbeats only),
	// then sends "end"; it reports the drain and a cancelled context.
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		st, err := srv.Stream(w, r)
		if err != nil {
			say("stream:", err)
			return
		}
		defer st.Close()
		st.Send("start", "")
		say("stream started")
		end := time.NewTimer(d)
		defer end.Stop()
		draining := st.Draining()
		for {
			select {
			case <-end.C:
				st.Send("end", "")
				return
			case <-draining:
				draining = nil
				st.Send("draining", "")
			case <-r.Context().Done():
				st.Send("cancelled", context.Cause(r.Context()).Error())
				say("stream cancelled")
				return
			}
		}
	})
	readTimeout, _ := time.ParseDuration(os.Getenv("HELPER_READ_TIMEOUT"))
	var holdAccept atomic.Bool
	holdAccept.Store(os.Getenv("HELPER_HOLD_ACCEPT") != "")
	srv.HTTP = &http.Server{
		Handler:     mux,
		ReadTimeout: readTimeout,
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				say("conn", c.RemoteAddr())
				if holdAccept.CompareAndSwap(true, false) {
					// The accept loop waits here: later connections
					// stay in the kernel's backlog until the drain.
					<-srv.Draining()
				}
			}
		},
	}
	go func() {
		<-srv.Draining()
		say("draining")
	}()
	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		say("listen:", err)
		return 2
	}
	if os.Getenv("HELPER_OPAQUE_LISTENER") != "" {
		l = opaqueListener{l, l.(*net.TCPListener)}
	}
	say("listening", l.Addr())
	err = srv.Serve(context.Background(), l)
	say("serve returned:", err)
	if err != nil {
		return 1
	}
	return 0
}

// helperNotifyRounds is the process of the NotifyContext tests: it serves
// HELPER_ROUNDS times in a row, each time as a Go main usually does, with a
// context from signal.NotifyContext passed to Serve, and prints "listening
// ADDR" when a round begins and "returned: ERR" when its Serve returns.
// GET /work?id=X prints "got X", and once the drain has begun, answers in
// two chunks 20ms apart; GET /work?id=hang never answers, ignoring its
// context. It prints "draining" when a drain begins. HELPER_LISTENERS other channels listen for SIGTERM,
// as other parts of a program may: os/signal delivers a signal to one
// listener after another, and they widen the gap between the copy that
// ends the context and the copy Serve gets.
func helperNotifyRounds() int {
	rounds, _ := strconv.Atoi(os.Getenv("HELPER_ROUNDS"))
	listeners, _ := strconv.Atoi(os.Getenv("HELPER_LISTENERS"))
	for range listeners {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM)
	}
	var outMu sync.Mutex
	say := func(args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Println(args...)
	}
	for range rounds {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		srv := &agentkit.Server{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
		srv.HTTP = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.URL.Query().Get("id")
			say("got", id)
			if id == "hang" {
				time.Sleep(time.Hour)
			}
			<-srv.Draining()
			for i := range 2 {
				if i > 0 {
					time.Sleep(20 * time.Millisecond)
				}
				w.Write(chunk(id, i))
				http.NewResponseController(w).Flush()
			}
		})}
		go func() {
			<-srv.Draining()
			say("draining")
		}()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			say("listen:", err)
			return 2
		}
		say("listening", l.Addr())
		err = srv.Serve(ctx, l)
		stop()
		say("returned:", err)
	}
	return 0
}

// helperEarly is a program whose main begins as the package documentation
// recommends: signal.NotifyContext first, its context passed to
// ListenAndServe. It prints "hooked" once the hook is in place; its
// start-up (loading a model, warming a cache) then lasts until the context
// ends or 10s pass, after which it serves on a free loopback port and
// prints "serve returned: ERR".
func helperEarly() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fmt.Println("hooked")
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	srv := &agentkit.Server{Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), HTTP: &http.Server{Addr: "127.0.0.1:0"}}
	err := srv.ListenAndServe(ctx)
	fmt.Println("serve returned:", err)
	if err != nil {
		return 1
	}
	return 0
}

// opaqueListener hides its socket, as a listener that is not a plain TCP
// one does: the drain cannot ask the kernel how many connections wait, and
// sweeps the backlog by deadline instead.
type opaqueListener struct {
	net.Listener
	tcp *net.TCPListener
}

func (l opaqueListener) SetDeadline(t time.Time) error { return l.tcp.SetDeadline(t) }

// chunk is the i-th 4 KiB piece of the body /work answers for id.
func chunk(id string, i int) []byte {
	line := fmt.Sprintf("%s:%d;", id, i)
	return bytes.Repeat([]byte(line), 4096/len(line)+1)[:4096]
}

func wholeBody(id string, chunks int) []byte {
	var b []byte
	for i := range chunks {
		b = append(b, chunk(id, i)...)
	}
	return b
}

// proc is a helper process and what it printed.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	stderr lockedBuffer
	done   chan struct{}
	exit   int

	mu    sync.Mutex
	lines []string
	next  int // lines before next were consumed by waitLine
	more  chan struct{}
}

// lockedBuffer collects output written by one goroutine and read by others.
type lockedBuffer = syncbuf.Buffer

// startHelper runs this test binary as a helper in the given mode, with env
// added to the environment, and for "serve" waits until it listens.
func startHelper(t *testing.T, mode string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// Under -race the helper would sleep 1s before exiting (GORACE
	// atexit_sleep_ms); the tests time the exit.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), append([]string{helperEnv + "=" + mode, "GORACE=" + gorace}, env...)...)
	p := &proc{t: t, cmd: cmd, done: make(chan struct{}), more: make(chan struct{}, 1)}
	cmd.Stderr = &p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(out)
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() || os.Getenv("HELPER_LOG") != "" {
			t.Logf("helper stdout:\n%s\nhelper stderr:\n%s", strings.Join(p.allLines(), "\n"), p.stderr.String())
		}
	})
	if mode == "serve" {
		p.addr = strings.TrimPrefix(p.waitLine("listening "), "listening ")
	}
	return p
}

func (p *proc) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.mu.Unlock()
		select {
		case p.more <- struct{}{}:
		default:
		}
	}
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		p.exit = ee.ExitCode()
	} else if err != nil {
		p.exit = -1
	}
	close(p.done)
}

func (p *proc) allLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitLine returns the first line not yet consumed that starts with prefix,
// consuming the lines up to it. It fails the test after 10s or at exit.
func (p *proc) waitLine(prefix string) string {
	p.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		p.mu.Lock()
		for i := p.next; i < len(p.lines); i++ {
			if strings.HasPrefix(p.lines[i], prefix) {
				p.next = i + 1
				line := p.lines[i]
				p.mu.Unlock()
				return line
			}
		}
		p.mu.Unlock()
		select {
		case <-p.more:
		case <-p.done:
			// One last look: the line may have come with the exit.
			p.mu.Lock()
			for i := p.next; i < len(p.lines); i++ {
				if strings.HasPrefix(p.lines[i], prefix) {
					p.next = i + 1
					line := p.lines[i]
					p.mu.Unlock()
					return line
				}
			}
			p.mu.Unlock()
			p.t.Fatalf("helper exited (code %d) before printing %q", p.exit, prefix)
		case <-timeout:
			p.t.Fatalf("helper did not print %q within 10s", prefix)
		}
	}
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the helper to exit, at most within, and returns its exit code.
func (p *proc) wait(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.exit
	case <-time.After(within):
		p.t.Fatalf("helper still running after %s", within)
		return 0
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) url(path string) string {
	return "http://" + p.addr + path
}

// newClient returns a client that opens a fresh connection per request and
// is cleaned up with the test.
func newClient(t *testing.T) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// isRefused reports whether err says the connection was never made: the
// connect was refused, or reset during the handshake. A listener that
// closes with handshakes still in its SYN queue resets them, and connect(2)
// then fails with ECONNRESET; no request went out on such a connection.
func isRefused(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) ||
		errors.As(err, &op) && op.Op == "dial" && errors.Is(err, syscall.ECONNRESET)
}
