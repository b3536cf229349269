package faultproxy_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/internal/faultproxy"
	"github.com/agentcdk/agentcdk/internal/leakcheck"
)

// silence is how long a read must stay empty to prove that a fault holds
// bytes back: long against loopback latency, short enough for the suite.
const silence = 200 * time.Millisecond

// patience bounds every read that must succeed; it is never reached unless
// the proxy is broken.
const patience = 10 * time.Second

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Run(m))
}

// backend is a TCP server whose connections the test holds itself, so it
// can write and read on both ends of the proxied connection.
type backend struct {
	t  *testing.T
	ln *net.TCPListener
}

func startBackend(t *testing.T) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("backend listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return &backend{t: t, ln: ln.(*net.TCPListener)}
}

func (b *backend) addr() string { return b.ln.Addr().String() }

// accept returns the backend's end of the next connection the proxy makes.
func (b *backend) accept() *net.TCPConn {
	b.t.Helper()
	_ = b.ln.SetDeadline(time.Now().Add(patience))
	c, err := b.ln.AcceptTCP()
	if err != nil {
		b.t.Fatalf("backend accept: %v", err)
	}
	b.t.Cleanup(func() { _ = c.Close() })
	return c
}

// connect dials the proxy and returns the client's and the backend's ends.
func connect(t *testing.T, p *faultproxy.Proxy, b *backend) (client, server *net.TCPConn) {
	t.Helper()
	return dial(t, p), b.accept()
}

func dial(t *testing.T, p *faultproxy.Proxy) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), patience)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(patience))
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// read reads exactly n bytes.
func read(t *testing.T, c net.Conn, n int) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	buf := make([]byte, n)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return string(buf)
}

func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	if got := read(t, c, len(want)); got != want {
		t.Fatalf("read %q, want %q", got, want)
	}
}

// expectSilent asserts that nothing arrives on c for the silence window and
// that c is still open. The deadline lies in the future when the read
// starts, so bytes already waiting would be returned, not a timeout.
func expectSilent(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(silence))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %q, %v; want nothing until the deadline", buf[:n], err)
	}
}

// readErr reads until c fails and returns the error.
func readErr(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(patience))
	_, err := io.Copy(io.Discard, c)
	if err == nil {
		return io.EOF // io.Copy reports a clean end as nil
	}
	return err
}

// dialErr connects to p and reads until the connection fails. The proxy's
// kernel completes the handshake before the proxy can reset the connection,
// so the reset shows either on the read or, when it wins the race with the
// dialer's check of the socket, on the dial itself.
func dialErr(p *faultproxy.Proxy) error {
	c, err := net.DialTimeout("tcp", p.Addr(), patience)
	if err != nil {
		return err
	}
	defer c.Close()
	return readErr(c)
}

func TestPassForwardsBothWaysAndPropagatesHalfClose(t *testing.T) {
	// GIVEN a proxy with no fault and a connection through it
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	client, server := connect(t, p, b)

	// WHEN bytes go each way
	write(t, client, "hello")
	write(t, server, "world")

	// THEN they arrive unchanged
	expect(t, server, "hello")
	expect(t, client, "world")

	// WHEN the client half-closes
	if err := client.CloseWrite(); err != nil {
		t.Fatal(err)
	}

	// THEN the backend sees EOF and its answer still reaches the client
	if err := readErr(server); !errors.Is(err, io.EOF) {
		t.Fatalf("backend read after client CloseWrite: %v, want EOF", err)
	}
	write(t, server, "bye")
	expect(t, client, "bye")

	// WHEN the backend closes
	_ = server.Close()

	// THEN the client sees a clean EOF, not a reset
	if err := readErr(client); !errors.Is(err, io.EOF) {
		t.Fatalf("client read after backend close: %v, want EOF", err)
	}
	if got := p.Accepted(); got != 1 {
		t.Errorf("Accepted() = %d, want 1", got)
	}
}

func TestPassCarriesLargeTransfersIntactBothWaysAtOnce(t *testing.T) {
	// GIVEN a connection through a proxy with no fault
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	client, server := connect(t, p, b)
	up, down := pattern(1<<20, 7), pattern(1<<20, 13)

	// WHEN a MiB goes each way at the same time (written on their own
	// goroutines, so neither write waits on a read the test has yet to make)
	wrote := make(chan error, 2)
	for _, w := range []struct {
		c    net.Conn
		data []byte
	}{{client, up}, {server, down}} {
		go func() {
			_ = w.c.SetWriteDeadline(time.Now().Add(patience))
			_, err := w.c.Write(w.data)
			wrote <- err
		}()
	}
	gotDown := read(t, client, len(down))
	gotUp := read(t, server, len(up))
	for range 2 {
		if err := <-wrote; err != nil {
			t.Fatalf("write: %v", err)
		}
	}

	// THEN both arrive byte for byte
	if gotUp != string(up) || gotDown != string(down) {
		t.Errorf("transfers corrupted: up intact %v, down intact %v", gotUp == string(up), gotDown == string(down))
	}
}

// pattern returns n bytes that differ between seeds and repeat with no
// short period, so a lost, doubled or reordered chunk shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*int(seed)+i/251) ^ seed
	}
	return b
}

func TestRefuseClosesThePortAndPassReopensTheSameAddress(t *testing.T) {
	// GIVEN a proxy with an open connection
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	addr := p.Addr()
	client, server := connect(t, p, b)

	// WHEN the fault is Refuse
	p.Set(faultproxy.Fault{Kind: faultproxy.Refuse})

	// THEN a new connect is refused, and the open connection is reset
	_, err := net.DialTimeout("tcp", addr, patience)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial under Refuse: %v, want ECONNREFUSED", err)
	}
	if err := readErr(client); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("open client under Refuse: %v, want ECONNRESET", err)
	}
	if err := readErr(server); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("open backend conn under Refuse: %v, want ECONNRESET", err)
	}

	// WHEN the fault is Pass again
	p.Set(faultproxy.Fault{})

	// THEN the same address accepts and forwards again
	if p.Addr() != addr {
		t.Errorf("Addr() = %s after Refuse, want %s", p.Addr(), addr)
	}
	client, server = connect(t, p, b)
	write(t, client, "again")
	expect(t, server, "again")
	if got := p.Accepted(); got != 2 {
		t.Errorf("Accepted() = %d, want 2 (the refused dial is not accepted)", got)
	}
}

func TestResetResetsNewAndOpenConnections(t *testing.T) {
	// GIVEN a proxy with an open connection
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	open, server := connect(t, p, b)

	// WHEN the fault is Reset
	p.Set(faultproxy.Fault{Kind: faultproxy.Reset})

	// THEN the open connection is reset on both sides
	if err := readErr(open); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("open client under Reset: %v, want ECONNRESET", err)
	}
	if err := readErr(server); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("open backend conn under Reset: %v, want ECONNRESET", err)
	}

	// AND a new connection is accepted, then reset rather than closed cleanly
	if err := dialErr(p); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("new client under Reset: %v, want ECONNRESET", err)
	}
	if got := p.Accepted(); got != 2 {
		t.Errorf("Accepted() = %d, want 2", got)
	}

	// WHEN the fault is Pass again
	p.Set(faultproxy.Fault{})

	// THEN new connections work
	client, server := connect(t, p, b)
	write(t, server, "ok")
	expect(t, client, "ok")
}

func TestStallHoldsBytesBothWaysAndPassDeliversThemInOrder(t *testing.T) {
	// GIVEN a proxy with a connection that has carried traffic
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	client, server := connect(t, p, b)
	write(t, client, "warm")
	expect(t, server, "warm")

	// WHEN the fault is Stall, a new connection is made, and bytes are
	// written both ways in separate writes
	p.Set(faultproxy.Fault{Kind: faultproxy.Stall})
	client2, server2 := connect(t, p, b)
	for _, s := range []string{"one", "two", "three"} {
		write(t, client, s)
		write(t, server, s)
	}
	write(t, client2, "new")

	// THEN nothing arrives anywhere, and the connections stay open
	expectSilent(t, server)
	expectSilent(t, client)
	expectSilent(t, server2)

	// WHEN the fault is Pass again
	p.Set(faultproxy.Fault{})

	// THEN every held byte arrives, in order, on the same connections
	expect(t, server, "onetwothree")
	expect(t, client, "onetwothree")
	expect(t, server2, "new")
}

func TestDropAnswersForwardsRequestsAndDiscardsAnswers(t *testing.T) {
	// GIVEN a proxy with an open connection, then DropAnswers, then a new one
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	open, openServer := connect(t, p, b)
	p.Set(faultproxy.Fault{Kind: faultproxy.DropAnswers})
	fresh, freshServer := connect(t, p, b)

	for _, c := range []struct {
		name           string
		client, server *net.TCPConn
	}{{"open", open, openServer}, {"new", fresh, freshServer}} {
		// WHEN the client sends a request and the backend answers
		write(t, c.client, "request")

		// THEN the request arrives and the answer does not, while the
		// connection stays open (the silence also gives the proxy ample
		// time to read and discard the answer)
		expect(t, c.server, "request")
		write(t, c.server, "lost")
		expectSilent(t, c.client)
	}

	// WHEN the fault is Pass again and the backend answers once more
	p.Set(faultproxy.Fault{})
	write(t, openServer, "later")
	write(t, freshServer, "later")

	// THEN only the later answer arrives: the dropped one was discarded, not held
	expect(t, open, "later")
	expect(t, fresh, "later")
}

func TestDropAnswersKeepsTheBackendsCloseFromTheClient(t *testing.T) {
	// GIVEN a connection through a proxy that drops answers
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	client, server := connect(t, p, b)
	p.Set(faultproxy.Fault{Kind: faultproxy.DropAnswers})

	// WHEN the backend answers and closes
	write(t, server, "lost")
	_ = server.Close()

	// THEN the client sees neither the answer nor the end
	expectSilent(t, client)

	// WHEN the fault is Pass again
	p.Set(faultproxy.Fault{})

	// THEN the client sees a clean EOF with no answer before it
	_ = client.SetReadDeadline(time.Now().Add(patience))
	if rest, err := io.ReadAll(client); err != nil || len(rest) != 0 {
		t.Fatalf("client read %q, %v; want a clean EOF", rest, err)
	}
}

func TestDelayHoldsEachChunkInBothDirections(t *testing.T) {
	// GIVEN a connection through a proxy that delays
	const delay = 150 * time.Millisecond
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	client, server := connect(t, p, b)
	p.Set(faultproxy.Fault{Kind: faultproxy.Delay, Delay: delay})

	// WHEN the client writes three chunks
	start := time.Now()
	for _, s := range []string{"a", "b", "c"} {
		write(t, client, s)
	}

	// THEN they arrive no sooner than the delay, in order
	expect(t, server, "abc")
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("request arrived after %v, want >= %v", elapsed, delay)
	}

	// WHEN the backend answers
	start = time.Now()
	write(t, server, "answer")

	// THEN the answer is delayed too
	expect(t, client, "answer")
	if elapsed := time.Since(start); elapsed < delay {
		t.Errorf("answer arrived after %v, want >= %v", elapsed, delay)
	}
}

func TestDelayWithBytesPerSecondTrickles(t *testing.T) {
	// GIVEN a connection through a proxy limited to 20 bytes a second
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	client, server := connect(t, p, b)
	p.Set(faultproxy.Fault{Kind: faultproxy.Delay, BytesPerSecond: 20})

	// WHEN the backend writes 5 bytes at once
	start := time.Now()
	write(t, server, "abcde")

	// THEN they arrive in order, no sooner than 5/20 s
	expect(t, client, "abcde")
	if elapsed, want := time.Since(start), 250*time.Millisecond; elapsed < want {
		t.Errorf("5 bytes at 20 B/s took %v, want >= %v", elapsed, want)
	}
}

func TestSetReleasesAChunkHeldByDelayAtOnce(t *testing.T) {
	// GIVEN a chunk held by an hour's delay
	b := startBackend(t)
	p := faultproxy.Start(t, b.addr())
	client, server := connect(t, p, b)
	p.Set(faultproxy.Fault{Kind: faultproxy.Delay, Delay: time.Hour})
	write(t, client, "held")
	expectSilent(t, server)

	// WHEN the fault is Pass again
	p.Set(faultproxy.Fault{})

	// THEN the chunk arrives now, not in an hour
	expect(t, server, "held")
}

func TestCloseEndsHeldConnectionsAndStopsListening(t *testing.T) {
	// GIVEN a proxy holding one connection's bytes under Stall and
	// another's under an hour's Delay
	b := startBackend(t)
	p, err := faultproxy.New(b.addr())
	if err != nil {
		t.Fatal(err)
	}
	stalled, stalledServer := connect(t, p, b)
	p.Set(faultproxy.Fault{Kind: faultproxy.Stall})
	write(t, stalled, "stalled")
	expectSilent(t, stalledServer)
	p.Set(faultproxy.Fault{Kind: faultproxy.Delay, Delay: time.Hour})
	delayed, delayedServer := connect(t, p, b)
	write(t, delayedServer, "delayed")
	expectSilent(t, delayed)

	// WHEN the proxy is closed, twice
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	// THEN its connections are reset, its port refuses, and (checked by
	// TestMain) none of its goroutines is left waiting on a timer or a conn
	for _, c := range []net.Conn{stalled, stalledServer, delayed, delayedServer} {
		if err := readErr(c); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read after Close: %v, want ECONNRESET", err)
		}
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), patience); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after Close: %v, want ECONNREFUSED", err)
	}
}

func TestUnreachableTargetResetsTheClient(t *testing.T) {
	// GIVEN a proxy whose target has stopped listening
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	_ = ln.Close()
	p := faultproxy.Start(t, target)

	// WHEN a client connects
	err = dialErr(p)

	// THEN its connection is reset, as by a load balancer with no backend
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("client read: %v, want ECONNRESET", err)
	}
}

func TestStartClosesTheProxyWhenTheTestEnds(t *testing.T) {
	// GIVEN a proxy started by a subtest
	b := startBackend(t)
	var addr, url string
	t.Run("inner", func(t *testing.T) {
		p := faultproxy.Start(t, b.addr())
		addr, url = p.Addr(), p.URL()
	})

	// WHEN the subtest has ended
	// THEN the proxy was on loopback and no longer listens
	if !strings.HasPrefix(addr, "127.0.0.1:") || url != "http://"+addr {
		t.Errorf("Addr() = %q, URL() = %q; want 127.0.0.1:PORT and http://127.0.0.1:PORT", addr, url)
	}
	if _, err := net.DialTimeout("tcp", addr, patience); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial after the test: %v, want ECONNREFUSED", err)
	}
}

func TestNewRejectsATargetWithoutPort(t *testing.T) {
	// GIVEN a target with no port
	// WHEN a proxy is made for it
	_, err := faultproxy.New("localhost")

	// THEN New fails, naming the target
	if err == nil || !strings.Contains(err.Error(), `"localhost"`) {
		t.Errorf("New(localhost) error = %v, want one naming the target", err)
	}
}

func TestSetPanicsOnABadFault(t *testing.T) {
	p := faultproxy.Start(t, "127.0.0.1:1")
	for _, tc := range []struct {
		fault faultproxy.Fault
		want  string
	}{
		{faultproxy.Fault{Kind: 99}, "faultproxy: Kind 99 is unknown"},
		{faultproxy.Fault{Kind: faultproxy.Delay, Delay: -time.Second}, "faultproxy: Delay -1s is negative"},
		{faultproxy.Fault{Kind: faultproxy.Delay, BytesPerSecond: -1}, "faultproxy: BytesPerSecond -1 is negative"},
	} {
		// GIVEN a malformed fault
		// WHEN it is set
		// THEN Set panics with a message naming the field and the value
		func() {
			defer func() {
				r := fmt.Sprint(recover())
				if !strings.HasPrefix(r, tc.want) {
					t.Errorf("Set(%+v) panicked with %q, want %q", tc.fault, r, tc.want)
				}
			}()
			p.Set(tc.fault)
		}()
	}
}

func TestKindString(t *testing.T) {
	// GIVEN each kind WHEN printed THEN it reads as its Go name
	for k, want := range map[faultproxy.Kind]string{
		faultproxy.Pass: "Pass", faultproxy.Refuse: "Refuse", faultproxy.Reset: "Reset",
		faultproxy.Stall: "Stall", faultproxy.Delay: "Delay", faultproxy.DropAnswers: "DropAnswers",
		faultproxy.Kind(42): "Kind(42)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
