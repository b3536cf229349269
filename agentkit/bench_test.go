package agentkit_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmarks
// measure the handlers and not a recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

var noop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

func benchHandler(b *testing.B, h http.Handler, path string) {
	w := &discardWriter{h: http.Header{}}
	r := httptest.NewRequest("GET", path, nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkBareHandler is the baseline for BenchmarkTrackedHandler.
func BenchmarkBareHandler(b *testing.B) {
	benchHandler(b, noop, "/run")
}

// BenchmarkTrackedHandler measures what Server adds to every request.
func BenchmarkTrackedHandler(b *testing.B) {
	var srv agentkit.Server
	benchHandler(b, srv.Handler(noop), "/run")
}

// BenchmarkTrackedHandlerWithDeadline is BenchmarkTrackedHandler under a
// request deadline: a context with a deadline, a goroutine, a guarded
// writer and a timer per request.
func BenchmarkTrackedHandlerWithDeadline(b *testing.B) {
	srv := agentkit.Server{RequestTimeout: time.Minute}
	benchHandler(b, srv.Handler(noop), "/run")
}

// BenchmarkTrackedHandlerWithCap is BenchmarkTrackedHandler under an
// in-flight cap that is never reached: a slot taken and given back (a
// buffered channel's send and receive).
func BenchmarkTrackedHandlerWithCap(b *testing.B) {
	srv := agentkit.Server{MaxInFlight: 100}
	benchHandler(b, srv.Handler(noop), "/run")
}

// BenchmarkTrackedHandlerWithMetrics is BenchmarkTrackedHandler with the
// metrics on: the status, the latency and the in-flight peak recorded.
func BenchmarkTrackedHandlerWithMetrics(b *testing.B) {
	srv := &agentkit.Server{HTTP: &http.Server{Handler: noop}, Logger: slog.New(slog.DiscardHandler),
		Metrics: &agentkit.Metrics{Service: "bench", Output: io.Discard}}
	addr := startServe(b, srv)
	// An answer over the wire means Serve has set its metrics up.
	resp, err := http.Get("http://" + addr + "/run")
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	benchHandler(b, srv.Handler(noop), "/run")
}

func BenchmarkHealth(b *testing.B) {
	benchHandler(b, &agentkit.Health{}, "/health")
}

func BenchmarkHealthCachedChecks(b *testing.B) {
	h := &agentkit.Health{CacheTTL: time.Hour, Checks: []agentkit.Check{
		{Name: "db", Run: func(context.Context) error { return nil }},
		{Name: "llm", Run: func(context.Context) error { return nil }, NonCritical: true},
	}}
	benchHandler(b, h, "/health")
}

// BenchmarkHealthOverLoopback includes net/http and the loopback network,
// keep-alive on, as a load balancer probe would see it (minus the network).
func BenchmarkHealthOverLoopback(b *testing.B) {
	var srv agentkit.Server
	ts := httptest.NewServer(srv.Handler(noop))
	defer ts.Close()
	benchLoopback(b, ts.URL+agentkit.HealthPath)
}

// BenchmarkServeOverLoopback is BenchmarkPlainServerOverLoopback's requests
// served by Server.Serve, so the difference between the two is all that
// agentkit adds to a request on the wire: the tracking, and the connection
// bookkeeping of its ConnState hook (two state changes per request).
func BenchmarkServeOverLoopback(b *testing.B) {
	benchServe(b, &agentkit.Server{HTTP: &http.Server{Handler: noop}, Logger: slog.New(slog.DiscardHandler)})
}

// BenchmarkServeWithDeadlineOverLoopback is BenchmarkServeOverLoopback
// under a request deadline.
func BenchmarkServeWithDeadlineOverLoopback(b *testing.B) {
	benchServe(b, &agentkit.Server{HTTP: &http.Server{Handler: noop}, RequestTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)})
}

// benchServe runs srv.Serve on loopback for the length of a benchmark.
func benchServe(b *testing.B, srv *agentkit.Server) {
	benchLoopback(b, "http://"+startServe(b, srv)+"/run")
}

// startServe runs srv.Serve on loopback until the benchmark ends, and
// returns its address.
func startServe(b *testing.B, srv *agentkit.Server) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	b.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return l.Addr().String()
}

// BenchmarkPlainServerOverLoopback is the baseline of
// BenchmarkServeOverLoopback: the same handler on a bare http.Server.
func BenchmarkPlainServerOverLoopback(b *testing.B) {
	ts := httptest.NewServer(noop)
	defer ts.Close()
	benchLoopback(b, ts.URL+"/run")
}

func benchLoopback(b *testing.B, url string) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkBurstRefusals sends, each iteration, a burst of three times the
// cap (20) at once, each request on a connection of its own, to a Server
// whose handler holds every admitted request until the burst's refusals
// are in; it reports how long the 40 refusals took, from the client's
// Do (its dial included) to the answer's end: the median, the 99th
// percentile and the slowest of all iterations. The wait for a slot is the
// default, 50ms.
func BenchmarkBurstRefusals(b *testing.B) {
	const limit = 20
	var gate atomic.Pointer[chan struct{}]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-*gate.Load()
	})
	srv := &agentkit.Server{HTTP: &http.Server{Handler: h}, Logger: slog.New(slog.DiscardHandler), MaxInFlight: limit}
	addr := startServe(b, srv)
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var took []time.Duration
	for b.Loop() {
		g := make(chan struct{})
		gate.Store(&g)
		replies := make(chan reply, 3*limit)
		var wg sync.WaitGroup
		for range 3 * limit {
			wg.Go(func() { replies <- getReply(client, "http://"+addr+"/run") })
		}
		for range 2 * limit {
			r := <-replies
			if r.status != http.StatusServiceUnavailable {
				b.Fatalf("a refusal: %d %v", r.status, r.err)
			}
			took = append(took, r.took)
		}
		close(g)
		wg.Wait()
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}
