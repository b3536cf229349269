package agentkit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentcdk/agentcdk/agentkit"
)

// What the caller check adds to a request, with the key set cached: an
// RS256 or ES256 signature check, or a hash of the key and one comparison
// per stored key.
func BenchmarkCallerCheck(b *testing.B) {
	p := startIDP(b, jwkOf("a", rsaKeyA()), jwkOf("e", ecKey()))
	v := p.verifier(b, p.srv.URL)
	keys := map[string]string{}
	for i := range 100 {
		keys[fmt.Sprint("caller-", i)] = fmt.Sprintf("key-%04d-0123456789abcdef", i)
	}
	set, err := agentkit.NewAPIKeySet(keys)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name, auth string
		a          agentkit.Authenticator
	}{
		{"none", "", nil},
		{"RS256", "Bearer " + rsToken("a", rsaKeyA()), v},
		{"ES256", "Bearer " + sign(map[string]any{"alg": "ES256", "kid": "e"}, goodClaims(), ecKey()), v},
		{"APIKey-100", "Bearer key-0099-0123456789abcdef", agentkit.APIKeyAuth(set)},
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			h := (&agentkit.Server{Auth: tc.a}).Handler(ok)
			if tc.a == nil {
				h = (&agentkit.Server{Auth: agentkit.NoAuth}).Handler(ok)
			}
			r := httptest.NewRequest(http.MethodPost, "/run", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r) // fetch the key set
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
