package agentkit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// A JWTVerifier is an Authenticator for JSON Web Tokens (RFC 7519) from an
// identity provider, sent as "Authorization: Bearer <token>". It accepts a
// token only when all of these hold, and refuses it otherwise (401, or 403
// for the last):
//
//   - it is at most MaxTokenBytes long and has three base64url parts (a JWS
//     in compact form) with JSON objects in the first two;
//   - its header's "alg" is RS256 or ES256 (never "none", never an HMAC:
//     a token "signed" with HS256 and the issuer's public key as the
//     secret is refused, since the key set's keys are only ever used as
//     what they are), its "kid" names a key of the issuer's key set of that
//     algorithm's type, and it has no "crit" header;
//   - its signature verifies with that key (RSA keys of at least 2048 bits,
//     ECDSA keys on P-256);
//   - its claims have "exp" (required) not passed and "nbf" (when present)
//     reached, give or take Leeway; "iss" equal to Issuer; "aud" equal to,
//     or a list holding, Audience (or, in a token without "aud",
//     "client_id" equal to it: Amazon Cognito's access tokens carry the app
//     client ID there); a non-empty string "sub";
//   - it carries every claim of RequiredClaims (a 403 otherwise: the caller
//     is known but not allowed).
//
// The key set is fetched from JWKSURL on the first token, over HTTPS, within
// JWKSFetchTimeout, and cached for JWKSMaxAge. A token whose kid is not in
// the cache makes it fetch the set again (a rotated key), at most once per
// JWKSRefetchInterval; a fetch that fails keeps the cached keys, so an
// outage of the identity provider refuses no caller whose key is cached.
// Before the first fetch succeeds, tokens are answered 503 (ErrAuthUnavailable).
// One fetch runs at a time; requests that need it wait for it.
//
// Set the fields before the first use and do not change them after. Its
// methods are safe for concurrent use.
type JWTVerifier struct {
	// Issuer is the value the "iss" claim must equal. Required.
	Issuer string

	// JWKSURL is the https:// URL of the issuer's JSON Web Key Set.
	// Required.
	JWKSURL string

	// Audience is a value the "aud" claim must equal or hold (for an
	// Amazon Cognito user pool: the app client ID, which its access tokens
	// carry as "client_id"). Required: a token the same issuer made for
	// another application must not work here.
	Audience string

	// RequiredClaims are claims a token must carry, by name: the claim is
	// the value, or a list (JSON array) holding it, or a string of
	// space-separated words holding it as a word (as OAuth's "scope" is).
	// A token without one is answered 403. Names and values are 1 to 256
	// printable ASCII characters without quotes or backslashes.
	// Default: none.
	RequiredClaims map[string]string

	// Leeway is how far "exp" and "nbf" may be off the task's clock.
	// Default: DefaultJWTLeeway; at most MaxJWTLeeway.
	Leeway time.Duration

	// Client fetches the key set. Each fetch is bounded by
	// JWKSFetchTimeout whatever the client's own timeout, and a key set
	// that a redirect brought from anything but https:// is refused.
	// Default: a client that follows only https:// redirects.
	Client *http.Client

	// Logger receives the key set's fetches that fail.
	// Default: slog.Default().
	Logger *slog.Logger

	mu      sync.Mutex
	keys    map[string]any // kid -> *rsa.PublicKey or *ecdsa.PublicKey
	fetched time.Time      // of the keys in force; zero: none yet
	tried   time.Time      // start of the last fetch
	loading chan struct{}  // closed when the fetch running now ends; nil: none runs

	// For tests (export_test.go): the package's timing constants.
	refetch, maxAge, fetchTimeout time.Duration
}

// JWTVerifierFromEnv returns the JWTVerifier the environment describes:
// AGENTKIT_JWT_ISSUER, AGENTKIT_JWT_JWKS_URL, AGENTKIT_JWT_AUDIENCE (all
// three required) and AGENTKIT_JWT_REQUIRED_CLAIMS (optional, a JSON object
// of names to strings), checked as Validate checks them.
func JWTVerifierFromEnv() (*JWTVerifier, error) {
	v := &JWTVerifier{
		Issuer:   os.Getenv(EnvJWTIssuer),
		JWKSURL:  os.Getenv(EnvJWTJWKSURL),
		Audience: os.Getenv(EnvJWTAudience),
	}
	if raw := os.Getenv(EnvJWTRequiredClaims); raw != "" {
		if err := json.Unmarshal([]byte(raw), &v.RequiredClaims); err != nil {
			return nil, fmt.Errorf("agentkit: %s %q is not a JSON object of claim names to strings (for example {\"scope\": \"agent:run\"}): %w", EnvJWTRequiredClaims, raw, err)
		}
	}
	if err := v.validate(true); err != nil {
		return nil, err
	}
	return v, nil
}

// Validate reports the first field that is missing or malformed. Serve
// calls it before it listens.
func (v *JWTVerifier) Validate() error { return v.validate(false) }

func (v *JWTVerifier) validate(fromEnv bool) error {
	name := func(field, env string) string {
		if fromEnv {
			return env
		}
		return "JWTVerifier." + field
	}
	if v.Issuer == "" {
		return fmt.Errorf("agentkit: %s is empty; set it to the issuer the tokens' \"iss\" claim names", name("Issuer", EnvJWTIssuer))
	}
	if v.Audience == "" {
		return fmt.Errorf("agentkit: %s is empty; set it to the audience the tokens are issued for (their \"aud\" claim)", name("Audience", EnvJWTAudience))
	}
	u, err := url.Parse(v.JWKSURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("agentkit: %s %q is not an https:// URL; set it to the issuer's JSON Web Key Set", name("JWKSURL", EnvJWTJWKSURL), v.JWKSURL)
	}
	for k, val := range v.RequiredClaims {
		if !ValidClaimText(k) || !ValidClaimText(val) {
			return fmt.Errorf("agentkit: %s {%q: %q} is not a claim name and value of 1 to 256 printable ASCII characters without quotes or backslashes", name("RequiredClaims", EnvJWTRequiredClaims), k, val)
		}
	}
	if v.Leeway < 0 || v.Leeway > MaxJWTLeeway {
		return fmt.Errorf("agentkit: JWTVerifier.Leeway %s is out of range; use 0 (for %s) to %s", v.Leeway, DefaultJWTLeeway, MaxJWTLeeway)
	}
	return nil
}

// ValidClaimText reports whether s may be a required claim's name or value
// (JWTVerifier.RequiredClaims, AGENTKIT_JWT_REQUIRED_CLAIMS): 1 to 256
// printable ASCII characters, without '"' or '\\', so that it is safe in a
// WWW-Authenticate challenge. The construct judges its props by it too.
func ValidClaimText(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Authenticate checks r's bearer token as the type's doc comment says.
func (v *JWTVerifier) Authenticate(r *http.Request) (Caller, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return Caller{}, err
	}
	return v.Verify(r.Context(), tok)
}

// jwtHeader is the part of a JOSE header the verifier reads.
type jwtHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

var b64 = base64.RawURLEncoding.Strict()

// Verify checks a token as Authenticate does, and returns its caller. ctx
// bounds the wait for a fetch of the key set.
func (v *JWTVerifier) Verify(ctx context.Context, token string) (Caller, error) {
	if len(token) > MaxTokenBytes {
		return Caller{}, authFail(ErrBadCredential, "token too long")
	}
	h64, rest, ok1 := strings.Cut(token, ".")
	c64, s64, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(s64, ".") {
		return Caller{}, authFail(ErrBadCredential, "token is not a JWS in compact form")
	}
	var hdr jwtHeader
	if err := decodePart(h64, &hdr); err != nil {
		return Caller{}, authFail(ErrBadCredential, "token header is not base64url JSON")
	}
	if hdr.Crit != nil {
		return Caller{}, authFail(ErrBadCredential, "token header has crit")
	}
	if hdr.Alg != "RS256" && hdr.Alg != "ES256" {
		return Caller{}, authFail(ErrBadCredential, "token alg is not RS256 or ES256")
	}
	if hdr.Kid == "" {
		return Caller{}, authFail(ErrBadCredential, "token has no kid")
	}
	sig, err := b64.DecodeString(s64)
	if err != nil {
		return Caller{}, authFail(ErrBadCredential, "token signature is not base64url")
	}
	key, err := v.key(ctx, hdr.Kid)
	if err != nil {
		return Caller{}, err
	}
	if !verifySignature(hdr.Alg, key, token[:len(h64)+1+len(c64)], sig) {
		return Caller{}, authFail(ErrBadCredential, "token signature does not verify")
	}
	var claims map[string]any
	if err := decodePart(c64, &claims); err != nil || claims == nil {
		return Caller{}, authFail(ErrBadCredential, "token claims are not base64url JSON")
	}
	return v.checkClaims(claims, time.Now())
}

// decodePart decodes a base64url part holding one JSON value into dst.
func decodePart(part string, dst any) error {
	raw, err := b64.DecodeString(part)
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

// verifySignature checks sig over signed with key, whose type must be the
// one alg names: an RSA key never verifies an ES256 token, nor the reverse.
func verifySignature(alg string, key any, signed string, sig []byte) bool {
	digest := sha256.Sum256([]byte(signed))
	switch k := key.(type) {
	case *rsa.PublicKey:
		return alg == "RS256" && rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil
	case *ecdsa.PublicKey:
		if alg != "ES256" || len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, digest[:], r, s)
	}
	return false
}

// checkClaims checks the registered and required claims at now.
func (v *JWTVerifier) checkClaims(claims map[string]any, now time.Time) (Caller, error) {
	leeway := v.Leeway
	if leeway == 0 {
		leeway = DefaultJWTLeeway
	}
	nowSec := float64(now.UnixNano()) / 1e9
	exp, ok := numericDate(claims["exp"])
	switch {
	case claims["exp"] == nil:
		return Caller{}, authFail(ErrBadCredential, "token has no exp")
	case !ok:
		return Caller{}, authFail(ErrBadCredential, "token exp is not a number")
	case nowSec >= exp+leeway.Seconds():
		return Caller{}, authFail(ErrBadCredential, "token expired")
	}
	if raw, present := claims["nbf"]; present {
		nbf, ok := numericDate(raw)
		if !ok {
			return Caller{}, authFail(ErrBadCredential, "token nbf is not a number")
		}
		if nowSec < nbf-leeway.Seconds() {
			return Caller{}, authFail(ErrBadCredential, "token not yet valid")
		}
	}
	if iss, _ := claims["iss"].(string); iss != v.Issuer {
		return Caller{}, authFail(ErrBadCredential, "token issuer is not the one expected")
	}
	if !holds(claims["aud"], v.Audience, false) && (claims["aud"] != nil || claims["client_id"] != v.Audience) {
		return Caller{}, authFail(ErrBadCredential, "token audience is not the one expected")
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return Caller{}, authFail(ErrBadCredential, "token has no sub")
	}
	for name, want := range v.RequiredClaims {
		if !holds(claims[name], want, true) {
			return Caller{}, authFail(ErrForbidden, "token lacks the claim "+name+"="+want)
		}
	}
	return Caller{Name: sub, Method: AuthJWT, Claims: claims}, nil
}

// numericDate reads a NumericDate claim: a JSON number of seconds.
func numericDate(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// holds reports whether a claim is want, or a list holding it, or (words)
// a space-separated string holding it as a word.
func holds(claim any, want string, words bool) bool {
	switch c := claim.(type) {
	case string:
		if c == want {
			return true
		}
		if words {
			for w := range strings.FieldsSeq(c) {
				if w == want {
					return true
				}
			}
		}
	case []any:
		for _, e := range c {
			if s, ok := e.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

// key returns the key kid names, fetching the key set when it is not cached
// or is older than JWKSMaxAge, at most once per JWKSRefetchInterval.
func (v *JWTVerifier) key(ctx context.Context, kid string) (any, error) {
	refetch, maxAge, _ := v.timings()
	waited := false
	for {
		v.mu.Lock()
		k, ok := v.keys[kid]
		fresh := !v.fetched.IsZero() && time.Since(v.fetched) < maxAge
		if ok && fresh {
			v.mu.Unlock()
			return k, nil
		}
		if loading := v.loading; loading != nil && !waited {
			v.mu.Unlock()
			select {
			case <-loading:
			case <-ctx.Done():
				return nil, authFail(ErrAuthUnavailable, "key set fetch did not finish in time")
			}
			waited = true
			continue
		}
		if waited || v.loading != nil || (!v.tried.IsZero() && time.Since(v.tried) < refetch) {
			// No fetch now: answer from the cache.
			everFetched := !v.fetched.IsZero()
			v.mu.Unlock()
			switch {
			case ok:
				return k, nil
			case !everFetched:
				return nil, authFail(ErrAuthUnavailable, "key set not fetched yet")
			}
			return nil, authFail(ErrBadCredential, "token kid is not in the key set")
		}
		done := make(chan struct{})
		v.loading, v.tried = done, time.Now()
		v.mu.Unlock()

		keys, err := v.fetch(ctx)

		v.mu.Lock()
		if err == nil {
			v.keys, v.fetched = keys, time.Now()
		}
		v.loading = nil
		close(done)
		v.mu.Unlock()
		if err != nil {
			v.logger().Error("agentkit: JWKS fetch failed; the cached keys stay in use", "url", v.JWKSURL, "err", err)
		}
		waited = true
	}
}

func (v *JWTVerifier) timings() (refetch, maxAge, fetchTimeout time.Duration) {
	refetch, maxAge, fetchTimeout = JWKSRefetchInterval, JWKSMaxAge, JWKSFetchTimeout
	if v.refetch != 0 {
		refetch, maxAge, fetchTimeout = v.refetch, v.maxAge, v.fetchTimeout
	}
	return refetch, maxAge, fetchTimeout
}

func (v *JWTVerifier) logger() *slog.Logger {
	if v.Logger != nil {
		return v.Logger
	}
	return slog.Default()
}

// jwksClient is the default Client: it follows only https:// redirects.
var jwksClient = &http.Client{
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to %s is not https", req.URL.Redacted())
		}
		if len(via) >= 5 {
			return errors.New("more than 5 redirects")
		}
		return nil
	},
}

// fetch gets and parses the key set. Its deadline is its own, not the
// request's: the requests waiting for it share it, and one client leaving
// must not cut it for the others.
func (v *JWTVerifier) fetch(ctx context.Context) (map[string]any, error) {
	_, _, timeout := v.timings()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	client := v.Client
	if client == nil {
		client = jwksClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("JWKS fetch: %w", err)
	}
	defer resp.Body.Close()
	if resp.Request.URL.Scheme != "https" { // a redirect the client followed
		return nil, fmt.Errorf("JWKS fetch: redirected to %s, which is not https", resp.Request.URL.Redacted())
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS fetch: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("JWKS read: %w", err)
	}
	if len(body) > MaxJWKSBytes {
		return nil, fmt.Errorf("JWKS is larger than %d bytes", MaxJWKSBytes)
	}
	return parseJWKS(body)
}

// jwk is the part of a JSON Web Key (RFC 7517, 7518) the verifier reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS keeps the set's signature keys it can use: RSA keys of 2048
// bits or more for RS256 and P-256 keys for ES256, each with a kid, the
// first MaxJWKSKeys of them; a kid seen twice keeps its first key. A set
// with no usable key is an error.
func parseJWKS(body []byte) (map[string]any, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("JWKS is not a JSON key set: %w", err)
	}
	keys := map[string]any{}
	for _, k := range set.Keys {
		if len(keys) == MaxJWKSKeys {
			break
		}
		if k.Kid == "" || (k.Use != "" && k.Use != "sig") || keys[k.Kid] != nil {
			continue
		}
		if key := k.publicKey(); key != nil {
			keys[k.Kid] = key
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no RS256 or ES256 signature key with a kid")
	}
	return keys, nil
}

// publicKey returns the key, or nil when it is not one the verifier uses.
func (k jwk) publicKey() any {
	switch {
	case k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256"):
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		mod := new(big.Int).SetBytes(n)
		if mod.BitLen() < 2048 || mod.BitLen() > 8192 || exp < 3 || exp%2 == 0 {
			return nil
		}
		return &rsa.PublicKey{N: mod, E: exp}
	case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == "ES256"):
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil
		}
		key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil
		}
		return key
	}
	return nil
}
