package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/agentcdk/agentcdk/agentkit"
)

// webCase is one load of the web part: how long a run takes, against the
// agent's stop timeout.
type webCase struct {
	name          string
	latency, stop time.Duration
}

// The web part's cases: runs that end well before the cancel point, each to
// be answered 200, and runs that outlast it, each to be answered 503
// "retry" with Connection: close at the cancel point.
var webCases = []webCase{
	{name: "runs end before the cancel point", latency: 2 * time.Second, stop: 10 * time.Second},
	{name: "runs outlast the cancel point", latency: 20 * time.Second, stop: 4 * time.Second},
}

// ioTimeout bounds a connection's whole exchange: an answer later than the
// stop timeout would have met SIGKILL on ECS anyway.
func (c webCase) ioTimeout() time.Duration { return c.stop + stopGrace }

// The web part's load, in every case.
const (
	webConns       = 200                    // opened and in flight before SIGTERM
	webArrivers    = 2                      // goroutines opening more connections throughout
	webArrivalGap  = 5 * time.Millisecond   // between one arriver's connects
	webArrivalLead = 100 * time.Millisecond // of arrivals before SIGTERM
)

// webConn is what one client connection saw.
type webConn struct {
	connected time.Time // when the connect succeeded; zero when it failed
	dialErr   error
	status    int       // of a whole response
	answered  time.Time // when the whole response had come
	keepAlive bool      // the response did not say "Connection: close"
	lost      string    // why the connection counts as lost; "" when answered
}

// webRound is one round of the web part.
type webRound struct {
	wc                 webCase
	round              int
	inFlight, arrived  int // connected before SIGTERM, and after it
	ok, stopping, lost int // answered 200, answered 503 with Connection: close, neither
	keptAlive          int // answered during the drain without "Connection: close"
	refused            int
	otherFailures      []string // of the refused, the connects that failed otherwise (a reset)
	exit               exitInfo
	lostWhy            map[string]int
	agentLog           string // the agent's log, but for "run started", when something was lost
}

func (r webRound) accepted() int { return r.inFlight + r.arrived }

// missed returns the goals the round missed.
func (r webRound) missed() []string {
	var m []string
	if r.lost > 0 {
		m = append(m, fmt.Sprintf("web %q round %d: %d accepted connection(s) lost", r.wc.name, r.round, r.lost))
	}
	if r.keptAlive > 0 {
		m = append(m, fmt.Sprintf("web %q round %d: %d answer(s) during the drain without Connection: close", r.wc.name, r.round, r.keptAlive))
	}
	if !r.exit.ok() {
		m = append(m, fmt.Sprintf("web %q round %d: agent exit %s, want 0 before the stop timeout", r.wc.name, r.round, r.exit))
	}
	return m
}

// runWeb measures every round of the web part.
func runWeb(ctx context.Context, bin string, rounds int) ([]webRound, error) {
	var out []webRound
	for _, wc := range webCases {
		for i := 1; i <= rounds; i++ {
			progress("web round %d: %d runs of %s, stop timeout %s", i, webConns, wc.latency, wc.stop)
			r, err := webOnce(ctx, bin, wc, i)
			if err != nil {
				return out, fmt.Errorf("web %q round %d: %w", wc.name, i, err)
			}
			progress("web round %d: %d accepted, %d lost, %d refused, exit %s", i, r.accepted(), r.lost, r.refused, r.exit)
			out = append(out, r)
		}
	}
	return out, nil
}

func webOnce(ctx context.Context, bin string, wc webCase, round int) (webRound, error) {
	res := webRound{wc: wc, round: round, lostWhy: map[string]int{}}
	port, err := freePort()
	if err != nil {
		return res, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	agent, err := startChild("agent", bin, append(os.Environ(),
		"PORT="+strconv.Itoa(port),
		"AGENT_HOST=127.0.0.1",
		"AGENT_SIMULATED_LATENCY="+wc.latency.String(),
		"AGENTKIT_STOP_TIMEOUT="+wc.stop.String(),
	))
	if err != nil {
		return res, err
	}
	defer agent.kill()
	if !waitFor(ctx, 15*time.Second, func() bool { return agent.count("agentkit: serving") > 0 || agent.exited() }) || agent.exited() {
		return res, fmt.Errorf("the agent did not start serving; its output:\n%s", agent.output(""))
	}

	var (
		mu    sync.Mutex
		conns []*webConn
		wg    sync.WaitGroup // the exchanges
	)
	reqCtx, cancelReqs := context.WithCancel(ctx)
	// In this order on every path: no new connection, then every exchange
	// ended (cancelling closes their connections), then the agent killed
	// by the deferred kill above if it still runs.
	var arrivers sync.WaitGroup
	defer func() {
		cancelReqs()
		arrivers.Wait()
		wg.Wait()
	}()
	// open connects and, when that worked, exchanges one run in the
	// background; it reports whether the connect worked.
	open := func(ctx context.Context, input string) bool {
		c, conn := dial(ctx, addr)
		if c == nil {
			return false // the benchmark is stopping: not a result
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		if conn == nil {
			return false
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.exchange(reqCtx, conn, addr, input, wc.ioTimeout())
		}()
		return true
	}

	for i := range webConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			open(reqCtx, fmt.Sprintf("r%d-c%d", round, i))
		}()
	}
	started := func() int { return agent.count("run started") }
	if !waitFor(ctx, 30*time.Second, func() bool { return started() >= webConns || agent.exited() }) || agent.exited() {
		return res, fmt.Errorf("only %d of %d runs started within 30s; the agent's output:\n%s", started(), webConns, agent.output("run started"))
	}

	// Arrivals throughout: before SIGTERM, during the drain, until the
	// listener refuses them (or, if it never does, the stop timeout).
	arriveCtx, stopArrivals := context.WithTimeout(reqCtx, wc.ioTimeout())
	defer stopArrivals()
	for a := range webArrivers {
		arrivers.Add(1)
		go func() {
			defer arrivers.Done()
			tick := time.NewTicker(webArrivalGap)
			defer tick.Stop()
			for n := 0; open(arriveCtx, fmt.Sprintf("r%d-a%d-%d", round, a, n)); n++ {
				select {
				case <-arriveCtx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	if !sleep(ctx, webArrivalLead) {
		return res, ctx.Err()
	}

	sigterm := time.Now()
	progress("web round %d: SIGTERM with %d runs started", round, started())
	res.exit = agent.stop(wc.stop)
	arrivers.Wait()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for _, c := range conns {
		switch {
		case c.dialErr != nil:
			res.refused++
			// A connect can also see a reset: the gap between the last
			// Accept and the listener's close (agentkit's drain.go) that no
			// socket API closes. The client knows it failed, so it is not
			// lost, but it is not quite a refusal either.
			if !errors.Is(c.dialErr, syscall.ECONNREFUSED) {
				res.otherFailures = append(res.otherFailures, netReason(c.dialErr))
			}
			continue
		case c.connected.Before(sigterm):
			res.inFlight++
		default:
			res.arrived++
		}
		if c.keepAlive && c.answered.After(sigterm) {
			res.keptAlive++
		}
		switch {
		case c.lost != "":
			res.lost++
			res.lostWhy[c.lost]++
		case c.status == http.StatusOK:
			res.ok++
		default:
			res.stopping++
		}
	}
	if res.lost > 0 {
		res.agentLog = agent.output("run started")
	}
	return res, nil
}

// dial connects to addr. It returns a nil *webConn when ctx ended first,
// and a nil net.Conn when the connect failed.
func dial(ctx context.Context, addr string) (*webConn, net.Conn) {
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if ctx.Err() != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, nil
	}
	if err != nil {
		return &webConn{dialErr: err}, nil
	}
	return &webConn{connected: time.Now()}, conn
}

// exchange sends one POST /run on conn and reads the whole answer, with no
// retry. It records the answer in c and, when it is not one the drain
// promises (200 with the output, or 503 "retry" with Connection: close),
// why the connection counts as lost.
func (c *webConn) exchange(ctx context.Context, conn net.Conn, addr, input string, timeout time.Duration) {
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		c.lost = "set deadline: " + err.Error()
		return
	}
	body, _ := json.Marshal(map[string]string{"input": input}) // a string map cannot fail
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/run", bytes.NewReader(body))
	if err != nil {
		c.lost = "make request: " + err.Error()
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if err := req.Write(conn); err != nil {
		c.lost = "request not sent: " + netReason(err)
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		c.lost = "no response: " + netReason(err)
		return
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.status = resp.StatusCode
	if err != nil {
		c.lost = fmt.Sprintf("%d with a partial body: %s", resp.StatusCode, netReason(err))
		return
	}
	c.answered, c.keepAlive = time.Now(), !resp.Close
	var answer struct{ Output, Error string }
	_ = json.Unmarshal(got, &answer) // a bad body fails the checks below
	switch {
	case resp.StatusCode == http.StatusOK && answer.Output == "You said: "+input:
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Close && answer.Error == "agent is stopping; retry":
	case resp.StatusCode == http.StatusServiceUnavailable && !resp.Close:
		c.lost = "503 without Connection: close"
	default:
		c.lost = fmt.Sprintf("%d with body %q", resp.StatusCode, bytes.TrimSpace(got))
	}
}

// netReason names a network error without its addresses, so that the
// reasons of many connections group.
func netReason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the agent"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer before the exchange's deadline (the stop timeout and a grace)"
	case errors.Is(err, net.ErrClosed):
		return "connection closed by the benchmark"
	}
	return err.Error()
}

// webTable renders the rounds, and each case's total, as markdown.
func webTable(rounds []webRound) string {
	t := table{header: []string{"case", "round", "in flight at SIGTERM", "arrived during the drain", "accepted",
		"answered 200", "answered 503", "lost", "refused", "answered without Connection: close", "exit code", "exit after SIGTERM"}}
	for _, wc := range webCases {
		var total webRound
		var codes []string
		for _, r := range rounds {
			if r.wc != wc {
				continue
			}
			t.add(wc.name, strconv.Itoa(r.round), r.inFlight, r.arrived, r.accepted(), r.ok, r.stopping, r.lost, r.refused, r.keptAlive,
				exitCode(r.exit), fmt.Sprintf("%s (stop timeout %s)", roundTime(r.exit.took), wc.stop))
			total.inFlight += r.inFlight
			total.arrived += r.arrived
			total.ok += r.ok
			total.stopping += r.stopping
			total.lost += r.lost
			total.refused += r.refused
			total.keptAlive += r.keptAlive
			total.exit.took = max(total.exit.took, r.exit.took)
			if c := exitCode(r.exit); !slices.Contains(codes, c) {
				codes = append(codes, c)
			}
		}
		t.add(wc.name, "**total**", total.inFlight, total.arrived, total.accepted(), total.ok, total.stopping, total.lost, total.refused, total.keptAlive,
			strings.Join(codes, ", "), "max "+roundTime(total.exit.took).String())
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Each round starts `examples/basic/agent`, opens %d POST /run connections and waits until every run has started, "+
		"keeps %d clients opening a new connection every %s, and sends SIGTERM %s later. ", webConns, webArrivers, webArrivalGap, webArrivalLead)
	for _, wc := range webCases {
		cancelAt, closeAt := agentkit.DrainDeadlines(wc.stop)
		fmt.Fprintf(&b, "In %q, runs take %s and the stop timeout is %s (cancel point %s, close point %s). ", wc.name, wc.latency, wc.stop, cancelAt, closeAt)
	}
	b.WriteString("In flight at SIGTERM counts the connections whose connect succeeded before SIGTERM was sent, " +
		"arrived during the drain those whose connect succeeded after it, refused the connects that failed. " +
		"A connection is lost when its connect succeeded but no whole answer came " +
		"(200 with the output, or 503 \"retry\" with Connection: close). Goals: none lost, every answer sent during the drain " +
		"carries Connection: close (package agentkit, \"The drain\"), exit 0 before the stop timeout.\n\n")
	b.WriteString(t.String())
	for _, r := range rounds {
		if len(r.otherFailures) > 0 {
			fmt.Fprintf(&b, "\n%s, round %d: %d of the refused connects failed otherwise: %s.\n",
				r.wc.name, r.round, len(r.otherFailures), strings.Join(r.otherFailures, ", "))
		}
		if r.lost == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s, round %d lost %d connection(s):\n", r.wc.name, r.round, r.lost)
		for why, n := range r.lostWhy {
			fmt.Fprintf(&b, "- %d: %s\n", n, why)
		}
		fmt.Fprintf(&b, "\nThe agent's log, but for \"run started\":\n\n```\n%s```\n", r.agentLog)
	}
	return b.String()
}

func exitCode(e exitInfo) string {
	if e.killed {
		return "killed"
	}
	return strconv.Itoa(e.code)
}
