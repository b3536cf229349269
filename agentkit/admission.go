package agentkit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// admission is the in-flight cap: a slot per request being served, and a
// bounded line of requests waiting for one (see "Admission" in the package
// documentation).
type admission struct {
	slots   chan struct{} // one token per admitted request
	waiting atomic.Int64  // requests waiting for a slot
	maxWait int64         // the line's bound: as many as there are slots
	wait    time.Duration // how long one waits before it is refused
}

// newAdmission is the cap of n slots with a wait of wait; nil (no cap)
// when n is 0.
func newAdmission(n int, wait time.Duration) *admission {
	if n <= 0 {
		return nil
	}
	return &admission{slots: make(chan struct{}, n), maxWait: int64(n), wait: wait}
}

// verdict is what admission decided for one request.
type verdict int

const (
	admitted  verdict = iota // it holds a slot: release it when done
	refused                  // answer it 503
	cancelled                // its context ended while it waited (the client left, or the drain's cancel point): answer it 503, uncounted
)

// acquire takes a slot at once when one is free; else it waits in line
// for up to a.wait, unless the line is full or the request's context ends.
func (a *admission) acquire(ctx context.Context) verdict {
	select {
	case a.slots <- struct{}{}:
		return admitted
	default:
	}
	if a.wait <= 0 {
		return refused
	}
	if a.waiting.Add(1) > a.maxWait {
		a.waiting.Add(-1)
		return refused
	}
	defer a.waiting.Add(-1)
	timer := time.NewTimer(a.wait)
	defer timer.Stop()
	// Senders blocked on a channel are served first come, first served.
	select {
	case a.slots <- struct{}{}:
		return admitted
	case <-timer.C:
		return refused
	case <-ctx.Done():
		return cancelled
	}
}

func (a *admission) release() { <-a.slots }

// refusal is an answer Server gives in place of the handler.
type refusal struct {
	status     int
	retryAfter string // the Retry-After header; "" for none
	msg        string // the error, in the JSON body
	challenge  string // the WWW-Authenticate header; "" for none
}

// overloaded is the in-flight cap's refusal.
var overloaded = refusal{status: http.StatusServiceUnavailable, retryAfter: strconv.Itoa(AdmissionRetryAfter),
	msg: "the server is at its limit of requests in flight; retry the request"}

// tooLarge is the request-body limit's refusal.
func tooLarge(limit int64) refusal {
	return refusal{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("request body is larger than %d bytes", limit)}
}

// refuse answers r with a instead of calling the handler. Every limit
// Server enforces before the handler answers through it (a per-caller
// limit answers 429 the same way). A request with a body gets its answer
// at once, without the rest of its body being read, and its connection is
// closed after it; a request without one keeps its connection.
func refuse(w http.ResponseWriter, r *http.Request, a refusal) {
	writeError(w, a, r.ContentLength != 0)
}

// writeError writes a's answer, a.status with a.msg as {"error": msg}: the
// one form of the answers agentkit writes for a request (a refusal, a
// deadline's 504, the drain's 503). With closeConn, net/http closes the
// connection after it without reading what is left of the request body
// first (see closeAfterAnswer). Nothing may have been written to w.
func writeError(w http.ResponseWriter, a refusal, closeConn bool) {
	h := w.Header()
	clear(h)
	if closeConn {
		closeAfterAnswer(w)
		h.Set("Connection", "close")
	}
	body := jsonError(a.msg) + "\n"
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	// A length, so that the answer is whole once flushed, whatever
	// happens to the connection after.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	if a.challenge != "" {
		h.Set("WWW-Authenticate", a.challenge)
	}
	w.WriteHeader(a.status)
	io.WriteString(w, body)
}

// jsonError is {"error": msg}.
func jsonError(msg string) string {
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	return string(b)
}

// limitBody makes r's body, of unknown length (chunked), fail once it
// grows past limit, and has the answer then be 413 when the handler has
// not begun one: it returns the writer the handler is to write to. A body
// of known length never needs it: a Content-Length above the limit is
// refused before the handler, and net/http reads no further than it.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64, m *meter.Meter) http.ResponseWriter {
	lw := &limitWriter{w: w, r: r, limit: limit, meter: m}
	r.Body = &limitReader{body: r.Body, left: limit, lw: lw}
	return lw
}

// limitReader is http.MaxBytesReader that tells its limitWriter when the
// limit is crossed.
type limitReader struct {
	body io.ReadCloser
	left int64
	lw   *limitWriter
	err  error // once the limit is crossed
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// One byte more than allowed, to tell a body of exactly the limit
	// from a larger one.
	if int64(len(p))-1 > l.left {
		p = p[:l.left+1]
	}
	n, err := l.body.Read(p)
	if int64(n) <= l.left {
		l.left -= int64(n)
		return n, err
	}
	n = int(l.left)
	l.left = 0
	l.err = &http.MaxBytesError{Limit: l.lw.limit}
	l.lw.crossed()
	return n, l.err
}

func (l *limitReader) Close() error { return l.body.Close() }

// limitWriter passes the handler's answer through until its body reader
// crosses the limit without an answer begun: then it answers 413 itself,
// and the handler's later writes fail with the same *http.MaxBytesError
// as its reads. It has the optional interfaces of net/http's own writer.
type limitWriter struct {
	w     http.ResponseWriter
	r     *http.Request
	limit int64
	meter *meter.Meter // nil: no metrics

	mu       sync.Mutex
	wrote    bool // the handler began its answer
	answered bool // the limit was crossed first: the 413 is sent
}

// crossed answers 413 unless the handler has begun its answer.
func (l *limitWriter) crossed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.meter != nil {
		l.meter.TooLarge()
	}
	if l.wrote || l.answered {
		return
	}
	l.answered = true
	a := tooLarge(l.limit)
	writeError(l.w, a, true)
	http.NewResponseController(l.w).Flush()
}

func (l *limitWriter) Header() http.Header { return l.w.Header() }

func (l *limitWriter) WriteHeader(code int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answered {
		return
	}
	if code >= 200 {
		l.wrote = true
	}
	l.w.WriteHeader(code)
}

func (l *limitWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answered {
		return 0, &http.MaxBytesError{Limit: l.limit}
	}
	l.wrote = true
	return l.w.Write(b)
}

// FlushError makes http.ResponseController.Flush come here, under the lock.
func (l *limitWriter) FlushError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answered {
		return &http.MaxBytesError{Limit: l.limit}
	}
	l.wrote = true
	return http.NewResponseController(l.w).Flush()
}

// Flush is FlushError for callers that use http.Flusher.
func (l *limitWriter) Flush() { l.FlushError() }

// Hijack hands the connection to the handler; the limit then writes
// nothing more.
func (l *limitWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.answered {
		return nil, nil, &http.MaxBytesError{Limit: l.limit}
	}
	c, rw, err := http.NewResponseController(l.w).Hijack()
	if err == nil {
		l.wrote = true
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach the writer beneath for what
// writes nothing (read and write deadlines, full duplex).
func (l *limitWriter) Unwrap() http.ResponseWriter { return l.w }
