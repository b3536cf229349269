package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/agentkit"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// FuzzRun sends arbitrary bodies to POST /run and POST /run/stream. The
// decoder lives in package main, so this test is inside it; the process
// tests in agent_test.go are black-box.
func FuzzRun(f *testing.F) {
	for _, seed := range []string{
		`{"input": "hello"}`, ``, `{}`, `null`, `[]`, `"input"`, `{"input": 1}`, `{"input": null}`,
		`{"input": "x", "extra": true}`, `{"input": "a"}{"input": "b"}`, `{"input": "a"} `, `{"input":`,
		`{"input": "\u0000\ud800"}`, `{"input": "` + strings.Repeat("é", 100) + `"}`, "\xff\xfe", `{"INPUT": "case"}`,
	} {
		f.Add(seed)
	}
	a := &agent{srv: &agentkit.Server{}, log: quietLog}
	mux := a.routes()
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/run", "/run/stream"} {
			// GIVEN any body WHEN it is posted
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))

			// THEN the answer is a success or a 4xx with a JSON error, never a panic
			switch {
			case rec.Code == http.StatusOK && path == "/run":
				var out runResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || !strings.HasPrefix(out.Output, "You said: ") {
					t.Fatalf("%s: 200 with %q", path, rec.Body)
				}
			case rec.Code == http.StatusOK:
				if !strings.Contains(rec.Body.String(), "event: done\n") {
					t.Fatalf("%s: 200 with %q", path, rec.Body)
				}
			case rec.Code == http.StatusBadRequest || rec.Code == http.StatusRequestEntityTooLarge:
				var e errorResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Fatalf("%s: %d with %q", path, rec.Code, rec.Body)
				}
			default:
				t.Fatalf("%s: %d with %q", path, rec.Code, rec.Body)
			}
		}
	})
}
