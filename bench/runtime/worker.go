package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/agentcdk/agentcdk/agentkit"
	"github.com/agentcdk/agentcdk/internal/faultproxy"
	"github.com/agentcdk/agentcdk/internal/mototest"
)

// The worker part's load, the same in every scenario.
const (
	workerJobs        = 60
	workerConcurrency = 10
	// workerBStopTimeout is worker B's in the sigterm scenario: long
	// enough that nothing but the benchmark's SIGTERM stops it.
	workerBStopTimeout = 30 * time.Second
	// eventWithin bounds the wait for the jobs that come before the
	// event; allDoneWithin the wait for every job after it (a message
	// whose receive answer was lost comes back after the 60s visibility
	// timeout, and moto's long poll may add up to its 20s wait).
	eventWithin   = 60 * time.Second
	allDoneWithin = 120 * time.Second
)

// scenario is one measurement of the worker, on fresh queues, with its own
// fault proxy and counting proxy.
type scenario struct {
	name        string
	what        string // for the report
	latency     time.Duration
	stopTimeout time.Duration
	after       int // jobs finished before the event
	// fault is the event, for faultFor; Pass means SIGTERM to worker A,
	// and worker B runs the rest.
	fault    faultproxy.Kind
	faultFor time.Duration
}

var scenarios = []scenario{
	{name: "sigterm", latency: 3 * time.Second, stopTimeout: 4 * time.Second, after: 20,
		what: "jobs of 3s; SIGTERM to worker A (stop timeout 4s) once 20 finished and the next ones run, then worker B runs the rest"},
	{name: "outage", latency: time.Second, stopTimeout: 30 * time.Second, after: 10,
		fault: faultproxy.Refuse, faultFor: 5 * time.Second, what: "jobs of 1s; connects to SQS refused for 5s once 10 finished"},
	{name: "reset", latency: time.Second, stopTimeout: 30 * time.Second, after: 10,
		fault: faultproxy.Reset, faultFor: 5 * time.Second, what: "jobs of 1s; connections to SQS reset for 5s once 10 finished"},
	{name: "stall", latency: time.Second, stopTimeout: 30 * time.Second, after: 10,
		fault: faultproxy.DropAnswers, faultFor: 10 * time.Second, what: "jobs of 1s; SQS answers dropped, connections kept open, for 10s once 10 finished"},
}

// The log lines that explain why a job ran twice; any other duplicate is a
// bug.
var explanations = []string{
	"sqsworker: message released for another worker",
	"sqsworker: job done but its message could not be deleted; it will run again",
	"sqsworker: a running job's message became visible again; another worker may run this job too",
	"sqsworker: heartbeat refused; another worker may run this job too",
}

// The SQS APIs the table splits the requests by.
var splitAPIs = []string{"ReceiveMessage", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"}

// workerResult is one scenario in one round.
type workerResult struct {
	sc       scenario
	round    int
	sent     int
	done     int            // distinct jobs finished
	dups     []duplicate    // jobs finished more than once
	again    int            // jobs finished on a later delivery (receive count over 1)
	lost     []string       // jobs never finished
	left     int            // messages in the queue and its dead-letter queue at the end
	releases int            // messages released for another worker
	bad      map[string]int // warning and error lines by message
	requests map[string]int // SQS requests by API
	exits    []exitInfo
	took     time.Duration
	lines    map[string][]string // the log lines of the lost and unexplained jobs
	err      error               // the scenario could not run to its end
}

// duplicate is a job that finished more than once.
type duplicate struct {
	id            string
	receiveCounts []int
	explainedBy   string // "" when no log line explains it
}

// missed returns the goals the scenario missed.
func (r workerResult) missed() []string {
	at := fmt.Sprintf("worker %s round %d", r.sc.name, r.round)
	var m []string
	if r.err != nil {
		m = append(m, fmt.Sprintf("%s: %v", at, r.err))
	}
	if len(r.lost) > 0 {
		m = append(m, fmt.Sprintf("%s: %d job(s) never finished", at, len(r.lost)))
	}
	if r.left > 0 {
		m = append(m, fmt.Sprintf("%s: %d message(s) left in the queues", at, r.left))
	}
	for _, d := range r.dups {
		if d.explainedBy == "" {
			m = append(m, fmt.Sprintf("%s: job %s finished %d times and no log line explains it", at, d.id, len(d.receiveCounts)))
		}
	}
	for _, e := range r.exits {
		if !e.ok() {
			m = append(m, fmt.Sprintf("%s: %s exit %s, want 0 before the stop timeout", at, e.name, e))
		}
	}
	return m
}

// runWorker starts moto and measures every scenario in every round. The
// scenarios of a round run at once, each on its own queues and proxies, so
// that the part fits in a few minutes; moto's races are within a queue (see
// the package doc), so they do not meet.
func runWorker(ctx context.Context, bin string, rounds int) ([]workerResult, error) {
	m, err := mototest.Launch()
	if err != nil {
		return nil, err
	}
	defer m.Stop()
	progress("worker: moto_server at %s", m.Endpoint)
	// The benchmark's own client, with a transport it can close.
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	cfg := mototest.Config(m.Endpoint)
	cfg.HTTPClient = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	client := sqs.NewFromConfig(cfg)
	var out []workerResult
	for round := 1; round <= rounds; round++ {
		results := make([]workerResult, len(scenarios))
		var wg sync.WaitGroup
		for i, sc := range scenarios {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A panic here (faultproxy.Set's, say) would end the
				// program without the deferred stops of moto and the
				// other scenarios' workers: make it this scenario's error.
				defer func() {
					if p := recover(); p != nil {
						results[i] = workerResult{sc: sc, round: round, err: fmt.Errorf("panic: %v", p)}
					}
				}()
				results[i] = runScenario(ctx, bin, m.Endpoint, client, sc, round)
			}()
		}
		wg.Wait()
		out = append(out, results...)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
	}
	return out, nil
}

func runScenario(ctx context.Context, bin, motoURL string, client *sqs.Client, sc scenario, round int) workerResult {
	res := workerResult{sc: sc, round: round, bad: map[string]int{}, lines: map[string][]string{}}
	say := func(format string, args ...any) {
		progress("worker round %d %s: %s", round, sc.name, fmt.Sprintf(format, args...))
	}
	fail := func(err error) workerResult {
		res.err = err
		say("%v", err)
		return res
	}
	began := time.Now()

	// worker -> fault proxy -> counting proxy -> moto: the faults reach the
	// worker's own connections, and the count is what reached SQS.
	cnt, err := newCounter(motoURL)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if err := cnt.close(); err != nil {
			say("%v", err)
		}
	}()
	fp, err := faultproxy.New(cnt.addr())
	if err != nil {
		return fail(err)
	}
	defer fp.Close()
	q, err := createQueues(ctx, client, fmt.Sprintf("%s-r%d-%d", sc.name, round, time.Now().UnixNano()))
	if err != nil {
		return fail(err)
	}
	ids, err := sendJobs(ctx, client, q.url, workerJobs)
	if err != nil {
		return fail(err)
	}
	res.sent = len(ids)

	var workers []*child
	defer func() {
		for _, w := range workers {
			w.kill()
		}
	}()
	start := func(name string, stopTimeout time.Duration) (*child, error) {
		w, err := startChild(name, bin, append(os.Environ(), append(mototest.Env(fp.URL()),
			"AGENTKIT_QUEUE_URL="+q.url,
			"AGENTKIT_WORKER_CONCURRENCY="+strconv.Itoa(workerConcurrency),
			"AGENTKIT_STOP_TIMEOUT="+stopTimeout.String(),
			"AGENT_SIMULATED_LATENCY="+sc.latency.String(),
			"ECS_AGENT_URI=", // no ECS agent: task protection is off
		)...))
		if err == nil {
			workers = append(workers, w)
		}
		return w, err
	}
	finished := func() int {
		n := 0
		for _, w := range workers {
			n += w.count("job finished")
		}
		return n
	}

	say("%d jobs of %s, worker A with concurrency %d, stop timeout %s", len(ids), sc.latency, workerConcurrency, sc.stopTimeout)
	a, err := start("worker A", sc.stopTimeout)
	if err != nil {
		return fail(err)
	}
	if !waitFor(ctx, eventWithin, func() bool { return finished() >= sc.after || a.exited() }) || a.exited() {
		return fail(fmt.Errorf("worker A finished %d jobs within %s, want %d; its output:\n%s", finished(), eventWithin, sc.after, a.output("")))
	}
	last, lastStop := a, sc.stopTimeout
	if sc.fault == faultproxy.Pass {
		// SIGTERM once the next batch runs, so that the drain has jobs to
		// cut at its cancel point.
		waitFor(ctx, 2*time.Second, func() bool { return a.count("job started")-a.count("job finished") >= workerConcurrency })
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		say("SIGTERM to worker A after %d jobs finished, %d running", finished(), a.count("job started")-a.count("job finished"))
		res.exits = append(res.exits, a.stop(sc.stopTimeout))
		say("worker A exit %s; worker B starts", res.exits[0])
		if last, err = start("worker B", workerBStopTimeout); err != nil {
			return fail(err)
		}
		lastStop = workerBStopTimeout
	} else {
		say("%s for %s after %d jobs finished", sc.fault, sc.faultFor, finished())
		fp.Set(faultproxy.Fault{Kind: sc.fault})
		slept := sleep(ctx, sc.faultFor)
		fp.Set(faultproxy.Fault{})
		if !slept {
			return fail(ctx.Err())
		}
		say("faults over after %d jobs finished", finished())
	}

	allDone := func() bool {
		f := finishedIDs(workers)
		for _, id := range ids {
			if f[id] == nil {
				return false
			}
		}
		return true
	}
	if !waitFor(ctx, allDoneWithin, func() bool { return allDone() || last.exited() }) && ctx.Err() != nil {
		return fail(ctx.Err())
	}
	say("%d jobs finished; SIGTERM to %s", finished(), last.name)
	res.exits = append(res.exits, last.stop(lastStop))
	res.took = time.Since(began)
	res.requests = cnt.counts()
	for _, queue := range []string{q.url, q.dlq} {
		n, err := messagesIn(ctx, client, queue)
		if err != nil {
			return fail(err)
		}
		res.left += n
	}
	res.tally(ids, workers)
	say("done in %s: %d of %d finished, %d duplicated, %d lost, %d left in the queues",
		roundTime(res.took), res.done, res.sent, len(res.dups), len(res.lost), res.left)
	return res
}

// finishedIDs returns the receive count of every "job finished" line of
// the workers, by message ID.
func finishedIDs(workers []*child) map[string][]int {
	f := map[string][]int{}
	for _, w := range workers {
		for _, l := range w.log() {
			if l.Msg == "job finished" {
				f[l.MessageID] = append(f[l.MessageID], l.ReceiveCount)
			}
		}
	}
	return f
}

// tally reads the workers' logs into the result.
func (r *workerResult) tally(ids []string, workers []*child) {
	explained := map[string]string{}
	byID := map[string][]string{}
	for _, w := range workers {
		for _, l := range w.log() {
			if l.MessageID != "" {
				byID[l.MessageID] = append(byID[l.MessageID], w.name+": "+l.Raw)
			}
			if l.Msg == explanations[0] {
				r.releases++
			}
			if slices.Contains(explanations, l.Msg) && explained[l.MessageID] == "" {
				explained[l.MessageID] = l.Msg
			}
			if l.bad() {
				msg := l.Msg
				if msg == "" {
					msg = "(not a log line) " + l.Raw
				}
				r.bad[msg]++
			}
		}
	}
	finished := finishedIDs(workers)
	for _, id := range ids {
		counts := finished[id]
		if len(counts) == 0 {
			r.lost = append(r.lost, id)
			r.lines[id] = byID[id]
			continue
		}
		r.done++
		if slices.ContainsFunc(counts, func(c int) bool { return c > 1 }) {
			r.again++
		}
		if len(counts) > 1 {
			d := duplicate{id: id, receiveCounts: counts, explainedBy: explained[id]}
			r.dups = append(r.dups, d)
			if d.explainedBy == "" {
				r.lines[id] = byID[id]
			}
		}
	}
}

// workerTable renders the results, and what a reader needs to judge them,
// as markdown.
func workerTable(results []workerResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Each scenario sends %d jobs to a fresh queue (visibility timeout 60s, dead-letter queue after 5 receives) and runs "+
		"`examples/worker/agent` with concurrency %d; the worker talks to moto through a fault proxy and a counting proxy. "+
		"Every scenario of a round runs at once, on its own queues.\n\n", workerJobs, workerConcurrency)
	for _, sc := range scenarios {
		cancelAt, _ := agentkit.DrainDeadlines(sc.stopTimeout)
		fmt.Fprintf(&b, "- `%s`: %s (cancel point %s).\n", sc.name, sc.what, cancelAt)
	}
	b.WriteString("\nDone counts distinct jobs with a \"job finished\" line; redelivered those of them that finished on a later " +
		"delivery than the first (a released message, or one whose receive answer was lost and that came back after the " +
		"visibility timeout); lost counts jobs never finished; left counts the " +
		"messages still in the queue and its dead-letter queue at the end. SQS requests are per job sent, in total and for " +
		"ReceiveMessage, DeleteMessageBatch, ChangeMessageVisibilityBatch and any other API. " +
		"Goals: nothing lost or left, every duplicate explained by the worker's log, every worker exits 0 before its stop timeout.\n\n")

	t := table{header: []string{"scenario", "round", "sent", "done", "redelivered", "duplicated", "lost", "left", "releases",
		"warn/error lines", "SQS req/job", "receive", "delete", "visibility", "other", "worker exits (after SIGTERM)", "took"}}
	for _, r := range results {
		if r.err != nil {
			t.add(r.sc.name, r.round, r.sent, "error: see below", "", "", "", "", "", "", "", "", "", "", "", "", "")
			continue
		}
		badLines := 0
		for _, n := range r.bad {
			badLines += n
		}
		total, other := 0, 0
		for api, n := range r.requests {
			total += n
			if !slices.Contains(splitAPIs, api) {
				other += n
			}
		}
		perJob := func(n int) string { return strconv.FormatFloat(float64(n)/float64(r.sent), 'f', 2, 64) }
		var exits []string
		for _, e := range r.exits {
			exits = append(exits, strings.TrimPrefix(e.name, "worker ")+": "+e.String())
		}
		t.add(r.sc.name, r.round, r.sent, r.done, r.again, len(r.dups), len(r.lost), r.left, r.releases, badLines,
			perJob(total), perJob(r.requests[splitAPIs[0]]), perJob(r.requests[splitAPIs[1]]), perJob(r.requests[splitAPIs[2]]),
			perJob(other), strings.Join(exits, "; "), roundTime(r.took).String())
	}
	b.WriteString(t.String())
	b.WriteString(workerDetails(results))
	return b.String()
}

// workerDetails lists the duplicates with their explanations, the lost
// jobs with their log lines, the warnings and errors, and the errors that
// stopped a scenario.
func workerDetails(results []workerResult) string {
	var b strings.Builder
	b.WriteString("\nDuplicates:")
	found := false
	for _, r := range results {
		for _, d := range r.dups {
			found = true
			how := "NOT explained by any log line of the worker"
			if d.explainedBy != "" {
				how = fmt.Sprintf("explained by %q", d.explainedBy)
			}
			fmt.Fprintf(&b, "\n- %s round %d: job %s finished %d times (receive counts %v); %s", r.sc.name, r.round, d.id,
				len(d.receiveCounts), d.receiveCounts, how)
		}
	}
	if !found {
		b.WriteString(" none.")
	}
	b.WriteString("\n")

	for _, r := range results {
		if r.err != nil {
			fmt.Fprintf(&b, "\n%s round %d stopped: %v\n", r.sc.name, r.round, r.err)
		}
		if len(r.lost) > 0 {
			fmt.Fprintf(&b, "\n%s round %d lost %d job(s): %s\n", r.sc.name, r.round, len(r.lost), strings.Join(r.lost, ", "))
		}
		if len(r.lines) > 0 {
			b.WriteString("\nTheir log lines, and those of the unexplained duplicates:\n\n```\n")
			for _, id := range slices.Sorted(maps.Keys(r.lines)) {
				fmt.Fprintf(&b, "# %s\n", id)
				for _, l := range r.lines[id] {
					b.WriteString(l + "\n")
				}
			}
			b.WriteString("```\n")
		}
		for api, n := range r.requests {
			if !slices.Contains(splitAPIs, api) {
				fmt.Fprintf(&b, "\n%s round %d: %d %s request(s)\n", r.sc.name, r.round, n, api)
			}
		}
	}

	b.WriteString("\nWarnings and errors in the workers' logs, by scenario over all rounds:\n")
	for _, sc := range scenarios {
		bad := map[string]int{}
		for _, r := range results {
			if r.sc.name == sc.name {
				for msg, n := range r.bad {
					bad[msg] += n
				}
			}
		}
		if len(bad) == 0 {
			fmt.Fprintf(&b, "- %s: none\n", sc.name)
			continue
		}
		for _, msg := range slices.Sorted(maps.Keys(bad)) {
			fmt.Fprintf(&b, "- %s: %d × %s\n", sc.name, bad[msg], msg)
		}
	}
	return b.String()
}
