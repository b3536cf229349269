package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/agentkit"
)

// serve runs the agent's routes behind agentkit.Server on 127.0.0.1 and
// returns its base URL; the server drains when the test ends.
func serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &agentkit.Server{Logger: slog.New(slog.DiscardHandler)}
	srv.HTTP = &http.Server{Handler: routes(srv, srv.Logger)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestRunAnswersThePromptInTheBody(t *testing.T) {
	// GIVEN a running agent
	base := serve(t)
	// WHEN a run is posted
	code, body := do(t, "POST", base+"/run", `{"input": "plan my trip"}`)
	// THEN it answers with the output
	if code != 200 || body != `{"output":"You said: plan my trip"}` {
		t.Errorf("POST /run: %d %s", code, body)
	}
	if code, body := do(t, "GET", base+agentkit.HealthPath, ""); code != 200 {
		t.Errorf("GET /health: %d %s", code, body)
	}
}

func TestStreamSendsATokenPerWordThenDone(t *testing.T) {
	// GIVEN a running agent WHEN a run is streamed
	resp, err := http.Post(serve(t)+"/run/stream", "application/json", strings.NewReader(`{"input": "hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// THEN the events are the answer's words, then the whole answer
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "event: ") || strings.HasPrefix(line, "data: ") {
			events = append(events, line)
		}
	}
	want := []string{
		"event: token", `data: {"token":"You "}`,
		"event: token", `data: {"token":"said: "}`,
		"event: token", `data: {"token":"hi"}`,
		"event: done", `data: {"output":"You said: hi"}`,
	}
	if resp.Header.Get("Content-Type") != "text/event-stream" || strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Errorf("stream: %s %q\nwant %q", resp.Header.Get("Content-Type"), events, want)
	}
}

// A prompt in a URL lands in the load balancer's access logs and the
// firewall's logs: the agent takes prompts only in request bodies.
func TestAPromptInTheURLIsRefused(t *testing.T) {
	base := serve(t)
	for _, path := range []string{"/run?input=secret", "/run/stream?input=secret"} {
		// WHEN a run is asked for with its prompt in the query string
		code, _ := do(t, "GET", base+path, "")
		// THEN there is no such route
		if code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: %d, want 405", path, code)
		}
	}
	// AND a POST with the prompt in the URL but not in the body is refused
	if code, body := do(t, "POST", base+"/run?input=secret", ""); code != 400 || strings.Contains(body, "secret") {
		t.Errorf("POST /run?input=secret with no body: %d %s", code, body)
	}
}

func TestABadBodyIsAClientError(t *testing.T) {
	base := serve(t)
	for _, tc := range []struct {
		name, path, body string
		code             int
		msg              string
	}{
		{"empty", "/run", "", 400, `request body is not {\"input\": \"...\"}: EOF`},
		{"unknown field", "/run", `{"input": "x", "temperature": 2}`, 400, `request body is not {\"input\": \"...\"}: json: unknown field \"temperature\"`},
		{"empty input", "/run/stream", `{"input": ""}`, 400, `\"input\" is missing or empty; send {\"input\": \"...\"}`},
		{"too large", "/run", `{"input": "` + strings.Repeat("a", maxBody) + `"}`, 413, `request body is larger than 1048576 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// WHEN a run's body is wrong THEN the client hears what is wrong
			code, body := do(t, "POST", base+tc.path, tc.body)
			if want := `{"error":"` + tc.msg + `"}`; code != tc.code || body != want {
				t.Errorf("got %d %s\nwant %d %s", code, body, tc.code, want)
			}
		})
	}
}
