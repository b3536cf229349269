package agentkit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// echoCaller answers 200 with the caller the request's context carries.
var echoCaller = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := agentkit.CallerFrom(r.Context())
	if !ok {
		w.Write([]byte("anonymous"))
		return
	}
	w.Write([]byte(c.Method + ":" + c.Name))
})

func TestJWTVerifierRefusesWhatAttackersSend(t *testing.T) {
	// GIVEN an identity provider with an RSA key "a" and an EC key "e", and
	// a server that checks its tokens
	p := startIDP(t, jwkOf("a", rsaKeyA()), jwkOf("e", ecKey()))
	v := p.verifier(t, p.srv.URL)
	v.RequiredClaims = map[string]string{"scope": "agent:run"}
	h := (&agentkit.Server{Auth: v}).Handler(echoCaller)

	rs := map[string]any{"alg": "RS256", "kid": "a", "typ": "JWT"}
	es := map[string]any{"alg": "ES256", "kid": "e"}
	// with returns good claims with changes: name, value pairs; a nil value
	// drops the claim.
	with := func(kv ...any) map[string]any {
		c := goodClaims()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	now := time.Now().Unix()
	good := sign(rs, goodClaims(), rsaKeyA())
	parts := strings.Split(good, ".")
	const invalid = `Bearer realm="agent", error="invalid_token"`

	cases := []struct {
		name      string
		auth      string // the Authorization header
		code      int
		challenge string // the start of WWW-Authenticate, "" for none
		body      string // the start of the body
	}{
		{"RS256 token", "Bearer " + good, 200, "", "jwt:user-1"},
		{"ES256 token", "Bearer " + sign(es, goodClaims(), ecKey()), 200, "", "jwt:user-1"},
		{"scheme in lower case", "bearer " + good, 200, "", "jwt:user-1"},
		// Cognito's access tokens name the app client in client_id, without aud
		// (https://docs.aws.amazon.com/verifiedpermissions/latest/userguide/cognito-validation.html).
		{"Cognito access token", "Bearer " + sign(rs, with("client_id", testAudience, "aud", nil), rsaKeyA()), 200, "", "jwt:user-1"},
		{"client_id beside a wrong aud", "Bearer " + sign(rs, with("client_id", testAudience, "aud", "other-app"), rsaKeyA()), 401, invalid, `{"error":"token audience is not the one expected"}`},
		{"audience in a list", "Bearer " + sign(rs, with("aud", []string{"other", testAudience}), rsaKeyA()), 200, "", "jwt:user-1"},
		{"required claim in a list", "Bearer " + sign(rs, with("scope", []string{"agent:run"}), rsaKeyA()), 200, "", "jwt:user-1"},
		{"expired within the leeway", "Bearer " + sign(rs, with("exp", now-30), rsaKeyA()), 200, "", "jwt:user-1"},
		{"no credential", "", 401, `Bearer realm="agent"`, `{"error":"no bearer credential"}`},
		{"basic scheme", "Basic dXNlcjpwYXNz", 401, `Bearer realm="agent"`, `{"error":"no bearer credential"}`},
		{"alg none", "Bearer " + sign(map[string]any{"alg": "none", "kid": "a"}, goodClaims(), nil), 401, invalid, `{"error":"token alg is not RS256 or ES256"}`},
		{"alg none, no signature part", "Bearer " + parts[0] + "." + parts[1], 401, invalid, `{"error":"token is not a JWS`},
		{"HS256 signed with the public key", "Bearer " + sign(map[string]any{"alg": "HS256", "kid": "a"}, goodClaims(), publicPEM(rsaKeyA())), 401, invalid, `{"error":"token alg is not RS256 or ES256"}`},
		{"RS256 naming the EC key", "Bearer " + sign(map[string]any{"alg": "RS256", "kid": "e"}, goodClaims(), rsaKeyA()), 401, invalid, `{"error":"token signature does not verify"}`},
		{"ES256 naming the RSA key", "Bearer " + sign(map[string]any{"alg": "ES256", "kid": "a"}, goodClaims(), ecKey()), 401, invalid, `{"error":"token signature does not verify"}`},
		{"signed by another key", "Bearer " + sign(rs, goodClaims(), rsaKeyB()), 401, invalid, `{"error":"token signature does not verify"}`},
		{"claims changed after signing", "Bearer " + parts[0] + "." + enc.EncodeToString([]byte(`{"sub":"admin"}`)) + "." + parts[2], 401, invalid, `{"error":"token signature does not verify"}`},
		{"kid not in the key set", "Bearer " + sign(map[string]any{"alg": "RS256", "kid": "zz"}, goodClaims(), rsaKeyA()), 401, invalid, `{"error":"token kid is not in the key set"}`},
		{"no kid", "Bearer " + sign(map[string]any{"alg": "RS256"}, goodClaims(), rsaKeyA()), 401, invalid, `{"error":"token has no kid"}`},
		{"crit header", "Bearer " + sign(map[string]any{"alg": "RS256", "kid": "a", "crit": []string{"exp"}}, goodClaims(), rsaKeyA()), 401, invalid, `{"error":"token header has crit"}`},
		{"expired", "Bearer " + sign(rs, with("exp", now-120), rsaKeyA()), 401, invalid, `{"error":"token expired"}`},
		{"not yet valid", "Bearer " + sign(rs, with("nbf", now+120), rsaKeyA()), 401, invalid, `{"error":"token not yet valid"}`},
		{"missing exp", "Bearer " + sign(rs, with("exp", nil), rsaKeyA()), 401, invalid, `{"error":"token has no exp"}`},
		{"exp a string", "Bearer " + sign(rs, with("exp", "never"), rsaKeyA()), 401, invalid, `{"error":"token exp is not a number"}`},
		{"wrong issuer", "Bearer " + sign(rs, with("iss", "https://evil.test/"), rsaKeyA()), 401, invalid, `{"error":"token issuer is not the one expected"}`},
		{"wrong audience", "Bearer " + sign(rs, with("aud", "other-app"), rsaKeyA()), 401, invalid, `{"error":"token audience is not the one expected"}`},
		{"no audience", "Bearer " + sign(rs, with("aud", nil), rsaKeyA()), 401, invalid, `{"error":"token audience is not the one expected"}`},
		{"no sub", "Bearer " + sign(rs, with("sub", nil), rsaKeyA()), 401, invalid, `{"error":"token has no sub"}`},
		{"oversized", "Bearer " + sign(rs, with("pad", strings.Repeat("x", agentkit.MaxTokenBytes)), rsaKeyA()), 401, invalid, `{"error":"credential too long"}`},
		{"two parts", "Bearer abc.def", 401, invalid, `{"error":"token is not a JWS`},
		{"four parts", "Bearer " + good + ".x", 401, invalid, `{"error":"token is not a JWS`},
		{"header not base64url", "Bearer !!!." + parts[1] + "." + parts[2], 401, invalid, `{"error":"token header is not base64url JSON"}`},
		{"header padded", "Bearer " + parts[0] + "=." + parts[1] + "." + parts[2], 401, invalid, `{"error":"token header is not base64url JSON"}`},
		{"header not JSON", "Bearer " + enc.EncodeToString([]byte("alg")) + "." + parts[1] + "." + parts[2], 401, invalid, `{"error":"token header is not base64url JSON"}`},
		{"signature not base64url", "Bearer " + parts[0] + "." + parts[1] + ".***", 401, invalid, `{"error":"token signature is not base64url"}`},
		{"claims not an object", "Bearer " + sign(rs, []int{1}, rsaKeyA()), 401, invalid, `{"error":"token claims are not base64url JSON"}`},
		{"required claim missing", "Bearer " + sign(rs, with("scope", "openid"), rsaKeyA()), 403, `Bearer realm="agent", error="insufficient_scope"`, `{"error":"token lacks the claim scope=agent:run"}`},
		{"required claim only a prefix", "Bearer " + sign(rs, with("scope", "agent:run:all"), rsaKeyA()), 403, `Bearer realm="agent", error="insufficient_scope"`, `{"error":"token lacks`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// WHEN the server gets a request with that credential
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, bearer(tc.auth))

			// THEN it answers as it should, saying why
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.code, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, tc.challenge) || (tc.challenge == "") != (got == "") {
				t.Errorf("WWW-Authenticate %q, want it to begin %q", got, tc.challenge)
			}
			if !strings.HasPrefix(rec.Body.String(), tc.body) {
				t.Errorf("body %q, want it to begin %q", rec.Body, tc.body)
			}
		})
	}
}

func TestJWTCallerCarriesTheClaims(t *testing.T) {
	// GIVEN a verifier and a token with an email claim
	p := startIDP(t, jwkOf("a", rsaKeyA()))
	v := p.verifier(t, p.srv.URL)
	c := goodClaims()
	c["email"] = "ana@example.com"
	tok := sign(map[string]any{"alg": "RS256", "kid": "a"}, c, rsaKeyA())

	// WHEN it verifies the token
	caller, err := v.Verify(context.Background(), tok)

	// THEN the caller is the subject, with the claims
	if err != nil {
		t.Fatal(err)
	}
	if caller.Name != "user-1" || caller.Method != agentkit.AuthJWT || caller.Claims["email"] != "ana@example.com" {
		t.Errorf("caller %+v", caller)
	}
	if _, ok := caller.Claims["exp"].(json.Number); !ok {
		t.Errorf("exp is %T, want json.Number", caller.Claims["exp"])
	}
}

func TestJWTLeewayIsConfigurable(t *testing.T) {
	// GIVEN a verifier with no more than 1s of leeway, and a token that
	// expired 30s ago (within the default leeway)
	p := startIDP(t, jwkOf("a", rsaKeyA()))
	v := p.verifier(t, p.srv.URL)
	v.Leeway = time.Second
	c := goodClaims()
	c["exp"] = time.Now().Unix() - 30
	tok := sign(map[string]any{"alg": "RS256", "kid": "a"}, c, rsaKeyA())

	// WHEN it verifies the token THEN it is refused as expired
	if _, err := v.Verify(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "token expired") {
		t.Errorf("err %v, want token expired", err)
	}
}

func TestJWKSKeysItCannotUseAreIgnored(t *testing.T) {
	// GIVEN a key set whose only RSA key is 1024 bits, with a P-384 key and
	// an encryption key beside it
	small := mustRSA(1024)
	enckey := jwkOf("enc", rsaKeyA())
	enckey["use"] = "enc"
	p384 := map[string]string{"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"}
	p := startIDP(t, jwkOf("small", small), enckey, p384, jwkOf("a", rsaKeyB()))
	v := p.verifier(t, p.srv.URL)

	for _, tc := range []struct {
		kid string
		key any
	}{{"small", small}, {"enc", rsaKeyA()}} {
		// WHEN a token names such a key THEN it is refused
		tok := sign(map[string]any{"alg": "RS256", "kid": tc.kid}, goodClaims(), tc.key)
		if _, err := v.Verify(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "kid is not in the key set") {
			t.Errorf("kid %s: err %v, want kid not in the key set", tc.kid, err)
		}
	}
	// AND a usable key beside them works
	tok := sign(map[string]any{"alg": "RS256", "kid": "a"}, goodClaims(), rsaKeyB())
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Error(err)
	}
}

func TestJWTVerifierValidate(t *testing.T) {
	ok := agentkit.JWTVerifier{Issuer: testIssuer, JWKSURL: "https://issuer.test/jwks.json", Audience: testAudience}
	cases := []struct {
		name   string
		change func(v *agentkit.JWTVerifier)
		want   string
	}{
		{"no issuer", func(v *agentkit.JWTVerifier) { v.Issuer = "" }, `agentkit: JWTVerifier.Issuer is empty; set it to the issuer the tokens' "iss" claim names`},
		{"no audience", func(v *agentkit.JWTVerifier) { v.Audience = "" }, `agentkit: JWTVerifier.Audience is empty; set it to the audience the tokens are issued for (their "aud" claim)`},
		{"plain http", func(v *agentkit.JWTVerifier) { v.JWKSURL = "http://issuer.test/jwks.json" }, `agentkit: JWTVerifier.JWKSURL "http://issuer.test/jwks.json" is not an https:// URL; set it to the issuer's JSON Web Key Set`},
		{"no URL", func(v *agentkit.JWTVerifier) { v.JWKSURL = "" }, `agentkit: JWTVerifier.JWKSURL "" is not an https:// URL; set it to the issuer's JSON Web Key Set`},
		{"quote in a claim", func(v *agentkit.JWTVerifier) { v.RequiredClaims = map[string]string{"scope": `a"b`} }, `agentkit: JWTVerifier.RequiredClaims {"scope": "a\"b"} is not a claim name and value of 1 to 256 printable ASCII characters without quotes or backslashes`},
		{"negative leeway", func(v *agentkit.JWTVerifier) { v.Leeway = -time.Second }, `agentkit: JWTVerifier.Leeway -1s is out of range; use 0 (for 1m0s) to 5m0s`},
		{"long leeway", func(v *agentkit.JWTVerifier) { v.Leeway = time.Hour }, `agentkit: JWTVerifier.Leeway 1h0m0s is out of range; use 0 (for 1m0s) to 5m0s`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := &agentkit.JWTVerifier{Issuer: ok.Issuer, JWKSURL: ok.JWKSURL, Audience: ok.Audience}
			tc.change(v)
			err := v.Validate()
			if err == nil || err.Error() != tc.want {
				t.Errorf("err %v\nwant %s", err, tc.want)
			}
			// AND Serve refuses to start with it
			srv := &agentkit.Server{Auth: v}
			if err := srv.ListenAndServe(context.Background()); err == nil || err.Error() != tc.want {
				t.Errorf("ListenAndServe: %v", err)
			}
		})
	}
}

// Whatever a caller sends, the verifier answers without a panic, and lets
// through only what the issuer signed.
func FuzzJWTVerify(f *testing.F) {
	p := startIDP(f, jwkOf("a", rsaKeyA()), jwkOf("e", ecKey()))
	v := p.verifier(f, p.srv.URL)
	good := rsToken("a", rsaKeyA())
	f.Add(good)
	f.Add(sign(map[string]any{"alg": "ES256", "kid": "e"}, goodClaims(), ecKey()))
	f.Add(sign(map[string]any{"alg": "none", "kid": "a"}, goodClaims(), nil))
	f.Add("a.b.c")
	f.Add("..")
	f.Add(strings.Repeat("x.", 100))
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(context.Background(), token)
		if err == nil && c.Name != "user-1" {
			t.Errorf("let through %q as %+v", token, c)
		}
	})
}
