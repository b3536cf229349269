package dynamorun_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

func TestFromEnvReadsTheTableAndTheRetention(t *testing.T) {
	// GIVEN the variables the construct sets, on a table in moto
	_, client, table := motoStore(t)
	t.Setenv(agentkit.EnvRunsTable, table)
	t.Setenv(agentkit.EnvRunRetention, "3600s")

	// WHEN a store made from them creates a run
	cfg := mototest.Config(motoEndpoint(t))
	tr := awshttp.NewBuildableClient().GetTransport()
	t.Cleanup(tr.CloseIdleConnections)
	cfg.HTTPClient = &http.Client{Transport: tr}
	s, err := dynamorun.FromEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}

	// THEN it lands in that table and expires an hour after its creation
	got := items(t, client, table, r.ID)
	if len(got) != 1 || attrN(got[0], "expires") != strconv.FormatInt(epoch.Add(time.Hour).Unix(), 10) {
		t.Fatalf("items %v", got)
	}
}

func TestBadSettingsAreRefusedByName(t *testing.T) {
	for _, tc := range []struct {
		name, table, retention string
		opts                   []dynamorun.Option
		want                   string
	}{
		{"no table", "", "", nil, "dynamorun: AGENTKIT_RUNS_TABLE is not set"},
		{"retention not a duration", "runs", "7d", nil, `dynamorun: AGENTKIT_RUN_RETENTION "7d" is not a positive Go duration`},
		{"retention not positive", "runs", "-1h", nil, `dynamorun: AGENTKIT_RUN_RETENTION "-1h" is not a positive Go duration`},
		{"call timeout", "runs", "", []dynamorun.Option{dynamorun.WithCallTimeout(0)}, "dynamorun: call timeout 0s is not positive"},
		{"retention option", "runs", "", []dynamorun.Option{dynamorun.WithRetention(-time.Hour)}, "dynamorun: retention -1h0m0s is not positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(agentkit.EnvRunsTable, tc.table)
			t.Setenv(agentkit.EnvRunRetention, tc.retention)
			_, err := dynamorun.FromEnv(mototest.Config("http://127.0.0.1:1"), tc.opts...)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := dynamorun.New(nil, "runs"); err == nil || err.Error() != "dynamorun: client is nil" {
		t.Errorf("New with no client: %v", err)
	}
	if _, err := dynamorun.New(&failing{}, ""); err == nil || err.Error() != "dynamorun: table name is empty" {
		t.Errorf("New with no table: %v", err)
	}
}

func TestARunWithoutCreatedOrAnEventWithoutAtIsRefused(t *testing.T) {
	s, _, _ := motoStore(t)
	r := newRun()
	r.Created = time.Time{}
	if _, _, err := s.Create(ctx(t), r); err == nil || !strings.Contains(err.Error(), "no Created time") {
		t.Fatalf("Create without Created: %v", err)
	}
	r = newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 1, Data: "x"}); err == nil || !strings.Contains(err.Error(), "no At time") {
		t.Fatalf("Append without At: %v", err)
	}
	if err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: 1, Type: "\xff", Data: "x", At: epoch}); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Fatalf("Append of a type that is not UTF-8: %v", err)
	}
}

func TestEventsWithoutALimitReturnsThemAll(t *testing.T) {
	s, _, _ := motoStore(t)
	r := newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= 12; seq++ {
		if err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: seq, Data: "x", At: epoch}); err != nil {
			t.Fatal(err)
		}
	}
	for _, after := range []int64{-5, 0, 10} {
		evs, err := s.Events(ctx(t), r.ID, after, 0)
		want := 12 - max(after, 0)
		if err != nil || int64(len(evs)) != want || evs[0].Seq != max(after, 0)+1 {
			t.Fatalf("Events after %d with no limit: %d events, %v", after, len(evs), err)
		}
	}
	if evs, err := s.Events(ctx(t), r.ID, 12, 0); err != nil || len(evs) != 0 {
		t.Fatalf("Events after the last: %v, %v", evs, err)
	}
}

func TestEventsReadsPageAfterPage(t *testing.T) {
	// GIVEN a run with 7 events, and a table that answers a Query with 2
	// items at most, as DynamoDB ends a page at 1 MB (32 KB events: 32 a page)
	_, client, table := motoStore(t)
	f := newFailing(client)
	f.page = 2
	s := mustNew(t, f, table)
	r := newRun()
	if _, _, err := s.Create(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx(t), r.ID, "w1", epoch, time.Minute); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= 7; seq++ {
		if err := s.Append(ctx(t), r.ID, "w1", runs.Event{Seq: seq, Data: "x", At: epoch}); err != nil {
			t.Fatal(err)
		}
	}

	// WHEN 5 events are asked for, then all after the third
	five, err5 := s.Events(ctx(t), r.ID, 0, 5)
	f.failNext("Query")
	rest, errRest := s.Events(ctx(t), r.ID, 3, 0)

	// THEN the store follows the pages until it has them
	if err5 != nil || len(five) != 5 || five[4].Seq != 5 {
		t.Fatalf("Events(0, 5): %+v, %v", five, err5)
	}
	if errRest != nil || len(rest) != 4 || rest[0].Seq != 4 || rest[3].Seq != 7 {
		t.Fatalf("Events(3, all): %+v, %v", rest, errRest)
	}
	if n := f.count("Query"); n != 3 { // 2 + 2 events, then event 7 and the run item
		t.Fatalf("%d queries for the last 4 events, want 3", n)
	}
}

func TestAnIDNoRunCanHaveIsNotFoundWithoutARequest(t *testing.T) {
	// GIVEN a store whose client counts its calls
	_, client, table := motoStore(t)
	c := &counting{Client: client, n: map[string]int{}}
	s := mustNew(t, c, table)
	for _, id := range []string{"", "run_", "run_UPPER", "../run_x", "run_" + strings.Repeat("a", 3000)} {
		// WHEN each method is given the ID
		_, getErr := s.Get(ctx(t), id)
		_, claimErr := s.Claim(ctx(t), id, "w1", epoch, time.Minute)
		_, renewErr := s.Renew(ctx(t), id, "w1", epoch, time.Minute)
		releaseErr := s.Release(ctx(t), id, "w1")
		appendErr := s.Append(ctx(t), id, "w1", runs.Event{Seq: 1, At: epoch})
		_, eventsErr := s.Events(ctx(t), id, 0, 10)
		_, finishErr := s.Finish(ctx(t), id, "w1", runs.Failed, nil, "x", epoch)
		_, cancelErr := s.Cancel(ctx(t), id, epoch)

		// THEN every answer is ErrNotFound
		for i, err := range []error{getErr, claimErr, renewErr, releaseErr, appendErr, eventsErr, finishErr, cancelErr} {
			if !errors.Is(err, runs.ErrNotFound) {
				t.Errorf("method %d with ID %.20q: %v, want ErrNotFound", i, id, err)
			}
		}
	}
	// AND no request was sent
	if len(c.n) != 0 {
		t.Fatalf("requests sent: %v", c.n)
	}
}
