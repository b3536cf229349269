package agentkit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// What checking the load balancer's signed user claims adds to a request,
// with the key cached: the padded parts decoded and one ES256 signature
// check, as BenchmarkCallerCheck measures the other methods.
func BenchmarkCallerCheckALB(b *testing.B) {
	k := startALBKeys(b)
	v := k.verifier(b, k.srv.URL, time.Hour, 5*time.Second)
	h := (&agentkit.Server{Auth: v}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/run", nil)
	r.Header.Set(agentkit.ALBDataHeader, albSign(albHeader(albKidA), albClaims(), ecKey(), true))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r) // fetch the key
	if w.Code != 200 {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
