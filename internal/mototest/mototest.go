package mototest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Dummy credentials and the region every client of the emulator uses.
// moto accepts any credentials; real AWS accepts none of these.
const (
	Region          = "us-east-1"
	AccessKeyID     = "test"
	SecretAccessKey = "test"
)

// Binary is the emulator's executable, looked up on PATH.
const Binary = "moto_server"

// startTimeout bounds how long Start waits for the emulator to answer; a
// cold Python start takes about a second on a loaded two-core machine.
const startTimeout = 30 * time.Second

// Start launches moto_server on 127.0.0.1 at a free port and returns its
// endpoint ("http://127.0.0.1:PORT"). The server is stopped, and waited for,
// by t.Cleanup. When moto_server is not on PATH, Start skips the test, or
// fails it when the environment variable CI is "true".
func Start(t testing.TB) (endpoint string) {
	t.Helper()
	Require(t)
	srv, err := Launch()
	if err != nil {
		t.Fatalf("mototest: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv.Endpoint
}

// Require skips t when moto_server is not on PATH, or fails it when the
// environment variable CI is "true": for a test that launches the emulator
// itself (Launch), away from its goroutine.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(Binary); err != nil {
		msg := fmt.Sprintf("mototest: %s is not on PATH (pip install 'moto[server]'): %v", Binary, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true, so this test must not skip")
		}
		t.Skip(msg)
	}
}

// A Server is a running moto_server, for a program that has no testing.TB
// to tie it to (a benchmark).
type Server struct {
	// Endpoint is where it answers: "http://127.0.0.1:PORT".
	Endpoint string
	stop     func()
}

// Stop ends the server's process group (SIGTERM, then SIGKILL after 5s)
// and waits for it.
func (s *Server) Stop() { s.stop() }

// Launch starts moto_server from PATH on 127.0.0.1 at a free port and waits
// until it answers. The free port is found by binding and releasing it;
// another process may take it in between, so a failed start is retried on
// a new port.
func Launch() (*Server, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("%s is not on PATH (pip install 'moto[server]'): %w", Binary, err)
	}
	var lastErr error
	for range 3 {
		srv, err := launch(bin)
		if err == nil {
			return srv, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func launch(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return launchOn(bin, port)
}

// launchOn starts moto_server on port and waits until it answers.
func launchOn(bin string, port int) (*Server, error) {
	logs := &headWriter{}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout = logs
	cmd.Stderr = logs
	// Its own process group, so stopping it reaches any child it forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	// exited is closed when the process has been waited for, with its
	// error in waitErr: both waitReady and stop watch it.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitReady(endpoint, logs, exited, func() error { return waitErr }); err != nil {
		stop()
		return nil, fmt.Errorf("%s on port %d: %w; its output:\n%s", bin, port, err, logs.String())
	}
	return &Server{Endpoint: endpoint, stop: stop}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits until the moto_server it started says it listens on
// endpoint and then answers there, the process exits, or startTimeout
// passes. The answer alone is not enough: between freePort and the start,
// another test's emulator may have taken the port; this one then exits
// ("Address already in use"), and a probe in between would reach the other,
// which goes away with its test.
func waitReady(endpoint string, logs *headWriter, exited <-chan struct{}, waitErr func() error) error {
	// No keep-alive: no idle connection, and no goroutine, outlives the wait.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	listening := "Running on " + endpoint
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("exited before answering: %v", waitErr())
		default:
		}
		if strings.Contains(logs.String(), listening) {
			resp, err := client.Get(endpoint + "/moto-api/")
			if err == nil {
				resp.Body.Close()
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("did not answer within " + startTimeout.String())
}

// Config returns an SDK configuration that sends every service's requests
// to endpoint with the dummy credentials, in Region.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// Env returns the environment variables (KEY=value) that point an AWS SDK or
// CLI in a child process at endpoint with the dummy credentials. Append them
// to os.Environ() so that they win over the caller's own AWS settings.
func Env(endpoint string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}
