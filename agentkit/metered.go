package agentkit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// serveMetered serves r as serve does, recording its status and latency.
// The status comes from a pooled writer, so a request still costs no
// allocation; its latency from the meter's clock.
func (t *tracked) serveMetered(w http.ResponseWriter, r *http.Request, inflight int64) {
	m := t.meter
	m.Began(inflight)
	// Under a deadline a handler may outlive serve, still holding sw
	// (through http.ResponseController's Unwrap): that writer is its own,
	// never reused. The deadline path allocates a dozen things already.
	var sw *statusWriter
	if t.deadline == 0 {
		sw = statusWriters.Get().(*statusWriter)
		*sw = statusWriter{w: w, pooled: true}
	} else {
		sw = &statusWriter{w: w}
	}
	start := m.Now()
	defer settle(m, sw, start)
	t.serve(sw, r)
	sw.returned = true
}

// settle records the request that sw answered, and gives sw back. A
// handler that panicked (net/http then closes the connection, and the load
// balancer answers 502) counts as a 5xx.
func settle(m *meter.Meter, sw *statusWriter, start int64) {
	status := sw.status
	switch {
	case !sw.returned:
		status = http.StatusInternalServerError
	case status == 0:
		status = http.StatusOK // net/http's answer to a handler that wrote nothing
	}
	m.Answered(status, start)
	if sw.pooled {
		*sw = statusWriter{}
		statusWriters.Put(sw)
	}
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

// statusWriter notes the status a handler answers with. It passes
// everything through, and has the optional interfaces of net/http's own
// writer (http.Flusher, http.Hijacker, io.ReaderFrom, and Unwrap for
// http.ResponseController), so that handlers see no difference.
type statusWriter struct {
	w        http.ResponseWriter
	status   int
	returned bool
	pooled   bool
}

func (s *statusWriter) Header() http.Header { return s.w.Header() }

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.w.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.w.Write(b)
}

func (s *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if rf, ok := s.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{s.w}, r)
}

// writerOnly hides a writer's ReadFrom, so io.Copy does not loop back.
type writerOnly struct{ io.Writer }

func (s *statusWriter) FlushError() error {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return http.NewResponseController(s.w).Flush()
}

func (s *statusWriter) Flush() { s.FlushError() }

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.status = http.StatusSwitchingProtocols
	return http.NewResponseController(s.w).Hijack()
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.w }
