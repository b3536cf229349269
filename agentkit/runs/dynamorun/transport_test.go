package dynamorun_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
)

// wire is an http.RoundTripper between the SDK and moto that counts the
// requests per DynamoDB operation and, when armed, loses the answer of an
// operation's next requests after moto has carried them out (the read
// meets a connection reset, as when a network path fails after the write),
// or answers them itself with a throttling error without sending them.
type wire struct {
	next http.RoundTripper

	mu       sync.Mutex
	sent     map[string]int    // requests that reached moto, per operation
	lose     map[string]int    // answers to lose, per operation
	throttle map[string]int    // requests to refuse, per operation
	code     map[string]string // the error code to refuse them with
	bodies   map[string][]string
}

func newWire(next http.RoundTripper) *wire {
	return &wire{next: next, sent: map[string]int{}, lose: map[string]int{}, throttle: map[string]int{}, code: map[string]string{}, bodies: map[string][]string{}}
}

// op is the DynamoDB operation a request calls ("PutItem").
func op(req *http.Request) string {
	return strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	name := op(req)
	w.mu.Lock()
	if w.throttle[name] > 0 {
		w.throttle[name]--
		code := w.code[name]
		w.mu.Unlock()
		if req.Body != nil {
			_ = req.Body.Close()
		}
		body := `{"__type":"com.amazonaws.dynamodb.v20120810#` + code + `","message":"Rate of requests exceeds the allowed throughput."}`
		return &http.Response{
			StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/x-amz-json-1.0"}},
			Body:          io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)),
			Request:       req,
		}, nil
	}
	w.sent[name]++
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			w.mu.Unlock()
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		w.bodies[name] = append(w.bodies[name], string(body))
	}
	lose := w.lose[name] > 0
	if lose {
		w.lose[name]--
	}
	w.mu.Unlock()
	resp, err := w.next.RoundTrip(req)
	if err != nil || !lose {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
}

// loseNext makes the next n answers to operation name lost.
func (w *wire) loseNext(name string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lose[name] = n
}

// throttleNext answers the next n requests for operation name with code.
func (w *wire) throttleNext(name, code string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.throttle[name], w.code[name] = n, code
}

// count returns how many requests for operation name reached moto.
func (w *wire) count(name string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent[name]
}

// requests returns the bodies of the requests for operation name that
// reached moto.
func (w *wire) requests(name string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bodies[name]...)
}
