package agentkit

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// ALBDataHeader is the header in which an Application Load Balancer, after
// its authenticate-oidc or authenticate-cognito action signed a browser
// user in, sends the user's claims to the target: a JWT the load balancer
// signs (ES256).
const ALBDataHeader = "X-Amzn-Oidc-Data"

// An ALBVerifier is an Authenticator for the user claims an Application
// Load Balancer sends after it signed a browser user in with OIDC or
// Amazon Cognito (AuthALB): the JWT in the x-amzn-oidc-data header
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html).
// It never trusts x-amzn-oidc-identity or x-amzn-oidc-accesstoken, which
// anyone who reaches the task can write. It accepts a request only when
// all of these hold, and answers 401 otherwise:
//
//   - it has one x-amzn-oidc-data header, at most MaxTokenBytes long, of
//     three base64url parts (each may end in '=' padding, as the load
//     balancer's do) with JSON objects in the first two;
//   - the header part's "alg" is ES256 (never "none", an HMAC or RSA), it
//     has no "crit", its "signer" equals LoadBalancerARN, its "kid" is 1
//     to 128 letters, digits or '-';
//   - the signature verifies with the P-256 key that kid names, fetched
//     (PEM) from the load balancer's region's key endpoint:
//     https://public-keys.auth.elb.<region>.amazonaws.com/<kid>, or for
//     AWS GovCloud (US)
//     https://s3-<region>.amazonaws.com/aws-elb-public-keys-prod-<region>/<kid>;
//   - "exp", a number in the header part (required) and in the claims
//     (when present), has not passed, give or take DefaultJWTLeeway;
//   - the claims have a non-empty string "sub", which is Caller.Name.
//
// Keys are cached by kid for the life of the process (a kid names one key
// for good); at most MaxJWKSKeys are kept, and the key fetched when that
// many are starts the cache afresh. A kid not cached is fetched
// within JWKSFetchTimeout, with a body of at most MaxALBKeyBytes, one fetch
// at a time and at most one per JWKSRefetchInterval: a flood of made-up
// kids costs the key endpoint at most one fetch per interval per task, and
// is refused in between. A key endpoint that answers a status of 400 to 499
// says the kid is not a key (401); one that cannot be reached or answers
// anything else is an outage (503 with Retry-After, ErrAuthUnavailable,
// for tokens whose key is not cached; cached keys keep working).
//
// Set the fields before the first use and do not change them after. Its
// methods are safe for concurrent use.
type ALBVerifier struct {
	// LoadBalancerARN is the ARN of the Application Load Balancer whose
	// signed claims are accepted, arn:aws:elasticloadbalancing:<region>:
	// <account>:loadbalancer/app/<name>/<id> (or the aws-us-gov
	// partition); its region chooses the key endpoint. Required.
	LoadBalancerARN string

	// Client fetches the keys. Each fetch is bounded by JWKSFetchTimeout
	// whatever the client's own timeout, and a key that a redirect brought
	// from anything but https:// is refused.
	// Default: a client that follows only https:// redirects.
	Client *http.Client

	// Logger receives the key fetches that fail.
	// Default: slog.Default().
	Logger *slog.Logger

	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	tried   time.Time     // start of the last fetch
	outage  bool          // the last fetch failed, and not because the kid is unknown
	loading chan struct{} // closed when the fetch running now ends; nil: none runs

	// For tests (export_test.go).
	keyBase               string // replaces the key endpoint, kid appended
	refetch, fetchTimeout time.Duration
}

// MaxALBKeyBytes bounds the body of one load balancer key: a P-256 public
// key in PEM is under 200 bytes.
const MaxALBKeyBytes = 4 << 10

// albARN is the form of an Application Load Balancer's ARN in the
// partitions whose key endpoints AWS documents.
var albARN = regexp.MustCompile(`^arn:(aws|aws-us-gov):elasticloadbalancing:([a-z]{2}(?:-gov)?-[a-z]+-[0-9]+):[0-9]{12}:loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)

// albKid is the form of a kid the verifier puts in a URL: load balancers'
// are UUIDs.
var albKid = regexp.MustCompile(`^[A-Za-z0-9-]{1,128}$`)

// ALBVerifierFromEnv returns the ALBVerifier the environment describes:
// AGENTKIT_ALB_ARN (required), checked as Validate checks it.
func ALBVerifierFromEnv() (*ALBVerifier, error) {
	v := &ALBVerifier{LoadBalancerARN: os.Getenv(EnvALBArn)}
	if err := v.validate(EnvALBArn); err != nil {
		return nil, err
	}
	return v, nil
}

// Validate reports a LoadBalancerARN that is missing or malformed. Serve
// calls it before it listens.
func (v *ALBVerifier) Validate() error { return v.validate("ALBVerifier.LoadBalancerARN") }

func (v *ALBVerifier) validate(name string) error {
	if v.LoadBalancerARN == "" {
		return fmt.Errorf("agentkit: %s is empty; set it to the ARN of the Application Load Balancer that signs the users' claims", name)
	}
	if !albARN.MatchString(v.LoadBalancerARN) {
		return fmt.Errorf("agentkit: %s %q is not an Application Load Balancer's ARN; use arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id> (partition aws or aws-us-gov)", name, v.LoadBalancerARN)
	}
	return nil
}

// keyURL is where the key kid names is published, for the load balancer's
// region (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html,
// "User claims encoding and signature verification").
func (v *ALBVerifier) keyURL(kid string) string {
	if v.keyBase != "" {
		return v.keyBase + kid
	}
	m := albARN.FindStringSubmatch(v.LoadBalancerARN)
	partition, region := m[1], m[2]
	if partition == "aws-us-gov" {
		return "https://s3-" + region + ".amazonaws.com/aws-elb-public-keys-prod-" + region + "/" + kid
	}
	return "https://public-keys.auth.elb." + region + ".amazonaws.com/" + kid
}

// Authenticate checks r's x-amzn-oidc-data header as the type's doc
// comment says.
func (v *ALBVerifier) Authenticate(r *http.Request) (Caller, error) {
	vals := r.Header.Values(ALBDataHeader)
	switch {
	case len(vals) == 0 || vals[0] == "":
		return Caller{}, authFail(ErrNoCredential, "no load balancer user claims")
	case len(vals) > 1:
		return Caller{}, authFail(ErrBadCredential, "more than one "+ALBDataHeader+" header")
	}
	return v.Verify(r.Context(), vals[0])
}

// albHeader is the part of the load balancer's JWT header the verifier
// reads.
type albHeader struct {
	Alg    string          `json:"alg"`
	Kid    string          `json:"kid"`
	Signer string          `json:"signer"`
	Exp    any             `json:"exp"`
	Crit   json.RawMessage `json:"crit"`
}

// Verify checks the load balancer's signed claims as Authenticate does,
// and returns its caller. ctx bounds the wait for a key's fetch.
func (v *ALBVerifier) Verify(ctx context.Context, token string) (Caller, error) {
	if len(token) > MaxTokenBytes {
		return Caller{}, authFail(ErrBadCredential, "user claims too long")
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	c64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return Caller{}, authFail(ErrBadCredential, "user claims are not a JWS in compact form")
	}
	var hdr albHeader
	if err := decodeALBPart(h64, &hdr); err != nil {
		return Caller{}, authFail(ErrBadCredential, "user claims header is not base64url JSON")
	}
	switch {
	case hdr.Crit != nil:
		return Caller{}, authFail(ErrBadCredential, "user claims header has crit")
	case hdr.Alg != "ES256":
		return Caller{}, authFail(ErrBadCredential, "user claims alg is not ES256")
	case hdr.Signer != v.LoadBalancerARN:
		return Caller{}, authFail(ErrBadCredential, "user claims were not signed by this load balancer")
	case !albKid.MatchString(hdr.Kid):
		return Caller{}, authFail(ErrBadCredential, "user claims have no valid kid")
	}
	sig, err := albB64(s64)
	if err != nil {
		return Caller{}, authFail(ErrBadCredential, "user claims signature is not base64url")
	}
	now := float64(time.Now().UnixNano()) / 1e9
	if err := albNotExpired(hdr.Exp, true, now); err != nil {
		return Caller{}, err
	}
	key, err := v.key(ctx, hdr.Kid)
	if err != nil {
		return Caller{}, err
	}
	if !verifySignature("ES256", key, token[:len(h64)+1+len(c64)], sig) {
		return Caller{}, authFail(ErrBadCredential, "user claims signature does not verify")
	}
	var claims map[string]any
	if err := decodeALBPart(c64, &claims); err != nil || claims == nil {
		return Caller{}, authFail(ErrBadCredential, "user claims are not base64url JSON")
	}
	if err := albNotExpired(claims["exp"], false, now); err != nil {
		return Caller{}, err
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return Caller{}, authFail(ErrBadCredential, "user claims have no sub")
	}
	return Caller{Name: sub, Method: AuthALB, Claims: claims}, nil
}

// albNotExpired checks an "exp" (a json.Number; nil when absent).
func albNotExpired(raw any, required bool, now float64) error {
	if raw == nil {
		if required {
			return authFail(ErrBadCredential, "user claims have no exp")
		}
		return nil
	}
	exp, ok := numericDate(raw)
	switch {
	case !ok:
		return authFail(ErrBadCredential, "user claims exp is not a number")
	case now >= exp+DefaultJWTLeeway.Seconds():
		return authFail(ErrBadCredential, "user claims expired")
	}
	return nil
}

// albB64 decodes a base64url part of the load balancer's JWT: AWS's load
// balancers end theirs in '=' padding, which RFC 7515 leaves out, so
// padding is taken off first; what remains must be strict base64url.
func albB64(part string) ([]byte, error) {
	trimmed := strings.TrimRight(part, "=")
	if len(part)-len(trimmed) > 2 {
		return nil, errors.New("more than two padding characters")
	}
	return b64.DecodeString(trimmed)
}

// decodeALBPart decodes a part that may be padded, holding one JSON
// value, into dst, as decodePart does an unpadded one.
func decodeALBPart(part string, dst any) error {
	raw, err := albB64(part)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}

// key returns the key kid names, from the cache or fetched as the type's
// doc comment says.
func (v *ALBVerifier) key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	refetch, _ := v.timings()
	waited := false
	for {
		v.mu.Lock()
		if k, ok := v.keys[kid]; ok {
			v.mu.Unlock()
			return k, nil
		}
		if loading := v.loading; loading != nil && !waited {
			v.mu.Unlock()
			select {
			case <-loading:
			case <-ctx.Done():
				return nil, authFail(ErrAuthUnavailable, "load balancer key fetch did not finish in time")
			}
			waited = true
			continue
		}
		if waited || v.loading != nil || (!v.tried.IsZero() && time.Since(v.tried) < refetch) {
			// No fetch now: the kid is unknown, or the endpoint is out.
			outage := v.outage
			v.mu.Unlock()
			if outage {
				return nil, authFail(ErrAuthUnavailable, "load balancer keys cannot be fetched now")
			}
			return nil, authFail(ErrBadCredential, "user claims kid is not a key of the load balancer")
		}
		done := make(chan struct{})
		v.loading, v.tried = done, time.Now()
		v.mu.Unlock()

		key, unknown, err := v.fetch(ctx, kid)

		v.mu.Lock()
		if err == nil {
			if v.keys == nil || len(v.keys) >= MaxJWKSKeys {
				v.keys = map[string]*ecdsa.PublicKey{} // start afresh rather than grow
			}
			v.keys[kid] = key
		}
		v.outage = err != nil && !unknown
		v.loading = nil
		close(done)
		v.mu.Unlock()
		switch {
		case err == nil:
			return key, nil
		case unknown:
			return nil, authFail(ErrBadCredential, "user claims kid is not a key of the load balancer")
		}
		v.logger().Error("agentkit: load balancer key fetch failed; the cached keys stay in use", "url", v.keyURL(kid), "err", err)
		return nil, authFail(ErrAuthUnavailable, "load balancer keys cannot be fetched now")
	}
}

func (v *ALBVerifier) timings() (refetch, fetchTimeout time.Duration) {
	if v.refetch != 0 {
		return v.refetch, v.fetchTimeout
	}
	return JWKSRefetchInterval, JWKSFetchTimeout
}

func (v *ALBVerifier) logger() *slog.Logger {
	if v.Logger != nil {
		return v.Logger
	}
	return slog.Default()
}

// fetch gets and parses the key kid names; unknown says the endpoint
// answered that there is no such key (a 4xx status). Its deadline is its
// own, not the request's, as JWTVerifier's fetch is.
func (v *ALBVerifier) fetch(ctx context.Context, kid string) (key *ecdsa.PublicKey, unknown bool, err error) {
	_, timeout := v.timings()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.keyURL(kid), nil)
	if err != nil {
		return nil, false, fmt.Errorf("load balancer key request: %w", err)
	}
	client := v.Client
	if client == nil {
		client = jwksClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("load balancer key fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.Request.URL.Scheme != "https" {
		return nil, false, fmt.Errorf("load balancer key fetch: redirected to %s, which is not https", resp.Request.URL.Redacted())
	}
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		return nil, true, fmt.Errorf("load balancer key fetch: status %s", resp.Status)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("load balancer key fetch: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxALBKeyBytes+1))
	if err != nil {
		return nil, false, fmt.Errorf("load balancer key read: %w", err)
	}
	if len(body) > MaxALBKeyBytes {
		return nil, false, fmt.Errorf("load balancer key is larger than %d bytes", MaxALBKeyBytes)
	}
	key, err = parseALBKey(body)
	return key, false, err
}

// parseALBKey reads a PEM public key, which must be ECDSA on P-256.
func parseALBKey(body []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(body)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("load balancer key is not a PEM public key")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("load balancer key: %w", err)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, errors.New("load balancer key is not an ECDSA P-256 key")
	}
	return k, nil
}
