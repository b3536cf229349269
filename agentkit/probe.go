package agentkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// ProbeTimeout bounds RunProbe: the time to connect, send the request and read
// the answer. It sits inside the ECS container health check's default 5s
// timeout, so a hung server shows as a failed probe rather than a killed one.
const ProbeTimeout = 3 * time.Second

// Probe sends GET url and returns nil when the answer is 200 OK. It follows no
// redirect, uses no proxy and no keep-alive, and reads at most 4 KiB of the
// body, whose start it quotes in the error. ctx bounds the whole probe.
func Probe(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("agentkit: probe %s: %w", url, err)
	}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("agentkit: probe: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("agentkit: probe %s: status %d: %s", url, resp.StatusCode, snippet(body))
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// RunProbe is the container health check mode (`agent healthcheck`, see
// ProbeArg): it probes http://127.0.0.1:$PORT/health, and
// http://[::1]:$PORT/health when nothing answers on the IPv4 loopback (an
// agent listening on ::1 only), within ProbeTimeout. It returns the process
// exit code, 0 when the answer is 200 and 1 otherwise (a non-200 status, a
// refused connection, a timeout, a malformed PORT), after printing the reason
// to stderr. Use it as
//
//	if len(os.Args) == 2 && os.Args[1] == agentkit.ProbeArg {
//		os.Exit(agentkit.RunProbe())
//	}
func RunProbe() int {
	port, err := PortFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
	defer cancel()
	if err := probeLoopback(ctx, port); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// probeLoopback probes the health path on the IPv4 loopback, then on the
// IPv6 one if the first could not connect.
func probeLoopback(ctx context.Context, port int) error {
	err := Probe(ctx, fmt.Sprintf("http://127.0.0.1:%d%s", port, HealthPath))
	var op *net.OpError
	if err == nil || !errors.As(err, &op) || op.Op != "dial" {
		return err
	}
	if err6 := Probe(ctx, fmt.Sprintf("http://[::1]:%d%s", port, HealthPath)); err6 != nil {
		return fmt.Errorf("%w; and on IPv6: %w", err, err6)
	}
	return nil
}
