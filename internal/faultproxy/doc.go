// Package faultproxy is a fault-injecting TCP proxy for tests and benchmark
// programs: it stands between our network code and the server it talks to
// (a moto_server, an HTTP server under test) and, while traffic flows, makes
// the network misbehave on demand, so a test can prove that the code survives
// it.
//
// A Proxy listens on 127.0.0.1 only, at a free port, and forwards every
// connection it accepts to one target address. Its address stays the same for
// its whole life, so a client configured once keeps reaching it whatever the
// fault. A connection whose target cannot be reached is reset. Set switches
// the fault at once, for new and open connections alike:
//
//   - Pass (the zero Fault): bytes flow both ways unchanged, and so do
//     half-closes: a client's CloseWrite reaches the target as EOF and the
//     answer still comes back.
//   - Refuse: nothing listens on the port, so a connect fails with
//     ECONNREFUSED, as when a server is down; open connections are reset.
//   - Reset: every open connection is reset at once, and a new one is
//     accepted and reset as soon as its client sends something (or after
//     100ms of silence), as when a server crashes or a middlebox that lost
//     the connection's state answers its next segment. The client sees
//     ECONNRESET on the read after its write, never a write error.
//   - Stall: nothing is forwarded either way and every connection stays open,
//     as on a blackholed network. A connect still succeeds (the proxy's kernel
//     completes the handshake, as a load balancer's would, and the proxy still
//     connects to the target). Nothing is lost: when the fault goes, the
//     held-up bytes flow on in order, as TCP retransmission would deliver them.
//   - DropAnswers: requests reach the target but its answers are read and
//     thrown away, and the connection stays open (a close by the target is
//     held back too), so a client only learns of the loss from its own
//     timeout. Answers sent after the fault goes arrive again.
//   - Delay: every chunk is held Fault.Delay before it is forwarded, in both
//     directions, in order; with Fault.BytesPerSecond the bytes also trickle
//     at that rate, as from a slow peer.
//
// Close stops the proxy and waits for all its goroutines, so a test that
// checks for leaked goroutines stays clean. Start is New for a test: it
// closes the proxy when the test ends.
package faultproxy
