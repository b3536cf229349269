package mototest

import (
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

func TestALaunchWhosePortWasTakenFailsInsteadOfUsingTheOtherServer(t *testing.T) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		t.Skipf("mototest: %s is not on PATH: %v", Binary, err)
	}
	// GIVEN the free port taken, between freePort and the start, by
	// something that answers as moto does (another test's emulator)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go other.Serve(l)
	defer other.Close()

	// WHEN moto_server is launched on that port
	srv, err := launchOn(bin, l.Addr().(*net.TCPAddr).Port)

	// THEN the launch fails, saying why, instead of handing the test the
	// other server, which would go away with its own test
	if err == nil {
		srv.Stop()
		t.Fatal("launch succeeded on a port another server holds")
	}
	if !strings.Contains(err.Error(), "exited before answering") || !strings.Contains(err.Error(), "in use") {
		t.Errorf("err = %v, want the exit and moto's own words on the port in use", err)
	}
}
