package faultproxy_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"

	"github.com/agentcdk/agentcdk/internal/faultproxy"
)

// A proxy in front of an HTTP server takes the server off the network and
// puts it back, while the client keeps the same URL.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	p, err := faultproxy.New(srv.Listener.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	p.Set(faultproxy.Fault{Kind: faultproxy.Refuse})
	_, err = client.Get(p.URL())
	fmt.Println("refused:", errors.Is(err, syscall.ECONNREFUSED))

	p.Set(faultproxy.Fault{Kind: faultproxy.Pass})
	resp, err := client.Get(p.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// refused: true
	// 200 OK
}
