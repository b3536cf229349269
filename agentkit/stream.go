package agentkit

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/internal/meter"
)

// heartbeat is an SSE comment: clients ignore it, the load balancer sees a
// byte and keeps the connection.
var heartbeat = []byte(": heartbeat\n\n")

// errStreamClosed is returned by Send after Close.
var errStreamClosed = errors.New("agentkit: stream closed")

// A Stream writes server-sent events (text/event-stream) to one response and
// sends a heartbeat comment whenever nothing was written for
// HeartbeatInterval(IdleTimeout), so the load balancer's idle timeout never
// cuts a stream that is waiting for a slow model.
//
// Send and the heartbeat may run concurrently; call Close before the handler
// returns (defer st.Close()).
type Stream struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	interval time.Duration
	draining <-chan struct{}

	mu     sync.Mutex
	buf    []byte
	last   time.Time // of the last write
	err    error     // the first write error, or errStreamClosed
	closed bool

	stop chan struct{}
	done chan struct{}

	meter *meter.Meter // counts the open streams; nil without metrics
}

// Stream starts a server-sent event response on w: it sets the SSE headers,
// clears any write deadline (http.Server.WriteTimeout) for this response,
// sends the 200 status at once and starts the heartbeat. It fails when w
// cannot flush, or when the Server's idle timeout is invalid.
//
// The heartbeat stops at Close or when r's context ends (the client left, or
// the drain cancelled the request). A handler watches st.Draining() to learn
// that the process is stopping, and r.Context() to learn that it must end the
// stream now.
func (s *Server) Stream(w http.ResponseWriter, r *http.Request) (*Stream, error) {
	idle, err := s.idleTimeout()
	if err != nil {
		return nil, err
	}
	rc := http.NewResponseController(w)
	// A stream may outlast any write timeout; ErrNotSupported only means
	// there is no deadline to clear.
	_ = rc.SetWriteDeadline(time.Time{})
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return nil, fmt.Errorf("agentkit: stream: cannot flush the response: %w", err)
	}
	st := &Stream{
		w:        w,
		rc:       rc,
		interval: HeartbeatInterval(idle),
		draining: s.Draining(),
		last:     time.Now(),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		meter:    s.meter,
	}
	if st.meter != nil {
		st.meter.Streams.Add(1)
	}
	go st.beat(r.Context().Done())
	return st, nil
}

// Send writes one event. An empty event name sends a default "message" event.
// Each line of data becomes one "data:" line, so data may hold line breaks;
// the event name may not. Send returns the first write error (the client
// left) on every later call.
func (st *Stream) Send(event, data string) error {
	return st.SendID("", event, data)
}

// SendID writes one event with an id field, which a client that
// reconnects sends back as its Last-Event-ID header; an empty id sends
// none (the client's last event ID stays as it was), as Send does. The id
// may hold neither a line break nor a NUL.
func (st *Stream) SendID(id, event, data string) error {
	if strings.ContainsAny(event, "\r\n") {
		return fmt.Errorf("agentkit: stream: event name %q contains a line break", event)
	}
	if strings.ContainsAny(id, "\r\n\x00") {
		return fmt.Errorf("agentkit: stream: event id %q contains a line break or a NUL", id)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	b := st.buf[:0]
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	if event != "" {
		b = append(b, "event: "...)
		b = append(b, event...)
		b = append(b, '\n')
	}
	data = strings.ReplaceAll(data, "\r\n", "\n")
	data = strings.ReplaceAll(data, "\r", "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b = append(b, "data: "...)
		b = append(b, line...)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	st.buf = b
	return st.writeLocked(b)
}

// Draining returns a channel closed when the Server's drain begins.
func (st *Stream) Draining() <-chan struct{} {
	return st.draining
}

// Close stops the heartbeat and waits for it to finish, so nothing writes to
// the response after the handler returns. It returns the first write error,
// if any; later Sends fail.
func (st *Stream) Close() error {
	st.mu.Lock()
	if !st.closed {
		st.closed = true
		close(st.stop)
		if st.meter != nil {
			st.meter.Streams.Add(-1)
		}
	}
	st.mu.Unlock()
	<-st.done

	st.mu.Lock()
	defer st.mu.Unlock()
	err := st.err
	if st.err == nil {
		st.err = errStreamClosed
	}
	return err
}

func (st *Stream) writeLocked(b []byte) error {
	if st.err != nil {
		return st.err
	}
	if _, err := st.w.Write(b); err != nil {
		st.err = fmt.Errorf("agentkit: stream: %w", err)
		return st.err
	}
	if err := st.rc.Flush(); err != nil {
		st.err = fmt.Errorf("agentkit: stream: %w", err)
		return st.err
	}
	st.last = time.Now()
	return nil
}

// beat sends a heartbeat whenever nothing was written for an interval.
func (st *Stream) beat(requestDone <-chan struct{}) {
	defer close(st.done)
	t := time.NewTimer(st.interval)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-requestDone:
			return
		case <-t.C:
		}
		st.mu.Lock()
		wait := st.interval - time.Since(st.last)
		if wait <= 0 {
			if err := st.writeLocked(heartbeat); err != nil {
				st.mu.Unlock()
				return
			}
			wait = st.interval
		}
		st.mu.Unlock()
		t.Reset(wait)
	}
}
