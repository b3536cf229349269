package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Kind is the kind of fault a Proxy injects. Its zero value is Pass; the
// package documentation says what each kind models.
type Kind int

// The kinds of fault.
const (
	Pass        Kind = iota // forward everything unchanged
	Refuse                  // stop listening: connects fail with ECONNREFUSED
	Reset                   // reset new and open connections
	Stall                   // forward nothing, keep connections open
	Delay                   // hold each chunk Fault.Delay, trickle at Fault.BytesPerSecond
	DropAnswers             // forward requests, discard answers, keep connections open
)

var kindNames = [...]string{"Pass", "Refuse", "Reset", "Stall", "Delay", "DropAnswers"}

// String returns the kind's name, as written in Go.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Fault is what a Proxy does to the traffic through it. The zero Fault
// passes everything.
type Fault struct {
	Kind Kind

	// Delay is added before each chunk is forwarded, in both directions,
	// when Kind is Delay. Default: 0, no delay.
	Delay time.Duration

	// BytesPerSecond limits each direction to that rate when Kind is Delay:
	// a slow peer, down to one byte per write. Default: 0, no limit.
	BytesPerSecond int
}

// ticksPerSecond is how often a rate-limited direction writes: each write
// carries a twentieth of a second's bytes, at least one, so a slow rate
// trickles in small pieces rather than arriving as one late chunk.
const ticksPerSecond = 20

// relistenPatience bounds how long Set retries to listen again after Refuse
// when the port is momentarily taken (by an outgoing connection that picked
// it as its ephemeral port, for one).
const relistenPatience = 5 * time.Second

// errClosed ends a pump whose connection pair was torn down.
var errClosed = errors.New("faultproxy: connection closed")

// Proxy is a fault-injecting TCP proxy on 127.0.0.1. Make one with New or
// Start; its methods are safe to call from any goroutine.
type Proxy struct {
	addr   string // fixed at New, reused on every listen
	target string
	ctx    context.Context // cancelled by Close, to end a dial to the target
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the proxy started

	mu       sync.Mutex
	fault    Fault
	changed  chan struct{} // closed and replaced on every Set, to wake held chunks
	ln       *net.TCPListener
	links    map[*link]struct{}
	accepted int
	closed   bool
}

// link is one proxied connection: the client's and the proxy's own to the
// target. Its fields are guarded by Proxy.mu.
type link struct {
	client  *net.TCPConn
	target  *net.TCPConn  // nil until the dial succeeds
	done    chan struct{} // closed when the link is torn down, to end its pumps
	pumps   int           // pumps still running
	aborted bool          // torn down: done is closed, the conns are closed
}

// New starts a proxy on 127.0.0.1 at a free port, forwarding to target
// ("host:port") with no fault. Each connection it accepts gets its own
// connection to target; when that dial fails, the client's connection is
// reset.
func New(target string) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	p := &Proxy{target: target, changed: make(chan struct{}), links: map[*link]struct{}{}}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.listenLocked("127.0.0.1:0", 0); err != nil {
		p.cancel()
		return nil, fmt.Errorf("faultproxy: listen on 127.0.0.1: %w", err)
	}
	p.addr = p.ln.Addr().String()
	return p, nil
}

// Start is New for a test: it fails the test when New fails and closes the
// proxy in t.Cleanup.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// Addr returns the proxy's address, "127.0.0.1:PORT". It stays the same for
// the proxy's life, also across Refuse.
func (p *Proxy) Addr() string { return p.addr }

// URL returns "http://" + Addr(), for an HTTP client or an SDK endpoint.
func (p *Proxy) URL() string { return "http://" + p.addr }

// Accepted returns how many connections the proxy has accepted so far,
// including those it reset under Reset.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Set switches the fault; it takes effect before Set returns, on new and
// open connections alike. Switching away from Refuse listens again on the
// same address, retrying for a few seconds while the port is taken; Set
// panics if it still cannot, since the proxy would then break its promise
// of a stable address. Set panics on an unknown Kind or a negative Delay or
// BytesPerSecond. After Close, Set only records the fault.
func (p *Proxy) Set(f Fault) {
	if err := f.validate(); err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault = f
	close(p.changed)
	p.changed = make(chan struct{})
	if p.closed {
		return
	}
	switch f.Kind {
	case Refuse:
		if p.ln != nil {
			_ = p.ln.Close() // its accept loop ends with net.ErrClosed
			p.ln = nil
		}
		p.abortAllLocked()
	case Reset:
		p.abortAllLocked()
	}
	if f.Kind != Refuse && p.ln == nil {
		if err := p.listenLocked(p.addr, relistenPatience); err != nil {
			panic(fmt.Sprintf("faultproxy: listen again on %s after Refuse: %v", p.addr, err))
		}
	}
}

func (f Fault) validate() error {
	switch {
	case f.Kind < Pass || f.Kind > DropAnswers:
		return fmt.Errorf("faultproxy: Kind %d is unknown; use Pass, Refuse, Reset, Stall, Delay or DropAnswers", int(f.Kind))
	case f.Delay < 0:
		return fmt.Errorf("faultproxy: Delay %v is negative", f.Delay)
	case f.BytesPerSecond < 0:
		return fmt.Errorf("faultproxy: BytesPerSecond %d is negative", f.BytesPerSecond)
	}
	return nil
}

// Close stops listening, resets every open connection and waits for the
// proxy's goroutines to end. Calling it again does nothing and returns nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	var err error
	if !p.closed {
		p.closed = true
		if p.ln != nil {
			err = p.ln.Close()
			p.ln = nil
		}
		p.abortAllLocked()
		p.cancel()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("faultproxy: close listener on %s: %w", p.addr, err)
	}
	return nil
}

// listenLocked listens on addr and starts accepting, retrying for up to
// patience while addr is in use.
func (p *Proxy) listenLocked(addr string, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			p.ln = ln.(*net.TCPListener)
			p.wg.Add(1)
			go p.acceptLoop(p.ln)
			return nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond) // a retry pause, not synchronisation
	}
}

// acceptLoop serves one listener until Set(Refuse) or Close closes it. On
// loopback the only other accept error is running out of file descriptors,
// which has already lost the test.
func (p *Proxy) acceptLoop(ln *net.TCPListener) {
	defer p.wg.Done()
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			return
		}
		p.admit(c)
	}
}

// admit counts a new connection and either resets it or starts its link.
func (p *Proxy) admit(c *net.TCPConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accepted++
	// Refuse is seen here only for a connection accepted just before the
	// listener closed; it is reset like the other open ones.
	if p.closed || p.fault.Kind == Refuse {
		reset(c)
		return
	}
	if p.fault.Kind == Reset {
		p.wg.Add(1)
		go p.resetOnFirstBytes(c)
		return
	}
	l := &link{client: c, done: make(chan struct{})}
	p.links[l] = struct{}{}
	p.wg.Add(1)
	go p.serve(l)
}

// resetQuiet is how long a new connection under Reset may stay silent
// before it is reset anyway.
const resetQuiet = 100 * time.Millisecond

// resetOnFirstBytes resets a connection accepted under Reset once its
// client has sent something (or has stayed silent for resetQuiet), as a
// middlebox that lost the connection's state answers its next segment.
// The client has finished its write by then, so it learns of the reset on
// its read, as ECONNRESET: a reset racing the client's write would surface
// as EPIPE, or as the client's own "use of closed network connection" once
// its failed write closed the socket under the read.
func (p *Proxy) resetOnFirstBytes(c *net.TCPConn) {
	defer p.wg.Done()
	_ = c.SetReadDeadline(time.Now().Add(resetQuiet))
	_, _ = c.Read(make([]byte, 4<<10))
	reset(c)
}

// serve dials the target for l, then runs its two pumps: the answer pump on
// a new goroutine, the request pump on this one.
func (p *Proxy) serve(l *link) {
	defer p.wg.Done()
	var d net.Dialer
	c, err := d.DialContext(p.ctx, "tcp", p.target)
	p.mu.Lock()
	if err != nil || l.aborted {
		// An unreachable target resets the client, as a load balancer with
		// no healthy backend would.
		p.abortLocked(l)
		if c != nil {
			reset(c.(*net.TCPConn))
		}
		p.mu.Unlock()
		return
	}
	l.target = c.(*net.TCPConn)
	l.pumps = 2
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		p.finish(l, p.pump(l, l.client, l.target, true))
	}()
	p.finish(l, p.pump(l, l.target, l.client, false))
}

// pump copies src to dst, chunk by chunk, through the current fault, and
// passes src's EOF on as a half-close. answer marks the target-to-client
// direction, the one DropAnswers discards.
func (p *Proxy) pump(l *link, dst, src *net.TCPConn, answer bool) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if err := p.forward(l, dst, buf[:n], answer); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			if err := p.holdEOF(l, answer); err != nil {
				return err
			}
			return dst.CloseWrite()
		}
		if err != nil {
			return err
		}
	}
}

// forward writes b to dst as the fault allows, re-reading the fault whenever
// it changes so that Set acts on a chunk already held.
func (p *Proxy) forward(l *link, dst *net.TCPConn, b []byte, answer bool) error {
	delayed := false // this chunk has served its Fault.Delay
	for len(b) > 0 {
		f, changed := p.current()
		switch {
		case f.Kind == Stall:
			if _, err := l.hold(-1, changed); err != nil {
				return err
			}
		case f.Kind == DropAnswers && answer:
			return nil
		case f.Kind == Delay && f.Delay > 0 && !delayed:
			ok, err := l.hold(f.Delay, changed)
			if err != nil {
				return err
			}
			delayed = ok
		case f.Kind == Delay && f.BytesPerSecond > 0:
			// Each piece takes its share of a second before it is written,
			// so byte k arrives no sooner than k/BytesPerSecond.
			n := min(len(b), max(1, f.BytesPerSecond/ticksPerSecond))
			ok, err := l.hold(time.Duration(n)*time.Second/time.Duration(f.BytesPerSecond), changed)
			if err != nil {
				return err
			}
			if !ok {
				continue // the fault changed: decide again for the rest
			}
			if _, err := dst.Write(b[:n]); err != nil {
				return err
			}
			b = b[n:]
		default:
			_, err := dst.Write(b)
			return err
		}
	}
	return nil
}

// holdEOF keeps a half-close back while the fault holds or drops this
// direction's bytes: a FIN that overtook them would tell the peer the
// connection ended, where the fault means it to go silent.
func (p *Proxy) holdEOF(l *link, answer bool) error {
	for {
		f, changed := p.current()
		if f.Kind != Stall && (f.Kind != DropAnswers || !answer) {
			return nil
		}
		if _, err := l.hold(-1, changed); err != nil {
			return err
		}
	}
}

// current returns the fault and the channel that is closed when it changes.
func (p *Proxy) current() (Fault, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault, p.changed
}

// hold waits d (for ever if d < 0) and reports whether it did; it returns
// early, with false, when the fault changes, and with errClosed when the link
// is torn down, so no pump outlives Close on a timer.
func (l *link) hold(d time.Duration, changed <-chan struct{}) (bool, error) {
	var elapsed <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		elapsed = t.C
	}
	select {
	case <-elapsed:
		return true, nil
	case <-changed:
		return false, nil
	case <-l.done:
		return false, errClosed
	}
}

// finish records the end of one of l's pumps. An error (a reset, a failed
// write, the link torn down) resets both sides, passing a peer's reset on;
// when both pumps ended cleanly, both sides have half-closed and the
// connections are closed normally.
func (p *Proxy) finish(l *link, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l.pumps--
	switch {
	case err != nil:
		p.abortLocked(l)
	case l.pumps == 0 && !l.aborted:
		l.aborted = true
		close(l.done)
		_ = l.client.Close()
		_ = l.target.Close()
		delete(p.links, l)
	}
}

// abortLocked tears l down with a reset on both sides.
func (p *Proxy) abortLocked(l *link) {
	if l.aborted {
		return
	}
	l.aborted = true
	close(l.done)
	reset(l.client)
	if l.target != nil {
		reset(l.target)
	}
	delete(p.links, l)
}

func (p *Proxy) abortAllLocked() {
	for l := range p.links {
		p.abortLocked(l)
	}
}

// reset closes c with an RST instead of a FIN, so its peer sees ECONNRESET
// rather than a clean EOF.
func reset(c *net.TCPConn) {
	_ = c.SetLinger(0)
	_ = c.Close()
}
