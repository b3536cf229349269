// Command runtime measures what agentcdk's runtime promises under faults, on
// loopback, against the two example binaries, and prints markdown tables
// for docs/performance.md. It exits 1 when a goal is missed, so it doubles as a
// check (2 for bad flags).
//
// Run it from the repository root; it needs moto_server on PATH (pip install
// 'moto[server]') for the worker part:
//
//	go run ./bench/runtime               # -rounds 3 -part all
//	go run ./bench/runtime -rounds 1 -part web
//
// Part web: examples/basic/agent across SIGTERM, in two cases: runs of 2s
// with a stop timeout of 10s (cancel point 8s: every run should end in a
// 200), and runs of 20s with a stop timeout of 4s (cancel point 2.5s: every
// run should end in a 503 "retry"). Each round opens 200 POST /run
// requests, each on its own connection, waits until all 200 runs have
// started, keeps two clients opening a new connection every 5ms until the
// agent refuses them, and sends SIGTERM. For every connection it records
// whether the connect was refused, answered (200, or 503 "retry" with
// Connection: close) or lost (connected, but no whole answer), and whether
// an answer sent during the drain lacked "Connection: close"; and the
// agent's exit code and time from SIGTERM to exit. Goals: nothing lost,
// every answer during the drain closing its connection, exit 0 before the
// stop timeout.
//
// Part worker: examples/worker/agent under SIGTERM, an SQS outage and a
// stalled connection, against one moto_server. Each scenario sends 60 jobs
// to fresh queues (visibility timeout 60s, a dead-letter queue after 5
// receives) and runs the worker with concurrency 10 through a fault proxy
// (internal/faultproxy) and a counting HTTP proxy: worker -> fault proxy ->
// counting proxy -> moto, so that the faults hit the worker's own
// connections (a refused connect, a reset) and the count is what reached
// SQS, what AWS would bill. The scenarios: sigterm (worker A stopped
// mid-batch with jobs longer than its drain, worker B runs the rest), outage
// (connects refused for 5s), reset (connections reset for 5s) and stall
// (answers dropped for 10s, connections left open). It reads the workers'
// JSON logs for the jobs finished (and how many on a later delivery), the
// releases, the warnings and errors, and checks that both queues end empty.
// Goals: no job lost or left behind, every job that finished twice explained
// by the worker's log (a release, a delete that failed, a message that
// became visible again), every worker exits 0 before its stop timeout.
//
// moto 5.2.1's SQS has no lock on a queue's state, so concurrent receives
// or deletes on one queue can deliver twice or undo a delete; one worker
// makes its settling calls one at a time, so only one worker runs against a
// queue at a time (worker B starts after A exited). The scenarios of a
// round run at once, each on its own queues.
//
// The figures depend on the machine; docs/performance.md keeps them with the
// command that produced them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

func main() {
	rounds := flag.Int("rounds", 3, "rounds of each measurement")
	part := flag.String("part", "all", "what to measure: web, worker or all")
	flag.Parse()
	var bad string
	switch {
	case *rounds < 1:
		bad = fmt.Sprintf("-rounds %d is too few; use 1 or more", *rounds)
	case *part != "web" && *part != "worker" && *part != "all":
		bad = fmt.Sprintf("-part %q is unknown; use web, worker or all", *part)
	case flag.NArg() > 0:
		bad = fmt.Sprintf("unexpected arguments %q; it takes flags only", flag.Args())
	}
	if bad != "" {
		fmt.Fprintln(os.Stderr, "runtime:", bad)
		flag.Usage()
		os.Exit(2)
	}
	// Ctrl-C ends the measurement through the context, so that every
	// deferred cleanup still kills the children.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, *rounds, *part)
	stop()
	os.Exit(code)
}

// began is when the benchmark started, for the progress lines.
var began = time.Now()

// progress writes a line to stderr; stdout is only the report.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
}

// run measures the parts asked for, prints the report and returns the exit
// status: 1 when a goal was missed or a part could not run.
func run(ctx context.Context, rounds int, part string) int {
	fmt.Printf("Machine: %d CPUs, %s/%s, %s. Command: `go run ./bench/runtime %s`\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), strings.Join(os.Args[1:], " "))
	tmp, err := os.MkdirTemp("", "agentcdk-runtime-bench")
	if err != nil {
		fmt.Fprintln(os.Stderr, "runtime:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	var missed []string
	if part != "worker" {
		missed = append(missed, webPart(ctx, tmp, rounds)...)
	}
	if part != "web" && ctx.Err() == nil {
		missed = append(missed, workerPart(ctx, tmp, rounds)...)
	}
	if ctx.Err() != nil {
		missed = append(missed, "interrupted: "+ctx.Err().Error())
	}

	fmt.Println()
	if len(missed) == 0 {
		fmt.Println("All goals met.")
		progress("all goals met")
		return 0
	}
	fmt.Printf("Goals missed or not measured (%d):\n", len(missed))
	for _, m := range missed {
		fmt.Println("- " + m)
	}
	progress("goals missed or not measured: %d", len(missed))
	return 1
}

// webPart builds the web agent, measures it and prints its section.
func webPart(ctx context.Context, tmp string, rounds int) []string {
	fmt.Print("\n## Web agent across SIGTERM\n\n")
	bin, err := build(tmp, "agent", "github.com/agentcdk/agentcdk/examples/basic/agent")
	if err != nil {
		fmt.Printf("Not measured: %v\n", err)
		return []string{"web: not measured: " + err.Error()}
	}
	results, err := runWeb(ctx, bin, rounds)
	if len(results) > 0 {
		fmt.Print(webTable(results))
	}
	var missed []string
	if err != nil {
		fmt.Printf("\nStopped: %v\n", err)
		missed = append(missed, "web: "+err.Error())
	}
	for _, r := range results {
		missed = append(missed, r.missed()...)
	}
	return missed
}

// workerPart builds the worker, measures it and prints its section.
func workerPart(ctx context.Context, tmp string, rounds int) []string {
	fmt.Print("\n## Queue worker under SIGTERM, an SQS outage and a stalled connection\n\n")
	if _, err := exec.LookPath(mototest.Binary); err != nil {
		err = fmt.Errorf("%s is not on PATH; install it with pip install 'moto[server]', or run -part web: %w", mototest.Binary, err)
		fmt.Printf("Not measured: %v\n", err)
		progress("worker: %v", err)
		return []string{"worker: not measured: " + err.Error()}
	}
	bin, err := build(tmp, "worker", "github.com/agentcdk/agentcdk/examples/worker/agent")
	if err != nil {
		fmt.Printf("Not measured: %v\n", err)
		return []string{"worker: not measured: " + err.Error()}
	}
	results, err := runWorker(ctx, bin, rounds)
	if len(results) > 0 {
		fmt.Print(workerTable(results))
	}
	var missed []string
	if err != nil {
		fmt.Printf("\nStopped: %v\n", err)
		missed = append(missed, "worker: "+err.Error())
	}
	for _, r := range results {
		missed = append(missed, r.missed()...)
	}
	return missed
}

// build compiles pkg into tmp/name once, so that every round runs the same
// binary and no round pays for the compiler.
func build(tmp, name, pkg string) (string, error) {
	bin := filepath.Join(tmp, name)
	progress("go build %s", pkg)
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// table is a markdown table, padded so that it also reads as plain text.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) add(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = fmt.Sprint(c)
	}
	t.rows = append(t.rows, row)
}

func (t *table) String() string {
	width := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			fmt.Fprintf(&b, "| %s%s ", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		b.WriteString("|\n")
	}
	line(t.header)
	sep := make([]string, len(width))
	for i, w := range width {
		sep[i] = strings.Repeat("-", w)
	}
	line(sep)
	for _, row := range t.rows {
		line(row)
	}
	return b.String()
}
