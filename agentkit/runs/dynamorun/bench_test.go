package dynamorun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agentcdk/agentcdk/agentkit/runs"
	"github.com/agentcdk/agentcdk/agentkit/runs/dynamorun"
)

// counting is a Client that counts the calls per operation.
type counting struct {
	dynamorun.Client
	mu sync.Mutex
	n  map[string]int
}

func (c *counting) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[op]++
}

func (c *counting) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.add("GetItem")
	return c.Client.GetItem(ctx, in, opts...)
}

func (c *counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.add("PutItem")
	return c.Client.PutItem(ctx, in, opts...)
}

func (c *counting) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.add("UpdateItem")
	return c.Client.UpdateItem(ctx, in, opts...)
}

func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.add("Query")
	return c.Client.Query(ctx, in, opts...)
}

func (c *counting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.add("TransactWriteItems")
	return c.Client.TransactWriteItems(ctx, in, opts...)
}

// itemSize is an item's size as DynamoDB bills it: the UTF-8 bytes of
// every attribute name plus its value's bytes (a number: about one byte
// per two digits, plus one)
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberB:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += (len(strings.TrimLeft(v.Value, "-0"))+1)/2 + 1
		case *types.AttributeValueMemberBOOL:
			n++
		}
	}
	return n
}

func kb(size int) int { return int(math.Ceil(float64(size) / 1024)) }

// BenchmarkRun measures a run's life against moto: create, claim, 10
// events of 200 bytes, a renewal, a finish with a 100-byte result, then a
// reader's Get and Events. It reports the store's requests per run and per
// event, the write request units a run costs on DynamoDB on demand (by
// its items' sizes), and the latency of an append beside that of a renewal
// (one UpdateItem): moto's, on loopback, where a transaction copies the
// whole table first, so it grows with the table; DynamoDB's own is
// single-digit milliseconds.
//
//	go test ./agentkit/runs/dynamorun -run '^$' -bench Run -benchtime 50x
func BenchmarkRun(b *testing.B) {
	const events = 10
	for _, input := range []int{100, runs.MaxInputBytes - 2} {
		b.Run(fmt.Sprintf("input=%dB", input+2), func(b *testing.B) {
			_, client, table := motoStore(b)
			c := &counting{Client: client, n: map[string]int{}}
			s := mustNew(b, c, table)
			c.n = map[string]int{}
			data := strings.Repeat("e", 200)
			var appends, renews []time.Duration
			var runItem, eventItem int
			b.ResetTimer()
			for i := range b.N {
				cx := context.Background()
				r := newRun()
				r.Input = json.RawMessage(`"` + strings.Repeat("i", input) + `"`)
				if _, _, err := s.Create(cx, r); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Claim(cx, r.ID, "w1", epoch, time.Minute); err != nil {
					b.Fatal(err)
				}
				for seq := int64(1); seq <= events; seq++ {
					start := time.Now()
					if err := s.Append(cx, r.ID, "w1", runs.Event{Seq: seq, Type: "step", Data: data, At: epoch}); err != nil {
						b.Fatal(err)
					}
					appends = append(appends, time.Since(start))
				}
				start := time.Now()
				if _, err := s.Renew(cx, r.ID, "w1", epoch.Add(time.Second), time.Minute); err != nil {
					b.Fatal(err)
				}
				renews = append(renews, time.Since(start))
				if _, err := s.Finish(cx, r.ID, "w1", runs.Succeeded, json.RawMessage(`"`+strings.Repeat("r", 98)+`"`), "", epoch.Add(2*time.Second)); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Get(cx, r.ID); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Events(cx, r.ID, 0, 100); err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					got := items(b, client, table, r.ID)
					eventItem, runItem = itemSize(got[0]), itemSize(got[len(got)-1])
				}
			}
			b.StopTimer()
			runs := float64(b.N)
			writes := c.n["PutItem"] + c.n["UpdateItem"] + c.n["TransactWriteItems"]
			reads := c.n["GetItem"] + c.n["Query"]
			b.ReportMetric(float64(writes)/runs, "writes/run")
			b.ReportMetric(float64(reads)/runs, "reads/run")
			b.ReportMetric(float64(c.n["TransactWriteItems"])/runs/events, "writes/event")
			// Create, Claim, Renew and Finish write the run item once each
			// (a write is billed by the larger of the item before and
			// after, so by the finished run's size at most); an append is
			// a transaction of two items, billed twice
			// (https://aws.amazon.com/dynamodb/pricing/on-demand/).
			wru := 4*kb(runItem) + events*2*(kb(eventItem)+kb(runItem))
			b.ReportMetric(float64(wru), "WRU/run")
			b.ReportMetric(float64(runItem), "run-item-B")
			slices.Sort(appends)
			b.ReportMetric(float64(appends[len(appends)/2].Microseconds()), "append-p50-µs")
			b.ReportMetric(float64(appends[len(appends)*99/100].Microseconds()), "append-p99-µs")
			slices.Sort(renews)
			b.ReportMetric(float64(renews[len(renews)/2].Microseconds()), "renew-p50-µs")
			b.ReportMetric(0, "ns/op")
		})
	}
}
