package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is one of the example binaries running as a child process, with
// the JSON log lines it wrote to stdout and stderr.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the process exited and its output is read

	mu    sync.Mutex
	lines []logLine

	// Set before done is closed; read only after it.
	exitedAt time.Time
}

// logLine is one line of a child's output. The fields are those of the
// examples' slog JSON lines that the benchmark reads; a line that is not
// JSON keeps only Raw and counts as an error.
type logLine struct {
	Level        string `json:"level"`
	Msg          string `json:"msg"`
	MessageID    string `json:"message_id"`
	ReceiveCount int    `json:"receive_count"`
	Raw          string `json:"-"`
}

// bad reports whether the line is a warning, an error, or not a log line
// at all (a panic's trace, say).
func (l logLine) bad() bool {
	return l.Level == "WARN" || l.Level == "ERROR" || l.Level == ""
}

// startChild runs bin with exactly env as its environment and collects its
// output. The caller must call kill (usually deferred) so that the process
// never outlives the benchmark.
func startChild(name, bin string, env []string) (*child, error) {
	c := &child{name: name, done: make(chan struct{})}
	c.cmd = exec.Command(bin)
	c.cmd.Env = env
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: stdout pipe: %w", name, err)
	}
	// One pipe for both, so that the lines keep their order.
	c.cmd.Stderr = c.cmd.Stdout
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	go c.read(out)
	return c, nil
}

func (c *child) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			l = logLine{}
		}
		l.Raw = sc.Text()
		c.mu.Lock()
		c.lines = append(c.lines, l)
		c.mu.Unlock()
	}
	// A line over the scanner's limit ends the scan; the rest must still
	// be read, or the child blocks on a full pipe and never exits.
	_, _ = io.Copy(io.Discard, r)
	_ = c.cmd.Wait() // the status is read from ProcessState
	c.exitedAt = time.Now()
	close(c.done)
}

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// log returns a copy of the lines so far.
func (c *child) log() []logLine {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]logLine(nil), c.lines...)
}

// count returns how many lines so far have msg.
func (c *child) count(msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.lines {
		if l.Msg == msg {
			n++
		}
	}
	return n
}

// output returns the raw lines so far that are not msg, for an error
// message; skip leaves out the one line every request or job writes.
func (c *child) output(skip string) string {
	var b strings.Builder
	for _, l := range c.log() {
		if skip == "" || l.Msg != skip {
			b.WriteString(l.Raw + "\n")
		}
	}
	return b.String()
}

// exitInfo is how a child ended after the benchmark signalled it.
type exitInfo struct {
	name   string
	code   int           // the exit status; -1 when a signal ended it
	took   time.Duration // from the signal to the exit
	limit  time.Duration // the stop timeout: ECS would send SIGKILL then
	killed bool          // the benchmark sent SIGKILL: it did not exit by itself
	early  bool          // it had exited before the signal
}

// ok reports whether the exit meets the goal: status 0 before the stop
// timeout, as ECS needs it.
func (e exitInfo) ok() bool {
	return !e.killed && !e.early && e.code == 0 && e.took < e.limit
}

func (e exitInfo) String() string {
	switch {
	case e.early:
		return fmt.Sprintf("%d before SIGTERM, on its own", e.code)
	case e.killed:
		return fmt.Sprintf("killed: still running %s after SIGTERM (stop timeout %s)", roundTime(e.took), e.limit)
	}
	return fmt.Sprintf("%d in %s (stop timeout %s)", e.code, roundTime(e.took), e.limit)
}

// stopGrace is how long past its stop timeout a child may run before the
// benchmark kills it: a late exit is still worth timing exactly.
const stopGrace = 5 * time.Second

// stop sends SIGTERM and waits for the exit; after limit and stopGrace it
// kills the process. A child that had already exited reports its status as
// early.
func (c *child) stop(limit time.Duration) exitInfo {
	e := exitInfo{name: c.name, limit: limit, early: c.exited()}
	signalled := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !c.exited() {
		progress("%s: SIGTERM: %v", c.name, err)
	}
	t := time.NewTimer(limit + stopGrace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		e.killed = true
		c.kill()
	}
	e.took = max(c.exitedAt.Sub(signalled), 0)
	e.code = c.cmd.ProcessState.ExitCode()
	return e
}

// kill ends the process at once, if it still runs, and waits for it.
func (c *child) kill() {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Kill()
	<-c.done
}

// waitFor polls cond until it holds, timeout passes or ctx ends, and
// reports whether it held.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// freePort finds a free port on 127.0.0.1 by binding and releasing it.
// Another process may take it in between; on loopback, with ports picked
// by the kernel, that is rare enough for a benchmark.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// roundTime rounds d for a table: milliseconds below ten seconds, tenths above.
func roundTime(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
