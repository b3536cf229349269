package mototest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// A Serializer stands in front of a moto_server and passes it DynamoDB's
// requests one at a time, every other request as it comes.
//
// DynamoDB serializes the writes to an item and isolates a transaction
// from every other write
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation).
// moto 5.2.1 does neither under concurrent requests: TransactWriteItems
// copies the whole table before it starts and, when one of its conditions
// fails, puts that copy back, erasing whatever another request wrote
// meanwhile (a live holder's event lost to a stale holder's refused
// append); a conditional write checks and writes without a lock. Through a
// Serializer, concurrent clients still race, and moto takes their requests
// in turn, as DynamoDB would order them. SQS's requests (long polls among
// them) are not held.
type Serializer struct {
	// URL is the endpoint to give clients: "http://127.0.0.1:PORT".
	URL string
	srv *httptest.Server
	tr  *http.Transport
}

// NewSerializer starts a Serializer in front of the moto_server at
// endpoint; Close stops it.
func NewSerializer(endpoint string) (*Serializer, error) {
	target, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// No connection to moto outlives its request: a test that checks for
	// leaked goroutines sees none of the Serializer's between its tests.
	tr.DisableKeepAlives = true
	proxy.Transport = tr
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
			mu.Lock()
			defer mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	return &Serializer{URL: srv.URL, srv: srv, tr: tr}, nil
}

// Close stops the Serializer and waits for the requests it is passing on.
func (s *Serializer) Close() {
	s.srv.Close()
	s.tr.CloseIdleConnections()
}

// Serialize starts a Serializer in front of the moto_server at endpoint,
// stopped when t ends, and returns its URL.
func Serialize(t testing.TB, endpoint string) string {
	t.Helper()
	s, err := NewSerializer(endpoint)
	if err != nil {
		t.Fatalf("mototest: %v", err)
	}
	t.Cleanup(s.Close)
	return s.URL
}
