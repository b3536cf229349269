package dynamorun_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
	"github.com/agentcdk/agentcdk/internal/faultproxy"
)

// TestNetworkFaults runs a run's life through a fault-injecting proxy in
// front of moto: each write first meets the fault and fails within the
// call timeout, then is sent again, as a caller retries, once the network
// is back. Refuse and Reset lose the request; Stall and DropAnswers
// (the write done, its answer lost) leave the caller not knowing. Every
// write takes effect once: the run is created, claimed and finished once,
// with one event.
func TestNetworkFaults(t *testing.T) {
	endpoint := motoEndpoint(t)
	const timeout = time.Second
	for _, kind := range []faultproxy.Kind{faultproxy.Refuse, faultproxy.Reset, faultproxy.Stall, faultproxy.DropAnswers} {
		t.Run(kind.String(), func(t *testing.T) {
			// GIVEN a store whose calls go through the proxy, with a call
			// timeout of 1 s
			proxy := faultproxy.Start(t, strings.TrimPrefix(endpoint, "http://"))
			direct, _, table := motoStore(t)
			s := mustNew(t, newClient(t, proxy.URL(), nil), table, dynamorun.WithCallTimeout(timeout))
			r := newRun()
			ev := runs.Event{Seq: 1, Type: "step", Data: "once", At: epoch.Add(time.Second)}
			end := epoch.Add(2 * time.Second)

			// WHEN each write meets the fault, and is sent again after it
			faulty := func(what string, call func() error) {
				t.Helper()
				proxy.Set(faultproxy.Fault{Kind: kind})
				start := time.Now()
				err := call()
				took := time.Since(start)
				// A connection held by the fault is dropped, so that what
				// it holds does not reach moto later.
				proxy.Set(faultproxy.Fault{Kind: faultproxy.Reset})
				proxy.Set(faultproxy.Fault{})
				if err == nil {
					t.Fatalf("%s under %s succeeded", what, kind)
				}
				if took > timeout+time.Second {
					t.Fatalf("%s under %s took %s; the call timeout is %s", what, kind, took, timeout)
				}
				if err := call(); err != nil {
					t.Fatalf("%s sent again after %s: %v", what, kind, err)
				}
			}
			faulty("Create", func() error {
				_, created, err := s.Create(ctx(t), r)
				if err == nil && !created {
					t.Errorf("Create sent again reported the run not created")
				}
				return err
			})
			faulty("Claim", func() error {
				_, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute)
				return err
			})
			faulty("Append", func() error { return s.Append(ctx(t), r.ID, "w1", ev) })
			faulty("Finish", func() error {
				_, err := s.Finish(ctx(t), r.ID, "w1", runs.Succeeded, json.RawMessage(`"done"`), "", end)
				return err
			})

			// THEN the run holds each write once
			got, err := direct.Get(ctx(t), r.ID)
			if err != nil || got.Status != runs.Succeeded || got.Attempt != 1 || got.Events != 1 || string(got.Result) != `"done"` {
				t.Fatalf("the run is %+v, %v", got, err)
			}
			evs, err := direct.Events(ctx(t), r.ID, 0, 10)
			if err != nil || len(evs) != 1 || evs[0].Data != "once" {
				t.Fatalf("events %+v, %v", evs, err)
			}
		})
	}

	t.Run("SlowPeer", func(t *testing.T) {
		// GIVEN a network that holds every chunk 50 ms and trickles 20 KB/s
		proxy := faultproxy.Start(t, strings.TrimPrefix(endpoint, "http://"))
		_, _, table := motoStore(t)
		s := mustNew(t, newClient(t, proxy.URL(), nil), table)
		proxy.Set(faultproxy.Fault{Kind: faultproxy.Delay, Delay: 50 * time.Millisecond, BytesPerSecond: 20_000})

		// WHEN a run lives its life with a 4 KB event
		r := newRun()
		if _, _, err := s.Create(ctx(t), r); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute); err != nil {
			t.Fatal(err)
		}
		data := strings.Repeat("x", 4096)
		if err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 1, Data: data, At: epoch}); err != nil {
			t.Fatal(err)
		}

		// THEN every call succeeds, slowly, and reads back what it wrote
		evs, err := s.Events(ctx(t), r.ID, 0, 10)
		if err != nil || len(evs) != 1 || evs[0].Data != data {
			t.Fatalf("events: %d, %v", len(evs), err)
		}
	})
}
