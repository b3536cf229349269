package agentkit_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/faultproxy"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

// The load balancer's user claims, as AWS documents them:
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
// ("User claims encoding and signature verification"): an ES256 JWT in
// x-amzn-oidc-data whose header holds alg, kid, signer (the load
// balancer's ARN), iss, client and exp, whose parts are base64url with '='
// padding at the end, and whose key is a PEM fetched by kid from
// https://public-keys.auth.elb.<region>.amazonaws.com/<kid> (for AWS
// GovCloud (US), https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/<kid>).

const (
	testALB   = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/agent-lb/50dc6c495c0c9188"
	otherALB  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/other-lb/0123456789abcdef"
	albKidA   = "11111111-2222-3333-4444-555555555555"
	albKidB   = "66666666-7777-8888-9999-000000000000"
	albIssuer = "https://idp.test/"
)

var albKeyB = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// albHeader is a header the load balancer would send, expiring in two
// minutes.
func albHeader(kid string) map[string]any {
	return map[string]any{"alg": "ES256", "kid": kid, "signer": testALB, "iss": albIssuer,
		"client": "client-1", "exp": time.Now().Unix() + 120}
}

func albClaims() map[string]any {
	return map[string]any{"sub": "browser-user-1", "email": "u@example.com", "exp": time.Now().Unix() + 120, "iss": albIssuer}
}

// albSign makes the load balancer's JWT, its parts base64url with '='
// padding as the load balancer's are (padded) or without; key may be an
// ECDSA or RSA key, an HMAC secret ([]byte), or nil (no signature).
func albSign(header, claims map[string]any, key any, padded bool) string {
	e := base64.RawURLEncoding
	if padded {
		e = base64.URLEncoding
	}
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signed := e.EncodeToString(h) + "." + e.EncodeToString(c)
	var sig []byte
	digest := sha256.Sum256([]byte(signed))
	switch k := key.(type) {
	case nil:
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			panic(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			panic(err)
		}
	case []byte: // an HMAC secret, for the HS256 confusion
		sig = hmacSHA256(k, []byte(signed))
	}
	return signed + "." + e.EncodeToString(sig)
}

func ecPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// albKeys is a test key endpoint: an HTTPS server of PEM keys by kid,
// which counts its fetches.
type albKeys struct {
	srv     *httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	keys    map[string][]byte
	log     syncbuf.Buffer
}

func startALBKeys(t testing.TB) *albKeys {
	t.Helper()
	k := &albKeys{keys: map[string][]byte{albKidA: ecPEM(ecKey())}}
	k.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.fetches.Add(1)
		k.mu.Lock()
		kid := strings.TrimPrefix(r.URL.Path, "/keys/")
		body, ok := k.keys[kid]
		k.mu.Unlock()
		if strings.HasPrefix(kid, "many-") { // any number of kids, one key
			body, ok = ecPEM(ecKey()), true
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	k.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	k.srv.StartTLS()
	t.Cleanup(k.srv.Close)
	return k
}

func (k *albKeys) add(kid string, pemKey []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[kid] = pemKey
}

// verifier returns an ALBVerifier for testALB whose keys are at base
// ("https://host:port"), trusting the test server's certificate.
func (k *albKeys) verifier(t testing.TB, base string, refetch, fetchTimeout time.Duration) *agentkit.ALBVerifier {
	t.Helper()
	client := k.srv.Client()
	t.Cleanup(client.CloseIdleConnections)
	v := &agentkit.ALBVerifier{LoadBalancerARN: testALB, Client: client, Logger: slog.New(slog.NewTextHandler(&k.log, nil))}
	agentkit.SetALBKeyEndpoint(v, base+"/keys/", refetch, fetchTimeout)
	return v
}

func albRequest(headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/run", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func TestALBVerifierChecksTheLoadBalancersClaims(t *testing.T) {
	// GIVEN a key endpoint with key A, and a server that checks the load
	// balancer's claims
	k := startALBKeys(t)
	v := k.verifier(t, k.srv.URL, time.Hour, 5*time.Second)
	h := (&agentkit.Server{Auth: v}).Handler(echoCaller)
	good := func(mod func(hdr, claims map[string]any)) string {
		hdr, claims := albHeader(albKidA), albClaims()
		if mod != nil {
			mod(hdr, claims)
		}
		return albSign(hdr, claims, ecKey(), true)
	}
	tampered := func() string {
		tok := good(nil)
		parts := strings.Split(tok, ".")
		c, _ := json.Marshal(map[string]any{"sub": "admin", "exp": time.Now().Unix() + 120})
		return parts[0] + "." + base64.URLEncoding.EncodeToString(c) + "." + parts[2]
	}()
	hs256 := func() string {
		hdr := albHeader(albKidA)
		hdr["alg"] = "HS256"
		return albSign(hdr, albClaims(), ecPEM(ecKey()), true)
	}()
	rs256 := func() string {
		hdr := albHeader(albKidA)
		hdr["alg"] = "RS256"
		return albSign(hdr, albClaims(), rsaKeyA(), true)
	}()
	none := func() string {
		hdr := albHeader(albKidA)
		hdr["alg"] = "none"
		return albSign(hdr, albClaims(), nil, false)
	}()
	cases := []struct {
		name    string
		headers []string
		status  int
		body    string
	}{
		{"good, padded as the load balancer sends it", []string{"X-Amzn-Oidc-Data", good(nil)}, 200, "alb:browser-user-1"},
		{"good, unpadded", []string{"X-Amzn-Oidc-Data", albSign(albHeader(albKidA), albClaims(), ecKey(), false)}, 200, "alb:browser-user-1"},
		{"no header", nil, 401, "no load balancer user claims"},
		{"the unsigned identity header alone", []string{"X-Amzn-Oidc-Identity", "browser-user-1", "X-Amzn-Oidc-Accesstoken", "anything"}, 401, "no load balancer user claims"},
		{"two headers", []string{"X-Amzn-Oidc-Data", good(nil), "X-Amzn-Oidc-Data", good(nil)}, 401, "more than one"},
		{"another load balancer's signer", []string{"X-Amzn-Oidc-Data", good(func(h, _ map[string]any) { h["signer"] = otherALB })}, 401, "not signed by this load balancer"},
		{"no signer", []string{"X-Amzn-Oidc-Data", good(func(h, _ map[string]any) { delete(h, "signer") })}, 401, "not signed by this load balancer"},
		{"alg none", []string{"X-Amzn-Oidc-Data", none}, 401, "alg is not ES256"},
		{"alg HS256 with the public key as secret", []string{"X-Amzn-Oidc-Data", hs256}, 401, "alg is not ES256"},
		{"alg RS256", []string{"X-Amzn-Oidc-Data", rs256}, 401, "alg is not ES256"},
		{"crit", []string{"X-Amzn-Oidc-Data", good(func(h, _ map[string]any) { h["crit"] = []string{"exp"} })}, 401, "crit"},
		{"expired header", []string{"X-Amzn-Oidc-Data", good(func(h, _ map[string]any) { h["exp"] = time.Now().Unix() - 120 })}, 401, "expired"},
		{"expired claims", []string{"X-Amzn-Oidc-Data", good(func(_, c map[string]any) { c["exp"] = time.Now().Unix() - 120 })}, 401, "expired"},
		{"expired within the leeway", []string{"X-Amzn-Oidc-Data", good(func(h, c map[string]any) { h["exp"] = time.Now().Unix() - 30; c["exp"] = time.Now().Unix() - 30 })}, 200, "alb:browser-user-1"},
		{"no exp", []string{"X-Amzn-Oidc-Data", good(func(h, _ map[string]any) { delete(h, "exp") })}, 401, "no exp"},
		{"exp not a number", []string{"X-Amzn-Oidc-Data", good(func(h, _ map[string]any) { h["exp"] = "tomorrow" })}, 401, "exp is not a number"},
		{"no sub", []string{"X-Amzn-Oidc-Data", good(func(_, c map[string]any) { delete(c, "sub") })}, 401, "no sub"},
		{"tampered payload", []string{"X-Amzn-Oidc-Data", tampered}, 401, "signature does not verify"},
		{"signed by another key", []string{"X-Amzn-Oidc-Data", albSign(albHeader(albKidA), albClaims(), albKeyB(), true)}, 401, "signature does not verify"},
		{"kid that is a path", []string{"X-Amzn-Oidc-Data", good(func(h, _ map[string]any) { h["kid"] = "../" + albKidA })}, 401, "no valid kid"},
		{"oversized header", []string{"X-Amzn-Oidc-Data", good(func(_, c map[string]any) { c["pad"] = strings.Repeat("x", agentkit.MaxTokenBytes) })}, 401, "too long"},
		{"three padding characters", []string{"X-Amzn-Oidc-Data", strings.Replace(good(nil), ".", "===.", 1)}, 401, "not base64url JSON"},
		{"not a JWS", []string{"X-Amzn-Oidc-Data", "abc.def"}, 401, "not a JWS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// WHEN the request arrives
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, albRequest(tc.headers...))

			// THEN it is answered as the load balancer's claims say
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("got %d %q, want %d with %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			if tc.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer realm=") {
				t.Errorf("401 without a challenge: %v", rec.Header())
			}
		})
	}
	// AND a made-up kid in a path never reached the key endpoint: one
	// fetch, of key A
	if n := k.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestALBKeysAreFetchedOnceForConcurrentFirstRequests(t *testing.T) {
	// GIVEN a verifier that has fetched nothing yet
	k := startALBKeys(t)
	v := k.verifier(t, k.srv.URL, time.Hour, 5*time.Second)
	tok := albSign(albHeader(albKidA), albClaims(), ecKey(), true)

	// WHEN 20 requests arrive at once
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tok); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	// THEN all are let through after one fetch
	if n := k.fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestALBUnknownKidsAreFetchedAtABoundedRate(t *testing.T) {
	// GIVEN verifiers that have key A, a key endpoint that then publishes
	// key B, one verifier whose last fetch is within its refetch interval
	// and one whose interval is over
	k := startALBKeys(t)
	bounded := k.verifier(t, k.srv.URL, time.Hour, 5*time.Second)
	eager := k.verifier(t, k.srv.URL, time.Nanosecond, 5*time.Second)
	for _, v := range []*agentkit.ALBVerifier{bounded, eager} {
		if _, err := v.Verify(context.Background(), albSign(albHeader(albKidA), albClaims(), ecKey(), true)); err != nil {
			t.Fatal(err)
		}
	}
	k.add(albKidB, ecPEM(albKeyB()))
	before := k.fetches.Load()

	// WHEN 50 requests with made-up kids, and one with B, reach the bounded
	// verifier
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tok := albSign(albHeader(fmt.Sprintf("made-up-%d", i)), albClaims(), ecKey(), true)
			if _, err := bounded.Verify(context.Background(), tok); !errors.Is(err, agentkit.ErrBadCredential) {
				t.Errorf("made-up kid: %v, want ErrBadCredential", err)
			}
		})
	}
	wg.Wait()
	_, errB := bounded.Verify(context.Background(), albSign(albHeader(albKidB), albClaims(), albKeyB(), true))

	// THEN none of them reaches the key endpoint, and B is refused for now
	if n := k.fetches.Load() - before; n != 0 {
		t.Errorf("%d fetches within the refetch interval, want 0", n)
	}
	if !errors.Is(errB, agentkit.ErrBadCredential) {
		t.Errorf("B within the interval: %v, want ErrBadCredential", errB)
	}

	// AND once the interval has passed, B makes one fetch and works; a
	// made-up kid is refused after its one fetch (the endpoint's 404)
	if _, err := eager.Verify(context.Background(), albSign(albHeader(albKidB), albClaims(), albKeyB(), true)); err != nil {
		t.Errorf("B after the interval: %v", err)
	}
	if _, err := eager.Verify(context.Background(), albSign(albHeader("made-up"), albClaims(), ecKey(), true)); !errors.Is(err, agentkit.ErrBadCredential) {
		t.Errorf("made-up kid after the interval: %v, want ErrBadCredential", err)
	}
	if n := k.fetches.Load() - before; n != 2 {
		t.Errorf("%d fetches after the interval, want 2", n)
	}
}

func TestALBKeyEndpointFaults(t *testing.T) {
	t.Parallel()
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
			// GIVEN a verifier whose key endpoint is behind the fault from
			// the start, and one that fetched key A before the fault
			k := startALBKeys(t)
			k.add(albKidB, ecPEM(albKeyB()))
			proxy := faultproxy.Start(t, k.srv.Listener.Addr().String())
			cold := k.verifier(t, "https://"+proxy.Addr(), time.Nanosecond, fetchTimeout)
			warm := k.verifier(t, "https://"+proxy.Addr(), time.Nanosecond, fetchTimeout)
			bounded := k.verifier(t, "https://"+proxy.Addr(), time.Hour, fetchTimeout)
			if _, err := warm.Verify(context.Background(), albSign(albHeader(albKidA), albClaims(), ecKey(), true)); err != nil {
				t.Fatal(err)
			}
			proxy.Set(f)
			cases := []struct {
				name string
				v    *agentkit.ALBVerifier
				tok  string
				want int
			}{
				{"key not cached", cold, albSign(albHeader(albKidA), albClaims(), ecKey(), true), http.StatusServiceUnavailable},
				{"key cached", warm, albSign(albHeader(albKidA), albClaims(), ecKey(), true), http.StatusOK},
				{"new key beside cached ones", warm, albSign(albHeader(albKidB), albClaims(), albKeyB(), true), http.StatusServiceUnavailable},
				{"key not cached, bounded", bounded, albSign(albHeader(albKidA), albClaims(), ecKey(), true), http.StatusServiceUnavailable},
				// within the refetch interval: no fetch, and still the outage's 503, not a 401
				{"key not cached, again within the interval", bounded, albSign(albHeader(albKidA), albClaims(), ecKey(), true), http.StatusServiceUnavailable},
			}
			for _, tc := range cases {
				// WHEN a request with valid claims arrives
				began := time.Now()
				rec := httptest.NewRecorder()
				(&agentkit.Server{Auth: tc.v}).Handler(echoCaller).ServeHTTP(rec, albRequest("X-Amzn-Oidc-Data", tc.tok))

				// THEN a cached key still works, and a key that cannot be
				// fetched is a 503 with Retry-After (the fault is not the
				// caller's), within the fetch timeout
				if rec.Code != tc.want {
					t.Errorf("%s: status %d %q, want %d", tc.name, rec.Code, rec.Body.String(), tc.want)
				}
				if tc.want == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") != "1" {
					t.Errorf("%s: 503 without Retry-After: %v", tc.name, rec.Header())
				}
				if d := time.Since(began); d > fetchTimeout+slack {
					t.Errorf("%s: answered after %s, want within %s", tc.name, d, fetchTimeout+slack)
				}
			}
			if !strings.Contains(k.log.String(), "load balancer key fetch failed; the cached keys stay in use") {
				t.Errorf("the failed fetch was not logged; log:\n%s", k.log.String())
			}

			// AND once the endpoint is back, the new key works
			proxy.Set(faultproxy.Fault{})
			if _, err := warm.Verify(context.Background(), albSign(albHeader(albKidB), albClaims(), albKeyB(), true)); err != nil {
				t.Errorf("new key after the outage: %v", err)
			}
		})
	}
}

func TestALBKeySlowButInTimeIsUsed(t *testing.T) {
	t.Parallel()
	// GIVEN a key endpoint behind a link that holds each chunk 50ms
	k := startALBKeys(t)
	proxy := faultproxy.Start(t, k.srv.Listener.Addr().String())
	proxy.Set(faultproxy.Fault{Kind: faultproxy.Delay, Delay: 50 * time.Millisecond})
	v := k.verifier(t, "https://"+proxy.Addr(), agentkit.JWKSRefetchInterval, agentkit.JWKSFetchTimeout)

	// WHEN a request arrives THEN the fetch completes within the default
	// timeout and the caller is let through
	if _, err := v.Verify(context.Background(), albSign(albHeader(albKidA), albClaims(), ecKey(), true)); err != nil {
		t.Error(err)
	}
}

func TestALBBadKeysAreNotUsed(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(ecPEM(ecKey())) }))
	defer plain.Close()
	rsaPEM := publicPEM(rsaKeyA())
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]http.HandlerFunc{
		"not PEM":     func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) },
		"an RSA key":  func(w http.ResponseWriter, r *http.Request) { w.Write(rsaPEM) },
		"a P-384 key": func(w http.ResponseWriter, r *http.Request) { w.Write(ecPEM(p384)) },
		"too large": func(w http.ResponseWriter, r *http.Request) {
			w.Write(append(ecPEM(ecKey()), bytes.Repeat([]byte("\n"), agentkit.MaxALBKeyBytes)...))
		},
		"error status": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(ecPEM(ecKey()))
		},
		"redirected to plain HTTP": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL, http.StatusFound)
		},
	}
	for name, serve := range cases {
		t.Run(name, func(t *testing.T) {
			// GIVEN a key endpoint that answers that
			var logs syncbuf.Buffer
			srv := httptest.NewTLSServer(serve)
			defer srv.Close()
			client := srv.Client()
			defer client.CloseIdleConnections()
			v := &agentkit.ALBVerifier{LoadBalancerARN: testALB, Client: client, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			agentkit.SetALBKeyEndpoint(v, srv.URL+"/", time.Hour, 5*time.Second)

			// WHEN valid claims arrive THEN they cannot be checked (503):
			// only a P-256 key over HTTPS with a 200 is ever used
			if _, err := v.Verify(context.Background(), albSign(albHeader(albKidA), albClaims(), ecKey(), true)); !errors.Is(err, agentkit.ErrAuthUnavailable) {
				t.Errorf("err %v, want ErrAuthUnavailable", err)
			}
			if !strings.Contains(logs.String(), "load balancer key fetch failed") {
				t.Errorf("log:\n%s", logs.String())
			}
		})
	}
}

func TestALBKeyEndpointIsTheRegionsAsAWSDocumentsIt(t *testing.T) {
	// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
	cases := map[string]string{
		testALB: "https://public-keys.auth.elb.eu-west-1.amazonaws.com/" + albKidA,
		"arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/agent-lb/50dc6c495c0c9188": "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/" + albKidA,
	}
	for arn, want := range cases {
		v := &agentkit.ALBVerifier{LoadBalancerARN: arn}
		if err := v.Validate(); err != nil {
			t.Errorf("%s: %v", arn, err)
		}
		if got := agentkit.ALBKeyURL(v, albKidA); got != want {
			t.Errorf("%s: key URL %s, want %s", arn, got, want)
		}
	}
}

func TestALBFromEnvironment(t *testing.T) {
	cases := []struct {
		name string
		arn  string
		want string // the start-up error; "" for none
	}{
		{"good", testALB, ""},
		{"missing", "", `agentkit: AGENTKIT_ALB_ARN is empty; set it to the ARN of the Application Load Balancer that signs the users' claims`},
		{"a target group", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/agent/50dc6c495c0c9188",
			`agentkit: AGENTKIT_ALB_ARN "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/agent/50dc6c495c0c9188" is not an Application Load Balancer's ARN; use arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id> (partition aws or aws-us-gov)`},
		{"a network load balancer", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/agent/50dc6c495c0c9188",
			`agentkit: AGENTKIT_ALB_ARN "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/agent/50dc6c495c0c9188" is not an Application Load Balancer's ARN; use arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id> (partition aws or aws-us-gov)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN AGENTKIT_AUTH=alb and that ARN
			t.Setenv("AGENTKIT_AUTH", "alb")
			t.Setenv("AGENTKIT_ALB_ARN", tc.arn)
			var logBuf syncbuf.Buffer
			srv := &agentkit.Server{Logger: slog.New(slog.NewTextHandler(&logBuf, nil))}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // serve nothing: drain at once
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}

			// WHEN the server starts
			err = srv.Serve(ctx, l)

			// THEN it starts with the method named in its log, or fails at
			// once naming the variable
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Serve: %v", err)
			case tc.want == "" && !strings.Contains(logBuf.String(), "auth=alb"):
				t.Errorf("the start-up log does not name the method; log:\n%s", logBuf.String())
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("Serve: %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestALBKeyCacheIsBounded(t *testing.T) {
	// GIVEN a verifier that may fetch any kid, and MaxJWKSKeys+1 kids that
	// the key endpoint publishes
	k := startALBKeys(t)
	v := k.verifier(t, k.srv.URL, time.Nanosecond, 5*time.Second)
	verify := func(i int) {
		t.Helper()
		if _, err := v.Verify(context.Background(), albSign(albHeader(fmt.Sprint("many-", i)), albClaims(), ecKey(), true)); err != nil {
			t.Fatalf("kid %d: %v", i, err)
		}
	}

	// WHEN requests name the first MaxJWKSKeys kids, twice
	for range 2 {
		for i := range agentkit.MaxJWKSKeys {
			verify(i)
		}
	}
	// THEN each kid was fetched once: all are kept
	if n := k.fetches.Load(); n != agentkit.MaxJWKSKeys {
		t.Errorf("%d fetches, want %d", n, agentkit.MaxJWKSKeys)
	}

	// AND one kid more starts the cache afresh rather than grow it: an
	// earlier kid is fetched again, the newest is not
	verify(agentkit.MaxJWKSKeys)
	before := k.fetches.Load()
	verify(agentkit.MaxJWKSKeys)
	verify(0)
	if n := k.fetches.Load() - before; n != 1 {
		t.Errorf("%d fetches after the cache was full, want 1 (of the earlier kid)", n)
	}
}
