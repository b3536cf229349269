package agentkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"runtime/debug"
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
// unlike TimeoutHandler nothing is buffered, so streams stream.
func (t *tracked) serveDeadline(w http.ResponseWriter, r *http.Request, d time.Duration) {
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
				// Server answered at the deadline and has moved on: nobody
				// will read done, so the panic is reported here.
				if p != nil {
					t.s.logger().Error("agentkit: handler panicked after its request deadline", "panic", fmt.Sprint(p))
				}
				return
			}
			done <- p
		}()
		t.next.ServeHTTP(g, r.WithContext(ctx))
	}()

	timer := time.NewTimer(d + RequestTimeoutGrace)
	defer timer.Stop()
	select {
	case p := <-done:
		g.finish()
		if p != nil {
			panic(p) // net/http recovers it, logs it and closes the connection
		}
	case <-timer.C:
		// A handler blocked writing to a peer that stopped reading holds
		// the writer's lock: a write deadline frees it, and bounds the
		// answer written below. net/http sets no write deadline of its own
		// (agentkit leaves WriteTimeout zero), so it is cleared afterwards
		// for the connection's next request.
		rc := http.NewResponseController(w)
		rc.SetWriteDeadline(time.Now().Add(RequestTimeoutGrace))
		defer rc.SetWriteDeadline(time.Time{})
		sent, ok := g.expire(d)
		if !ok { // the handler returned just now
			p := <-done
			g.finish()
			if p != nil {
				panic(p)
			}
			return
		}
		t.s.logger().Warn("agentkit: request deadline reached and the handler did not answer; agentkit answered for it",
			"method", r.Method, "path", r.URL.Path, "deadline", d.String(), "sent", sent)
	}
}

// deadlineWriter is the ResponseWriter a handler under a request deadline
// writes to. It passes every write through, unbuffered, until the deadline
// passes without the handler having returned; from then on the handler's
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
	expired  bool // the deadline passed first: the handler's writes fail
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
// whether it did so before the deadline took the response over.
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

// expire takes the response over at the end of the grace after the
// deadline d, unless the handler has returned (ok false). It answers what
// can still be answered: a 504 when nothing was sent, an SSE "error" event
// on a stream; a plain answer already begun is ended as it stands.
func (g *deadlineWriter) expire(d time.Duration) (sent string, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.returned {
		return "", false
	}
	g.expired = true
	msg := fmt.Sprintf(`{"error":"the request did not finish within its deadline of %s"}`, d)
	switch {
	case g.hijacked:
		return "nothing: the connection was hijacked", true
	case !g.wrote:
		h := g.w.Header()
		clear(h)
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		g.w.WriteHeader(http.StatusGatewayTimeout)
		g.w.Write([]byte(msg + "\n"))
		return "504", true
	case g.stream:
		g.w.Write([]byte("event: error\ndata: " + msg + "\n\n"))
		http.NewResponseController(g.w).Flush()
		return "an SSE error event", true
	default:
		return "nothing more: the answer had begun; it ends as it stands", true
	}
}
