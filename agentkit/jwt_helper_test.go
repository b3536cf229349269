package agentkit_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/syncbuf"
)

// The keys the tests sign with, made once per test binary: an RSA key
// takes a good part of a second to make under the race detector.
var (
	rsaKeyA = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	rsaKeyB = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	ecKey   = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

var enc = base64.RawURLEncoding

// jwkOf is the public JWK of a test key under kid.
func jwkOf(kid string, key any) map[string]string {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
			"n": enc.EncodeToString(k.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PrivateKey:
		b, err := k.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		return map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "use": "sig",
			"x": enc.EncodeToString(b[1:33]), "y": enc.EncodeToString(b[33:])}
	}
	panic("unknown key type")
}

// sign makes a compact JWS of claims with header (alg and kid) and key;
// a nil key leaves the signature empty.
func sign(header map[string]any, claims any, key any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	digest := sha256.Sum256([]byte(signed))
	var sig []byte
	switch k := key.(type) {
	case nil:
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			panic(err)
		}
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			panic(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case []byte: // an HMAC secret, for the HS256 confusion
		sig = hmacSHA256(k, []byte(signed))
	}
	return signed + "." + enc.EncodeToString(sig)
}

// The issuer the tests' tokens come from.
const (
	testIssuer   = "https://issuer.test/"
	testAudience = "agent-api"
)

// goodClaims are valid claims for the test issuer, expiring in an hour.
func goodClaims() map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": testIssuer, "aud": testAudience, "sub": "user-1",
		"exp": now + 3600, "nbf": now - 10, "iat": now - 10, "scope": "openid agent:run"}
}

// idp is a test identity provider: an HTTPS server of its JSON Web Key Set,
// which counts its fetches and whose keys a test may change.
type idp struct {
	srv     *httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	keys    []map[string]string
	log     syncbuf.Buffer // what its verifiers log
}

func startIDP(t testing.TB, keys ...map[string]string) *idp {
	t.Helper()
	p := &idp{keys: keys}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		body, _ := json.Marshal(map[string]any{"keys": p.keys})
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	// The fault tests cut handshakes; their reports are expected.
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) setKeys(keys ...map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

// verifier returns a JWTVerifier for the test issuer whose key set is at
// jwksURL, trusting the test server's certificate.
func (p *idp) verifier(t testing.TB, jwksURL string) *agentkit.JWTVerifier {
	t.Helper()
	client := p.srv.Client()
	t.Cleanup(client.CloseIdleConnections)
	return &agentkit.JWTVerifier{Issuer: testIssuer, JWKSURL: jwksURL, Audience: testAudience, Client: client, Logger: slog.New(slog.NewTextHandler(&p.log, nil))}
}

// bearer is a request to /run with the given Authorization header value
// ("" for none).
func bearer(auth string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/run", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// publicPEM is an RSA key's public half as PEM: the "secret" of the
// HS256 confusion attack, which verifiers that trust the header's alg
// accept as an HMAC key.
func publicPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
