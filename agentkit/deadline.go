package agentkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrRequestTimeout is the cause (see context.Cause) of a request context
// that reached the request deadline, Server.RequestTimeout. A handler that
// sees it answers at once (the example agent sends 504 with a body saying
// so, or an SSE "error" event); otherwise Server answers for it after
// RequestTimeoutGrace, as "The request deadline" in the package
// documentation says.
var ErrRequestTimeout = errors.New("agentkit: request deadline reached")

// serveDeadline serves r under the request deadline d. The handler runs in
// a goroutine of its own, as http.TimeoutHandler runs it, so that a handler
// that ignores its context cannot hold the response past the deadline; but
// unlike TimeoutHandler nothing is buffered, so streams stream. The same
// goroutine split lets the drain answer at its close point for a handler
// still running.
func (t *tracked) serveDeadline(w http.ResponseWriter, r *http.Request, d time.Duration) {
	t.s.underDeadline.Add(1)
	defer t.s.underDeadline.Add(-1)
	ctx, cancel := context.WithTimeoutCause(r.Context(), d, ErrRequestTimeout)
	defer cancel()
	g := &deadlineWriter{w: w}
	done := make(chan any, 1)
	go func() {
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				p = fmt.Sprintf("%v\n\n%s", p, debug.Stack())
			}
			if !g.handlerReturned() {
				// Server answered for it and has moved on: nobody will
				// read done, so the panic is reported here.
				if p != nil {
					t.s.logger().Error("agentkit: handler panicked after agentkit answered for it", "panic", fmt.Sprint(p))
				}
				return
			}
			done <- p
		}()
		t.next.ServeHTTP(g, r.WithContext(ctx))
	}()

	timer := time.NewTimer(d + RequestTimeoutGrace)
	defer timer.Stop()
	var a answer
	select {
	case p := <-done:
		g.finish()
		if p != nil {
			panic(p) // net/http recovers it, logs it and closes the connection
		}
		return
	case <-timer.C:
		a = answer{write: RequestTimeoutGrace, refusal: refusal{status: http.StatusGatewayTimeout,
			msg: fmt.Sprintf("the request did not finish within its deadline of %s", d)},
			log: "agentkit: request deadline reached and the handler did not answer; agentkit answered for it"}
	case <-t.closing:
		a = answer{write: closeAnswerWait, refusal: refusal{status: http.StatusServiceUnavailable, retryAfter: "1",
			msg: "the server is stopping and the request did not finish in time; retry it"},
			log: "agentkit: drain deadline reached and the handler did not answer; agentkit answered for it"}
	}
	// A handler blocked writing to a peer that stopped reading holds the
	// writer's lock: a write deadline frees it, and bounds the answer
	// written below. net/http sets no write deadline of its own (agentkit
	// leaves WriteTimeout zero), so it is cleared afterwards.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(a.write))
	defer rc.SetWriteDeadline(time.Time{})
	sent, ok := g.takeOver(a)
	if !ok { // the handler returned just now
		p := <-done
		g.finish()
		if p != nil {
			panic(p)
		}
		return
	}
	if !g.hijacked {
		// What is left of the request body is never read: the handler's
		// read, perhaps blocked on a body that stalls or trickles, fails
		// now, and the body is closed here, while the past read deadline
		// makes net/http's close of it (which reads up to 256 KB of what
		// is left) give up at once. Left to net/http's own close, after
		// this returns, that read would wait for the client: net/http
		// clears the read deadline before it (connReader's
		// abortPendingRead in (*response).finishRequest).
		rc.SetReadDeadline(time.Now())
		r.Body.Close()
	}
	t.s.logger().Warn(a.log, "method", r.Method, "path", r.URL.Path, "deadline", d.String(), "sent", sent)
}

// closeAnswerWait is how long, at most, the drain's close point waits for
// the answers Server writes for the handlers still running under a request
// deadline before it closes the connections: a write to a peer that does
// not read gives up then. At least a second is left between the close point
// and SIGKILL (see DrainDeadlines).
const closeAnswerWait = 250 * time.Millisecond

// answer is what Server answers for a handler it takes a response from.
type answer struct {
	refusal // when nothing was sent yet; its msg goes in the SSE error event
	write   time.Duration
	log     string
}

// deadlineWriter is the ResponseWriter a handler under a request deadline
// writes to. It passes every write through, unbuffered, until Server takes
// the response over (at the deadline's grace, or at the drain's close
// point) without the handler having returned; from then on the handler's
// writes fail with http.ErrHandlerTimeout and Server owns the response.
//
// The handler gets a header map of its own, copied to the real one when it
// writes the header and when it returns (trailers), so that a handler still
// running after the deadline never touches a map net/http reads.
type deadlineWriter struct {
	w      http.ResponseWriter
	header http.Header // the handler's; touched by the handler only

	mu       sync.Mutex
	wrote    bool // the final status has been sent
	stream   bool // the response is a text/event-stream
	hijacked bool
	returned bool // the handler returned first: Server waits for it
	expired  bool // Server took the response over: the handler's writes fail
}

func (g *deadlineWriter) Header() http.Header {
	if g.header == nil {
		g.header = make(http.Header)
	}
	return g.header
}

func (g *deadlineWriter) WriteHeader(code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.expired || g.hijacked {
		return
	}
	g.writeHeaderLocked(code)
}

func (g *deadlineWriter) writeHeaderLocked(code int) {
	maps.Copy(g.w.Header(), g.header)
	if code >= 200 && !g.wrote {
		g.wrote = true
		g.stream = strings.HasPrefix(g.header.Get("Content-Type"), "text/event-stream")
	}
	g.w.WriteHeader(code)
}

func (g *deadlineWriter) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.expired {
		return 0, http.ErrHandlerTimeout
	}
	if !g.wrote && !g.hijacked {
		g.writeHeaderLocked(http.StatusOK)
	}
	return g.w.Write(b)
}

// FlushError makes http.ResponseController.Flush come here, under the lock,
// rather than unwrap to the real writer.
func (g *deadlineWriter) FlushError() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.expired {
		return http.ErrHandlerTimeout
	}
	if !g.wrote && !g.hijacked {
		g.writeHeaderLocked(http.StatusOK)
	}
	return http.NewResponseController(g.w).Flush()
}

// Flush is FlushError for callers that use http.Flusher.
func (g *deadlineWriter) Flush() { g.FlushError() }

// Hijack hands the connection to the handler; the deadline then no longer
// applies to it, since nothing is left for Server to answer on.
func (g *deadlineWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.expired {
		return nil, nil, http.ErrHandlerTimeout
	}
	c, rw, err := http.NewResponseController(g.w).Hijack()
	if err == nil {
		g.hijacked = true
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the real writer for what
// writes nothing: read and write deadlines, full duplex. Once Server has
// taken the response over there is nothing left to reach (the controller
// then answers http.ErrNotSupported).
func (g *deadlineWriter) Unwrap() http.ResponseWriter {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.expired {
		return nil
	}
	return g.w
}

// handlerReturned records that the handler has returned, and reports
// whether it did so before Server took the response over.
func (g *deadlineWriter) handlerReturned() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.expired {
		return false
	}
	g.returned = true
	return true
}

// finish copies what the handler put in its header map after the header
// was written (trailers; or every header when it wrote nothing), once the
// handler has returned.
func (g *deadlineWriter) finish() {
	if !g.hijacked && g.header != nil {
		maps.Copy(g.w.Header(), g.header)
	}
}

// takeOver takes the response over from the handler, unless the handler
// has returned (ok false). It answers what can still be answered: a's
// status when nothing was sent, an SSE "error" event on a stream; a plain
// answer already begun is ended as it stands. Either way net/http closes
// the connection after the answer (see closeAfterAnswer): the handler
// still runs and may still hold the request body.
func (g *deadlineWriter) takeOver(a answer) (sent string, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.returned {
		return "", false
	}
	g.expired = true
	if g.hijacked {
		return "nothing: the connection was hijacked", true
	}
	switch {
	case !g.wrote:
		writeError(g.w, a.refusal, true)
		http.NewResponseController(g.w).Flush()
		return strconv.Itoa(a.status), true
	case g.stream:
		closeAfterAnswer(g.w)
		g.w.Write([]byte("event: error\ndata: " + jsonError(a.msg) + "\n\n"))
		http.NewResponseController(g.w).Flush()
		return "an SSE error event", true
	default:
		closeAfterAnswer(g.w)
		return "nothing more: the answer had begun; it ends as it stands", true
	}
}

// closeAfterAnswer makes net/http close the connection once the answer is
// sent, in the way it closes after a request body that went over
// http.MaxBytesReader's limit, which is the one public way to ask for it
// ("it tells the ResponseWriter to close the connection"). In net/http's
// server.go, (*response).requestTooLarge then sets closeAfterReply and
// requestBodyLimitHit:
//
//   - with closeAfterReply set before the header is written,
//     (*chunkWriter).writeHeader does not read what is left of the request
//     body before it writes the answer, as it otherwise does on a
//     connection it keeps (up to 256 KB, until the body ends or the read
//     timeout passes), which would hold a deadline's 504 until the read
//     timeout when the body stalls or trickles;
//   - with requestBodyLimitHit, (*conn).serve closes by closeWriteAndWait:
//     a FIN after the answer, then a pause before the close, so that the
//     body's unread bytes do not turn the close into a reset that can
//     destroy the answer at the client.
//
// MaxBytesReader tells the writer it is given, so w is unwrapped to
// net/http's own first (Server's writers have Unwrap).
func closeAfterAnswer(w http.ResponseWriter) {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	http.MaxBytesReader(w, io.NopCloser(strings.NewReader("x")), 0).Read(make([]byte, 1))
}
