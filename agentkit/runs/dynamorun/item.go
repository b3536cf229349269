package dynamorun

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/agentkit/runs"
)

// The table's layout: a run and its events share a partition, so one Query
// reads the events in order, and the run item ("run") sorts after every
// event ("ev#" and 16 digits).
const (
	pkPrefix = "run#"
	runSK    = "run"
	evPrefix = "ev#"
)

// The attributes of the items. Times are Unix nanoseconds (numbers), so a
// lease compares in a condition and a run reads back the instant it was
// given; expires is Unix seconds, as DynamoDB's TTL wants.
const (
	attrPK        = agentkit.RunsTablePartitionKey
	attrSK        = agentkit.RunsTableSortKey
	attrExpires   = agentkit.RunsTableTTLAttribute
	attrCaller    = "caller"
	attrWhere     = "where"
	attrStatus    = "status"
	attrInput     = "input"
	attrResult    = "result"
	attrError     = "error"
	attrAttempt   = "attempt"
	attrEvents    = "events"
	attrOwner     = "owner"
	attrLastOwner = "lastOwner" // who released or finished the run last: a retry of that write succeeds
	attrLease     = "leaseUntil"
	attrCancel    = "cancelRequested"
	attrCreated   = "created"
	attrStarted   = "started"
	attrEnded     = "ended"
	attrType      = "type"
	attrData      = "data"
	attrAt        = "at"
)

// names maps every attribute to an expression name (#status and so on):
// several are DynamoDB reserved words.
var names = func() map[string]string {
	m := map[string]string{}
	for _, a := range []string{attrPK, attrExpires, attrCaller, attrWhere, attrStatus, attrInput, attrResult, attrError,
		attrAttempt, attrEvents, attrOwner, attrLastOwner, attrLease, attrCancel, attrCreated, attrStarted, attrEnded} {
		m["#"+a] = a
	}
	return m
}()

// only returns the expression names that expr uses: DynamoDB refuses a
// request with names its expressions do not use.
func only(exprs ...string) map[string]string {
	m := map[string]string{}
	all := strings.Join(exprs, " ")
	for k, v := range names {
		if containsName(all, k) {
			m[k] = v
		}
	}
	return m
}

// containsName reports whether expr uses the name k as a whole word.
func containsName(expr, k string) bool {
	for i := 0; ; {
		j := strings.Index(expr[i:], k)
		if j < 0 {
			return false
		}
		end := i + j + len(k)
		if end == len(expr) || !isNameByte(expr[end]) {
			return true
		}
		i = end
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func runKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pkPrefix + id), attrSK: str(runSK)}
}

func eventSK(seq int64) string { return fmt.Sprintf("%s%016d", evPrefix, seq) }

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func nanos(t time.Time) types.AttributeValue { return num(t.UnixNano()) }
func bin(b []byte) types.AttributeValue      { return &types.AttributeValueMemberB{Value: b} }

// runItem is the item of a new run.
func runItem(r runs.Run) map[string]types.AttributeValue {
	item := runKey(r.ID)
	item[attrCaller] = str(r.Caller)
	item[attrWhere] = str(r.Where)
	item[attrStatus] = str(string(r.Status))
	item[attrAttempt] = num(0)
	item[attrEvents] = num(0)
	item[attrCreated] = nanos(r.Created)
	item[attrExpires] = num(r.Expires.Unix())
	if len(r.Input) > 0 {
		item[attrInput] = bin(r.Input)
	}
	return item
}

// eventItem is the item of event ev of run id, written by owner.
func eventItem(id, owner string, ev runs.Event, expires time.Time) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrPK: str(pkPrefix + id), attrSK: str(eventSK(ev.Seq)),
		attrOwner: str(owner), attrAt: nanos(ev.At), attrExpires: num(expires.Unix()),
	}
	if ev.Type != "" {
		item[attrType] = str(ev.Type)
	}
	if ev.Data != "" {
		item[attrData] = bin([]byte(ev.Data))
	}
	return item
}

// decodeRun reads a run item. A malformed item (not written by this
// package) is an error, not a zero run.
func decodeRun(item map[string]types.AttributeValue) (runs.Run, error) {
	d := decoder{item: item}
	pk := d.s(attrPK)
	r := runs.Run{
		ID:              strings.TrimPrefix(pk, pkPrefix),
		Caller:          d.s(attrCaller),
		Where:           d.s(attrWhere),
		Status:          runs.Status(d.s(attrStatus)),
		Input:           d.b(attrInput),
		Result:          d.b(attrResult),
		Error:           d.s(attrError),
		Attempt:         int(d.n(attrAttempt)),
		Events:          d.n(attrEvents),
		Owner:           d.s(attrOwner),
		LeaseUntil:      d.t(attrLease),
		CancelRequested: d.bool(attrCancel),
		Created:         d.t(attrCreated),
		Started:         d.t(attrStarted),
		Ended:           d.t(attrEnded),
	}
	if e := d.n(attrExpires); e != 0 {
		r.Expires = time.Unix(e, 0).UTC()
	}
	if d.err == nil && (!strings.HasPrefix(pk, pkPrefix) || r.Status == "") {
		d.err = fmt.Errorf("item %q is not a run", pk)
	}
	return r, d.err
}

// decodeEvent reads an event item.
func decodeEvent(item map[string]types.AttributeValue) (runs.Event, error) {
	d := decoder{item: item}
	sk := d.s(attrSK)
	seq, err := strconv.ParseInt(strings.TrimPrefix(sk, evPrefix), 10, 64)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("item %q is not an event", sk)
	}
	return runs.Event{Seq: seq, Type: d.s(attrType), Data: string(d.b(attrData)), At: d.t(attrAt)}, d.err
}

// sameEvent reports whether item is event ev as owner wrote it: an append
// whose answer was lost and that is sent again finds its own event there.
func sameEvent(item map[string]types.AttributeValue, owner string, ev runs.Event) bool {
	got, err := decodeEvent(item)
	d := decoder{item: item}
	return err == nil && d.s(attrOwner) == owner && got.Seq == ev.Seq && got.Type == ev.Type &&
		got.Data == ev.Data && got.At.Equal(ev.At) && d.err == nil
}

// sameRun reports whether a and b are the same new run, field by field.
func sameRun(a, b runs.Run) bool {
	return a.ID == b.ID && a.Caller == b.Caller && a.Where == b.Where && a.Status == b.Status &&
		bytes.Equal(a.Input, b.Input) && a.Created.Equal(b.Created) && a.Attempt == b.Attempt && a.Events == b.Events
}

// decoder reads attributes of one item, keeping the first type mismatch.
type decoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *decoder) fail(name string, v types.AttributeValue) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s has type %T", name, v)
	}
}

func (d *decoder) s(name string) string {
	switch v := d.item[name].(type) {
	case nil:
		return ""
	case *types.AttributeValueMemberS:
		return v.Value
	default:
		d.fail(name, v)
		return ""
	}
}

func (d *decoder) b(name string) []byte {
	switch v := d.item[name].(type) {
	case nil:
		return nil
	case *types.AttributeValueMemberB:
		return v.Value
	default:
		d.fail(name, v)
		return nil
	}
}

func (d *decoder) n(name string) int64 {
	switch v := d.item[name].(type) {
	case nil:
		return 0
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil && d.err == nil {
			d.err = fmt.Errorf("attribute %s: %w", name, err)
		}
		return n
	default:
		d.fail(name, v)
		return 0
	}
}

func (d *decoder) t(name string) time.Time {
	if d.item[name] == nil {
		return time.Time{}
	}
	return time.Unix(0, d.n(name)).UTC()
}

func (d *decoder) bool(name string) bool {
	switch v := d.item[name].(type) {
	case nil:
		return false
	case *types.AttributeValueMemberBOOL:
		return v.Value
	default:
		d.fail(name, v)
		return false
	}
}
