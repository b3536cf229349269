package mototest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

func TestASerializerPassesDynamoDBRequestsOneAtATime(t *testing.T) {
	// GIVEN a server that holds each request until told, behind a
	// Serializer
	arrived := make(chan string, 3)
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.Header.Get("X-Amz-Target")
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_") {
			<-release
		}
	}))
	defer backend.Close()
	url := mototest.Serialize(t, backend.URL)
	send := func(target string) <-chan error {
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
			req.Header.Set("X-Amz-Target", target)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				_ = resp.Body.Close()
			}
			done <- err
		}()
		return done
	}
	wait := func(what string) string {
		t.Helper()
		select {
		case got := <-arrived:
			return got
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never arrived", what)
			return ""
		}
	}

	// WHEN a DynamoDB request is held, and a second one and an SQS one
	// are sent
	first := send("DynamoDB_20120810.TransactWriteItems")
	wait("the first DynamoDB request")
	second := send("DynamoDB_20120810.UpdateItem")
	sqs := send("AmazonSQS.ReceiveMessage")

	// THEN the SQS request passes, the second DynamoDB request waits for
	// the first to be answered
	if got := wait("the SQS request"); got != "AmazonSQS.ReceiveMessage" {
		t.Fatalf("%s arrived while the first DynamoDB request was held", got)
	}
	if err := <-sqs; err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-arrived:
		t.Fatalf("%s arrived while the first DynamoDB request was held", got)
	case <-time.After(200 * time.Millisecond):
	}
	release <- struct{}{}
	if got := wait("the second DynamoDB request"); got != "DynamoDB_20120810.UpdateItem" {
		t.Fatalf("%s arrived", got)
	}
	close(release)
	for _, done := range []<-chan error{first, second} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}
