package agentkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/faultproxy"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

func rsToken(kid string, key any) string {
	return sign(map[string]any{"alg": "RS256", "kid": kid}, goodClaims(), key)
}

func TestJWKSIsFetchedOnceForConcurrentFirstTokens(t *testing.T) {
	// GIVEN a verifier that has fetched nothing yet
	p := startIDP(t, jwkOf("a", rsaKeyA()))
	v := p.verifier(t, p.srv.URL)
	tok := rsToken("a", rsaKeyA())

	// WHEN 20 requests arrive at once
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)

	// THEN all are let through after one fetch
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := p.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestJWKSUnknownKidRefetchesAtABoundedRate(t *testing.T) {
	// GIVEN a verifier that fetched a set with key "a", and an issuer that
	// then adds key "b"
	p := startIDP(t, jwkOf("a", rsaKeyA()))
	bounded := p.verifier(t, p.srv.URL)
	agentkit.SetJWKSTimings(bounded, time.Hour, time.Hour, 5*time.Second)
	eager := p.verifier(t, p.srv.URL)
	agentkit.SetJWKSTimings(eager, time.Nanosecond, time.Hour, 5*time.Second)
	for _, v := range []*agentkit.JWTVerifier{bounded, eager} {
		if _, err := v.Verify(context.Background(), rsToken("a", rsaKeyA())); err != nil {
			t.Fatal(err)
		}
	}
	p.setKeys(jwkOf("a", rsaKeyA()), jwkOf("b", rsaKeyB()))
	before := p.fetches.Load()

	// WHEN 50 tokens with made-up kids, and one with "b", reach a verifier
	// whose last fetch is more recent than its refetch interval
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := bounded.Verify(context.Background(), rsToken(fmt.Sprint("made-up-", i), rsaKeyA())); !errors.Is(err, agentkit.ErrBadCredential) {
				t.Errorf("made-up kid: %v, want ErrBadCredential", err)
			}
		})
	}
	wg.Wait()
	_, errB := bounded.Verify(context.Background(), rsToken("b", rsaKeyB()))

	// THEN none of them fetches the set again, and "b" is refused for now
	if n := p.fetches.Load() - before; n != 0 {
		t.Errorf("%d fetches within the refetch interval, want 0", n)
	}
	if !errors.Is(errB, agentkit.ErrBadCredential) {
		t.Errorf("b within the interval: %v, want ErrBadCredential", errB)
	}

	// AND once the interval has passed, "b" makes one fetch and works
	if _, err := eager.Verify(context.Background(), rsToken("b", rsaKeyB())); err != nil {
		t.Errorf("b after the interval: %v", err)
	}
	if n := p.fetches.Load() - before; n != 1 {
		t.Errorf("%d fetches after the interval, want 1", n)
	}
}

func TestJWKSServerFaults(t *testing.T) {
	t.Parallel()
	// The fetch timeout the tests give the verifier, and how much later than
	// it an answer may come on a loaded machine.
	const fetchTimeout, slack = 300 * time.Millisecond, 1500 * time.Millisecond
	faults := []faultproxy.Fault{
		{Kind: faultproxy.Refuse},
		{Kind: faultproxy.Reset},
		{Kind: faultproxy.Stall},
		{Kind: faultproxy.Delay, BytesPerSecond: 100}, // slower than the fetch timeout allows
	}
	for _, f := range faults {
		t.Run(f.Kind.String(), func(t *testing.T) {
			t.Parallel()
			t.Run("before the first fetch", func(t *testing.T) {
				t.Parallel()
				// GIVEN a verifier whose key set is behind the fault from the start
				p := startIDP(t, jwkOf("a", rsaKeyA()))
				proxy := faultproxy.Start(t, p.srv.Listener.Addr().String())
				v := p.verifier(t, "https://"+proxy.Addr())
				agentkit.SetJWKSTimings(v, time.Nanosecond, time.Hour, fetchTimeout)
				h := (&agentkit.Server{Auth: v}).Handler(echoCaller)
				proxy.Set(f)

				// WHEN a valid token arrives
				began := time.Now()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, bearer("Bearer "+rsToken("a", rsaKeyA())))

				// THEN it is answered 503 with Retry-After, not 401 (the
				// fault is not the caller's), within the fetch timeout
				if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || rec.Header().Get("WWW-Authenticate") != "" {
					t.Errorf("status %d, headers %v, want 503 with Retry-After: 1", rec.Code, rec.Header())
				}
				if d := time.Since(began); d > fetchTimeout+slack {
					t.Errorf("answered after %s, want within %s", d, fetchTimeout+slack)
				}
				proxy.Set(faultproxy.Fault{})
			})

			t.Run("with keys cached", func(t *testing.T) {
				t.Parallel()
				// GIVEN a verifier that has fetched the set, whose keys are
				// always due for a refetch, and then the fault
				p := startIDP(t, jwkOf("a", rsaKeyA()))
				proxy := faultproxy.Start(t, p.srv.Listener.Addr().String())
				v := p.verifier(t, "https://"+proxy.Addr())
				agentkit.SetJWKSTimings(v, time.Nanosecond, time.Nanosecond, fetchTimeout)
				if _, err := v.Verify(context.Background(), rsToken("a", rsaKeyA())); err != nil {
					t.Fatal(err)
				}
				p.setKeys(jwkOf("a", rsaKeyA()), jwkOf("b", rsaKeyB()))
				proxy.Set(f)

				// WHEN tokens signed by the cached key and by a new one arrive
				began := time.Now()
				_, errA := v.Verify(context.Background(), rsToken("a", rsaKeyA()))
				_, errB := v.Verify(context.Background(), rsToken("b", rsaKeyB()))

				// THEN the cached key still works, the new one is refused,
				// and both are answered within the fetch timeout each
				if errA != nil {
					t.Errorf("cached key during the outage: %v", errA)
				}
				if !errors.Is(errB, agentkit.ErrBadCredential) {
					t.Errorf("new key during the outage: %v, want ErrBadCredential", errB)
				}
				if d := time.Since(began); d > 2*(fetchTimeout+slack) {
					t.Errorf("answered after %s, want within %s", d, 2*(fetchTimeout+slack))
				}
				if !strings.Contains(p.log.String(), "JWKS fetch failed; the cached keys stay in use") {
					t.Errorf("the failed fetch was not logged; log:\n%s", p.log.String())
				}

				// AND once the issuer is back, the new key works
				proxy.Set(faultproxy.Fault{})
				if _, err := v.Verify(context.Background(), rsToken("b", rsaKeyB())); err != nil {
					t.Errorf("new key after the outage: %v", err)
				}
			})
		})
	}
}

func TestJWKSSlowButInTimeIsUsed(t *testing.T) {
	t.Parallel()
	// GIVEN a key set behind a link that holds each chunk 50ms
	p := startIDP(t, jwkOf("a", rsaKeyA()))
	proxy := faultproxy.Start(t, p.srv.Listener.Addr().String())
	proxy.Set(faultproxy.Fault{Kind: faultproxy.Delay, Delay: 50 * time.Millisecond})
	v := p.verifier(t, "https://"+proxy.Addr())

	// WHEN a token arrives THEN the fetch completes within the default
	// timeout and the token is let through
	if _, err := v.Verify(context.Background(), rsToken("a", rsaKeyA())); err != nil {
		t.Error(err)
	}
}

func TestJWKSBadBodiesAreNotUsed(t *testing.T) {
	// A plain-HTTP server with a valid key set, for the redirect case.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"keys": [%s]}`, mustJSON(jwkOf("h", rsaKeyA())))
	}))
	defer plain.Close()
	cases := map[string]http.HandlerFunc{
		"not JSON": func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) },
		"no usable key": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]}`))
		},
		"too large": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys": [], "pad": "` + strings.Repeat("x", agentkit.MaxJWKSBytes) + `"}`))
		},
		"error status": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"keys": [%s]}`, mustJSON(jwkOf("h", rsaKeyA())))
		},
		"redirected to plain HTTP": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, plain.URL, http.StatusFound) },
	}
	for name, serve := range cases {
		t.Run(name, func(t *testing.T) {
			// GIVEN an issuer whose key set is that body
			var log syncbuf.Buffer
			srv := httptest.NewTLSServer(serve)
			defer srv.Close()
			client := srv.Client()
			defer client.CloseIdleConnections()
			v := &agentkit.JWTVerifier{Issuer: testIssuer, JWKSURL: srv.URL, Audience: testAudience, Client: client, Logger: slog.New(slog.NewTextHandler(&log, nil))}

			// WHEN a token arrives THEN it cannot be checked (503): an
			// "oct" (HMAC) key is never used, nor a key set that came over
			// plain HTTP or with an error status
			if _, err := v.Verify(context.Background(), sign(map[string]any{"alg": "RS256", "kid": "h"}, goodClaims(), rsaKeyA())); !errors.Is(err, agentkit.ErrAuthUnavailable) {
				t.Errorf("err %v, want ErrAuthUnavailable", err)
			}
			if !strings.Contains(log.String(), "JWKS fetch failed") {
				t.Errorf("log:\n%s", log.String())
			}
			if strings.HasPrefix(name, "redirected") && !strings.Contains(log.String(), "which is not https") {
				t.Errorf("the redirect was not the reason; log:\n%s", log.String())
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestJWKSKeepsItsFirstKeys(t *testing.T) {
	// GIVEN a key set of MaxJWKSKeys+1 keys (one key under many kids)
	var keys []map[string]string
	for i := range agentkit.MaxJWKSKeys + 1 {
		keys = append(keys, jwkOf(fmt.Sprint("k", i), rsaKeyA()))
	}
	p := startIDP(t, keys...)
	v := p.verifier(t, p.srv.URL)

	// WHEN tokens name the last kept key and the one after it
	_, errLast := v.Verify(context.Background(), rsToken(fmt.Sprint("k", agentkit.MaxJWKSKeys-1), rsaKeyA()))
	_, errOver := v.Verify(context.Background(), rsToken(fmt.Sprint("k", agentkit.MaxJWKSKeys), rsaKeyA()))

	// THEN the first is let through and the second refused
	if errLast != nil {
		t.Errorf("last kept key: %v", errLast)
	}
	if !errors.Is(errOver, agentkit.ErrBadCredential) {
		t.Errorf("key beyond the bound: %v, want ErrBadCredential", errOver)
	}
}
