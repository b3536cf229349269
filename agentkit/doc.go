// Package agentkit is the runtime half of agentcdk: what an agent's own code
// imports so that the process and the ECS infrastructure agree on health and
// on how a task stops. It imports only the standard library, because it ships
// inside the user's container; the CDK packages import its constants, never
// the other way round.
//
// A few lines in main are enough:
//
//	if len(os.Args) == 2 && os.Args[1] == agentkit.ProbeArg {
//		os.Exit(agentkit.RunProbe()) // the container health check
//	}
//	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
//	defer stop()
//	srv := &agentkit.Server{HTTP: &http.Server{Handler: mux}}
//	if err := srv.ListenAndServe(ctx); err != nil { ... }
//
// The NotifyContext line is optional (context.Background() does as well
// once serving); it is how a SIGTERM that comes while main still starts up
// ends the process cleanly: see "Signals", after "The drain".
//
// # The contract
//
// The construct passes the contract as environment variables; agentkit reads
// them at start-up and fails at once, with a message naming the variable and
// the bad value, when one is malformed:
//
//   - PORT: the port to listen on (default 8080).
//   - AGENTKIT_STOP_TIMEOUT: the container's stopTimeout as a Go duration
//     (default 30s, ECS's own; 2s to 120s).
//   - AGENTKIT_IDLE_TIMEOUT: the load balancer's idle timeout (default 60s,
//     the ALB's own; 1s to 4000s).
//   - AGENTKIT_REQUEST_TIMEOUT: the request deadline (default none; 1s to
//     10m), below.
//   - AGENTKIT_METRICS_SERVICE, AGENTKIT_METRICS_NAMESPACE and
//     AGENTKIT_MODEL_PRICES: the metrics, below (default none).
//   - AGENTKIT_AUTH ("jwt", "apikeys" or "none"; unset is "none"),
//     AGENTKIT_JWT_ISSUER, AGENTKIT_JWT_JWKS_URL, AGENTKIT_JWT_AUDIENCE,
//     AGENTKIT_JWT_REQUIRED_CLAIMS and AGENTKIT_API_KEYS_SECRET: the caller
//     check, below.
//   - AGENTKIT_MAX_IN_FLIGHT: the most requests a task serves at once
//     (default no cap; 1 to 100000), and AGENTKIT_MAX_REQUEST_BYTES: the
//     largest request body (default 1 MiB; 1 byte to 1 GiB): "Admission",
//     below.
//   - AGENTKIT_CALLER_BUDGET_USD, AGENTKIT_CALLER_BUDGET_TOKENS and
//     AGENTKIT_CALLER_BUDGET_WINDOW: a spend budget per caller (default
//     none): "Caller budget", below.
//
// # Caller identity
//
// Server.Auth checks every request's credential before the handler runs,
// and puts the caller in the request's context: agentkit.CallerFrom(ctx)
// gives its Name (a JWT's "sub", or the name an API key is stored under)
// and Method. Callers send "Authorization: Bearer <credential>". Server
// answers for the handler, as RFC 6750 says, when the check refuses:
//
//   - no credential: 401 with the challenge WWW-Authenticate: Bearer
//     realm="agent";
//   - a credential that is not valid: 401, the challenge carrying
//     error="invalid_token" and a short reason (error_description: "token
//     expired", "unknown API key"; never the credential itself), which the
//     JSON body repeats as {"error": "..."};
//   - a valid JWT without a required claim: 403, error="insufficient_scope";
//   - a credential that cannot be checked now (the key set was never
//     fetched): 503 with "Retry-After: 1", since the fault is not the
//     caller's.
//
// HealthPath is answered before the check, without a credential, and its
// body is the same whatever the method: the load balancer reaches it, and
// it tells nothing. The check runs inside the request's tracking, so a
// refusal counts in the metrics as a request answered (a 4xx, not a 5xx);
// it never reaches the handler.
//
// The methods, chosen by AGENTKIT_AUTH when Server.Auth is nil:
//
//   - "jwt": a JWTVerifier from AGENTKIT_JWT_ISSUER, AGENTKIT_JWT_JWKS_URL
//     (https only), AGENTKIT_JWT_AUDIENCE and, optionally,
//     AGENTKIT_JWT_REQUIRED_CLAIMS ({"scope": "agent:run"}). It accepts
//     RS256 and ES256 only, and refuses "alg": "none", HMAC algorithms
//     (so a token "signed" with the issuer's public key as an HS256 secret
//     is refused), a kid not in the key set, an expired or not yet valid
//     token (DefaultJWTLeeway, 60s, either way), a wrong issuer or
//     audience, a token without "exp" or "sub", and a credential longer
//     than MaxTokenBytes (16 KiB, the ALB's own limit for a header). Its
//     key set is fetched within JWKSFetchTimeout (5s), cached for
//     JWKSMaxAge (1h), fetched again for an unknown kid at most once per
//     JWKSRefetchInterval (10s), and kept when a fetch fails: an outage of
//     the identity provider refuses no caller whose key is cached.
//   - "apikeys": APIKeyAuth over a key source that main wires (package
//     agentkit/apikeys reads one Secrets Manager secret and refreshes it
//     every minute without a restart). Keys are stored as SHA-256 hashes,
//     and a presented key's hash is compared with every stored one in
//     constant time, without stopping at a match. agentkit imports no AWS
//     SDK, so Serve cannot build this source itself: with
//     AGENTKIT_AUTH=apikeys and a nil Server.Auth it refuses to start
//     rather than serve unchecked (the apikeys package's example shows the
//     three lines a main adds).
//   - "alb": an ALBVerifier from AGENTKIT_ALB_ARN, for browser users the
//     load balancer signed in (OIDC or Amazon Cognito). It checks the
//     x-amzn-oidc-data header the load balancer sends (ES256 only, its
//     "signer" the load balancer AGENTKIT_ALB_ARN names, its key fetched
//     by kid from AWS's key endpoint of that region, "exp" not passed),
//     never the unsigned x-amzn-oidc-identity, and the caller is its
//     "sub". A request without the header is a 401 like any without a
//     credential.
//   - "none", or unset: no check, and CallerFrom reports no caller. The
//     construct always sets AGENTKIT_AUTH, so "none" there is the user's
//     named opt-out (NoAuth in code); unset keeps a program run by hand,
//     or in tests, working as before. The start-up log line says which
//     method is in force ("auth").
//
// A malformed variable fails Serve at start-up with a message naming it.
// Server.Auth may also be an Authenticator of one's own: an error wrapping
// ErrNoCredential, ErrBadCredential, ErrForbidden or ErrAuthUnavailable
// chooses the answer; any other error is a 401 that tells the caller
// nothing of it.
//
// Logs carry the caller when the handler logs it: Caller implements
// slog.LogValuer, so log.Info("run started", "caller", caller) writes its
// name and method, never its claims. agentkit logs no line per request,
// and none per refusal: an anonymous flood would otherwise be a flood of
// log lines paid for by the owner. The metrics carry no caller dimension:
// a JWT's subjects are as many as the identity provider's users, every
// dimension value is a metric of its own (billed monthly), and bounding
// them as the Model dimension is bounded (the first MaxModels values)
// would fold most callers into one "other" value in a busy service. Who
// spent what is a question for the logs (CloudWatch Logs Insights over
// the caller field), and a per-caller limit (a 429) belongs beside the
// check, keyed on Caller.Name, not in the metrics.
//
// # Admission
//
// A task holds as many requests as arrive, unless something bounds them,
// and a burst beyond what its memory holds kills it with every request it
// was serving. Server bounds them (Server.MaxInFlight, from
// AGENTKIT_MAX_IN_FLIGHT, which the construct sets from the task's size
// and its scaling target), and says no fast, so that the client retries
// while the service scales out:
//
//   - At most MaxInFlight requests are served at once. Health probes
//     (HealthPath) are never counted, waited or refused: the load balancer
//     must see a saturated task as healthy, since it is. The drain is not
//     changed either: the requests admitted are served to their end, and
//     the answers the drain writes for them are never refused.
//   - A request beyond the cap waits for a slot for up to
//     Server.AdmissionWait (DefaultAdmissionWait, 50ms), first come, first
//     served. The line is bounded: at most MaxInFlight requests wait, and
//     one that finds the line full is refused at once. So, however large
//     the burst, a task holds at most twice MaxInFlight requests (served
//     or waiting); the rest cost only their refusal.
//   - A request whose context ends while it waits (its client left, or
//     the drain's cancel point came) is answered as a refused one, but
//     not counted.
//   - A refused request is answered 503 with "Retry-After: 1"
//     (AdmissionRetryAfter) and a JSON body {"error": ...}, without its
//     handler being called; its body, if any, is not read, and its
//     connection is closed after the answer (one without a body keeps its
//     connection).
//   - MetricRequestsRefused counts the refusals; MetricRequests and
//     MetricServerErrors count only what handlers answered.
//     MetricRequestsInFlight counts the requests waiting for a slot too,
//     so a saturated task reports at least its cap. The construct puts the
//     cap above its concurrency scaling target (by default the task's
//     memory at 32 MiB a request, and at least twice the target), so the
//     scaling sees the demand and adds tasks before a task refuses; once
//     tasks refuse, the load balancer's request count, which the
//     construct's requests policy tracks, still counts every refused
//     request (the target answered it).
//   - The cap comes before the caller check (Server.Auth): a saturated
//     task answers 503 to a request whatever its credential, and a request
//     the check refuses holds its slot only while the check runs (no
//     network call but a key-set fetch, bounded by JWKSFetchTimeout).
//   - Without a cap (AGENTKIT_MAX_IN_FLIGHT unset or 0, and MaxInFlight
//     0), every request is admitted, as before: a program run outside the
//     construct does not know what its machine holds.
//
// The request body is bounded too (Server.MaxRequestBytes, from
// AGENTKIT_MAX_REQUEST_BYTES; DefaultMaxRequestBytes, 1 MiB, when unset):
// a request whose Content-Length is larger is answered 413, at once and
// before the cap (its handler is not called; its body is not read); a
// body of unknown length (chunked) is read up to the limit, and the read
// that crosses it fails with *http.MaxBytesError and has Server answer 413
// at once, unless the handler has begun its answer (its later writes fail
// with that error too). Either 413 closes the connection after it;
// MetricRequestsTooLarge counts them.
//
// # Caller budget
//
// Server.Budget (from AGENTKIT_CALLER_BUDGET_USD and/or
// AGENTKIT_CALLER_BUDGET_TOKENS, and AGENTKIT_CALLER_BUDGET_WINDOW; off
// unless an amount is set) bounds what one caller spends: RecordModelCall
// charges each call's tokens, and its cost by the price table, to the
// caller of its context (CallerFrom(ctx).Name), and a request from a
// caller who has spent either amount in the current window is answered
// 429, after the caller check and before the handler, with a JSON body
// and Retry-After: the seconds until the window ends (at least 1).
// MetricRequestsOverBudget counts them (MetricRequests too).
//
//   - Windows are fixed, of Budget.Window (DefaultBudgetWindow, 1h; 1m to
//     24h), counted from the Unix epoch, so every task's windows begin
//     alike (an hour's on the hour, UTC). The check comes when a request
//     arrives, the charge after each call, and a call already running is
//     never cut: in any span of one window a caller can spend on one task
//     up to twice the budget (the end of one window, the start of the
//     next), plus what its requests admitted under budget spend after.
//   - It holds per task, in memory: a caller may spend the budget on each
//     task the load balancer sends it to, so the service-wide bound is the
//     budget times the tasks (the scaling's maximum), and a task started
//     during a window (a deploy, a scale-out, a replacement) starts with
//     every budget whole. A fleet-wide budget needs a store the tasks
//     share: a DynamoDB conditional update per model call and a read per
//     request (milliseconds each, and a table and the AWS SDK, which
//     agentkit does not import); see docs/caller-identity.md.
//   - Anonymous requests (no caller check, or NoAuth) are not budgeted;
//     nor are model calls whose context has no caller (a job's, unless it
//     was given one with ContextWithCaller).
//   - A dollar budget needs the price table (AGENTKIT_MODEL_PRICES or
//     Metrics.Prices), metrics on or off; a model it does not list costs
//     nothing in dollars (a token budget still counts its tokens).
//   - Memory is bounded: a task tracks the first MaxBudgetCallers (10000)
//     callers that spend in a window, each by a 64-bit keyed hash of its
//     name (about 40 bytes, whatever the name's length). A caller is
//     never dropped within its window, so none gets a fresh budget by
//     being forgotten; callers beyond the bound share one more budget of
//     the same size until the window ends. A request that spends nothing
//     tracks nothing.
//
// # The request deadline
//
// ECS stops a task (a deploy, a scale-in, a Spot interruption) by first
// deregistering it from its target groups: the load balancer sends it no
// new request and lets those in flight run for the deregistration delay,
// after which it lets go of them, and only then does ECS send SIGTERM. So
// the deregistration delay, not the stop timeout, bounds a request routed
// through the load balancer, and the drain at SIGTERM comes too late to
// save one that is still running. The construct therefore gives the
// service one request deadline (Server.RequestTimeout, from
// AGENTKIT_REQUEST_TIMEOUT) and makes the deregistration delay
// RequestDeadlineMargin (5s) longer. Server enforces the deadline, so that
// every request has ended, with its whole answer or with a clean error,
// before the load balancer lets go of it:
//
//   - At the deadline, counted from the moment the handler is called, the
//     request's context ends with the cause ErrRequestTimeout. A handler
//     answers at once: a 504 with a body saying so, or an "error" event on
//     a stream (the example agent does both).
//   - RequestTimeoutGrace (2s) later, if the handler has still not
//     returned, Server answers for it: a 504 with a JSON body when nothing
//     was sent yet; an SSE "error" event, then the end of the stream, on a
//     text/event-stream response; a plain answer already begun ends as it
//     stands (its status is sent and cannot change). The response then
//     ends; the handler's later writes fail with http.ErrHandlerTimeout,
//     and the drain no longer waits for it. A handler that hijacked its
//     connection is left alone.
//   - That answer reaches the client at once, whatever the request body
//     does: the connection is closed after it (the 504 says "Connection:
//     close"), the rest of the body is never read, and the handler's
//     pending read of it fails. On a connection it keeps, net/http would
//     first read what is left of the body, so a body that stalls or
//     trickles would hold the answer until the read timeout.
//
// The handler runs in a goroutine of its own for this, as under
// http.TimeoutHandler, but nothing is buffered: streams stream. A panic
// in it still reaches net/http (logged with its stack, the connection
// closed); one after Server answered for it is logged. Health probes have
// no deadline. Without a deadline (the variable unset), a request costs
// what it cost before: two atomic adds.
//
// # Metrics
//
// With AGENTKIT_METRICS_SERVICE set (the construct sets it, with
// AGENTKIT_METRICS_NAMESPACE), Serve writes CloudWatch metrics as embedded
// metric format (EMF) JSON lines to stdout, which the awslogs driver ships
// and CloudWatch Logs turns into metrics: no agent sidecar, no SDK. Every
// MetricsInterval (10s) each task writes its lines, aggregated over the
// interval, never one per request, with the dimension Service: requests
// in flight (MetricRequestsInFlight, the average of samples every 10ms;
// MetricRequestsInFlightMax), open streams, running jobs, requests and 5xx
// answered, latency as a distribution (values and counts, in buckets
// within 12.5 % of the value, on a 10ms clock), jobs completed and failed,
// and, in the last line written before Serve returns, the drain's length
// and what it had to cut. Agent code adds model calls with RecordModelCall:
// calls, errors, tokens in and out, latency and, given a price table
// (Metrics.Prices, AGENTKIT_MODEL_PRICES), an estimated cost, per model and
// interval with the dimensions Service and Model. sqsworker.Consumer writes
// the same family for a worker: running jobs, jobs completed and failed,
// the model calls its jobs record, the drain. The names are constants in
// this package, which the construct imports to scale, graph and alarm on
// them. The lines keep to what CloudWatch takes:
//
//   - The numbers and the distributions go in separate lines: a line that
//     holds a distribution (MetricLatency, MetricModelLatency) holds it
//     alone. EMF's specification lists a number or an array of numbers as
//     a metric's value; a distribution is written as {"Values", "Counts",
//     "Max", "Min", "Count", "Sum"}, the form the CloudWatch agent's EMF
//     exporter writes. Should CloudWatch refuse that form, it loses that
//     line only, never the line of MetricRequestsInFlight, which the
//     construct's scaling tracks.
//   - The Model values are bounded for the life of the process: the first
//     MaxModels (20) values its calls name are reported as themselves, in
//     every interval after; calls to any model beyond them are ModelOther,
//     for good. So a model's calls never split between its own value and
//     ModelOther, and the number of metrics stays bounded.
//   - A model name becomes its Model value by ModelDimension: a valid
//     CloudWatch dimension value (ASCII, no control characters, not blank,
//     at most MaxModelNameLength characters); blank names are ModelOther.
//   - Every line, newline included, is at most MaxMetricsLineBytes (16 KiB):
//     the container runtime splits a longer line, and a piece is no longer
//     JSON. The bound holds by construction (a service of at most 1024
//     characters, a namespace of at most 255, Model values of at most 255,
//     at most 92 buckets in a distribution); the longest line possible is
//     about 5.5 KB.
//   - The service and the namespace are checked at start-up (Serve and Run
//     fail with a message naming the bad value): the service must be a
//     dimension value; the namespace 1 to 255 letters, digits, spaces and
//     . - _ / # :, not all spaces, not beginning with "AWS/". Prices are 0
//     to 1,000,000 US dollars per million tokens.
//
// A request costs a few tens of nanoseconds more with metrics on, and
// still no allocation: an atomic clock instead of time.Now, a pooled
// writer that notes the status, and atomic counters; the benchmarks are in
// bench_test.go.
//
// # The drain
//
// ECS stops a task by deregistering it from its target groups, waiting out
// the deregistration delay, sending SIGTERM, and sending SIGKILL stopTimeout
// later. This is the one description of what happens between the two; Serve,
// Stream, Go and sqsworker.Consumer link here. Its deadlines come from
// DrainDeadlines (for the default 30s stop timeout: cancelAt 24s, closeAt
// 27s), measured from the start of the drain, which is the first SIGTERM or
// SIGINT, or the end of the context passed to Serve (see "Signals" below):
//
//   - At once: /health answers 503 "draining", Server.Draining is closed,
//     Server.Go refuses new jobs with ErrDraining, every response whose
//     header is written from then on carries "Connection: close" (the
//     answers to the requests in flight included), and idle keep-alive
//     connections are closed, as HTTP/1.1 lets a server do with any idle
//     connection.
//   - After Server.CloseDelay (default 0, at once): the listener first takes
//     the connections the kernel has already accepted (their clients saw the
//     connect succeed), then closes; new connections are refused.
//   - Requests in flight, and requests that arrive during the drain on a
//     connection accepted before it, are served to their end.
//   - A connection that has not sent a whole request yet is closed once it
//     has been quiet for a second (or half the time to cancelAt, when
//     shorter) since the drain began or since it was accepted, whichever is
//     later: time for a request already on its way to arrive, without
//     letting a silent connection hold the drain.
//   - At cancelAt: the contexts of the requests and jobs still running are
//     cancelled with the cause ErrDrainTimeout, and reads of request bodies
//     still arriving fail, so that every handler can still answer cleanly (a
//     stream sends its last event, a request gets a 503 saying to retry).
//   - At closeAt, a safety margin before SIGKILL: Server answers for each
//     handler still running under a request deadline (Server.RequestTimeout,
//     which the construct always sets), as it does at the deadline but with
//     503, "Retry-After: 1" and "Connection: close" and a JSON body saying to
//     retry when nothing was sent yet, or an SSE "error" event that ends a
//     stream, and waits up to 250ms for those answers to be sent. Then the
//     connections still open are closed and Serve returns an error wrapping
//     ErrDrainTimeout. Jobs and handlers that ignore their context are
//     abandoned; a handler without a request deadline runs on net/http's own
//     goroutine, which owns its response, so its connection is closed
//     without an answer.
//
// The drain ends, and Serve returns nil, as soon as no request, job or
// connection is left, however early. A second SIGTERM or SIGINT ends it at
// once.
//
// # Signals
//
// Serve (and ListenAndServe, from before it listens) and sqsworker's Run
// handle SIGTERM and SIGINT with signal.Notify while they run; before and
// after, the program's own handling applies, by default Go's: the signal
// ends the process. The contract:
//
//   - One signal is one reason to stop. A main that uses
//     signal.NotifyContext (or signal.Notify of its own) and passes that
//     context gets one drain from one SIGTERM, every time: os/signal hands
//     the signal to every listener, so both the context and Serve see it,
//     and Serve counts a signal that reached it as the context ended as
//     that same stop, never as a second signal. A signal that arrives in
//     the same instant as a context ended otherwise counts as that stop
//     too (ECS sends one SIGTERM).
//   - A second SIGTERM or SIGINT, after the drain began, ends it at once
//     (Serve returns an error naming it; Run releases its jobs' messages).
//     When the program has no handler of its own, a third then kills the
//     process; with NotifyContext, its stop function restores Go's
//     handling.
//   - A SIGTERM while main is still starting up, before Serve runs, is the
//     program's: with Go's default handling it ends the process at once
//     (exit by signal; nothing is lost, since nothing listens or has
//     received a message yet). A main that begins with
//     signal.NotifyContext, as above, catches it instead: its context ends,
//     its start-up can stop early, and ListenAndServe, given a context
//     already done, returns nil without listening (Serve, given a
//     listener, drains at once). Only the few milliseconds between exec and
//     main's first statement remain under Go's default handling (about
//     10ms measured on a loaded 2-core machine); no Go program can handle a
//     signal before its runtime has started.
//   - agentkit installs no handler when the package is merely imported: the
//     CDK app and tools import it for its constants, and their Ctrl-C must
//     keep working.
//
// So an accepted connection is always answered, unless its request is still
// unfinished at closeAt: with the load balancer's deregistration delay ahead
// of SIGTERM, that is a request longer than the delay and the stop timeout
// together. One gap remains that no socket API closes: a connection whose
// handshake the kernel completes in the instant between the listener's last
// look at its queue and its close is reset. Under ECS nothing connects then
// (the task was deregistered first); where something does, the listener
// keeps taking the connections that wait (on Linux it asks the kernel how
// many), for up to half the time to cancelAt, so that the instant is rare.
//
// # Design decisions
//
//   - One Server type whose zero value works, in the manner of http.Server and
//     errgroup.Group: health, drain, job tracking and streams share one piece
//     of state (draining or not), and a method on the value that owns it
//     reads better than a context value. It runs a caller's *http.Server
//     rather than copying its knobs.
//   - Serve changes the *http.Server it runs, and says so: Handler,
//     BaseContext and ConnState are wrapped (the caller's functions still
//     run), and ReadHeaderTimeout, ReadTimeout, IdleTimeout and ErrorLog
//     are filled only when zero. WriteTimeout is never set: it would cut
//     long and streaming responses.
//     A caller's IdleTimeout that is not longer than the load balancer's is
//     an error rather than a silent 502 source.
//   - Request contexts are cancelled through http.Server.BaseContext, not a
//     per-request context, so tracking a request costs two atomic adds, an
//     atomic load and no allocation. The drain's view of the connections
//     comes from the ConnState hook (a map under a mutex, two updates a
//     request), not from wrapping each connection, so net/http keeps its
//     own fast paths (sendfile, CloseWrite before a close).
//   - When Server answers for a handler (at the deadline, or at the drain's
//     close point), net/http is told to close the connection after the
//     answer by the one public way there is, http.MaxBytesReader reaching its
//     limit: net/http then skips reading the rest of the body before it
//     writes, and closes with a FIN and a pause, so that the unread body
//     does not turn the close into a reset that destroys the answer. The
//     handler, still running, may still hold the body; the connection is
//     never reused after it.
//   - The drain never calls http.Server.Shutdown: a request whose bytes
//     arrive after Shutdown began is dropped without an answer, and
//     Shutdown's polling grows to 500ms, as long as the whole gap between
//     cancelAt and closeAt at the 2s minimum stop timeout. The drain closes
//     the listener and the connections itself, watching them every 10ms.
//   - User code never takes the process down: a panic in a job or a health
//     check is recovered and logged with its stack (the job counts as
//     failed, the check fails), because every task runs the same code and
//     one bug would crash-loop the fleet. net/http already does the same for
//     a handler (it closes that connection); Serve sends its report to
//     Logger, and adds no recover of its own to the path of every request.
//   - A zero http.Server.ReadTimeout becomes DefaultReadTimeout: without
//     it, a client trickling its body holds a handler, and the drain, for as
//     long as it likes.
//   - /health is answered by Server itself, before the caller's handler, so
//     the path the CDK side checks always exists. Its body never carries a
//     check's error: behind a public ALB, /health is public. Errors are
//     logged when a check starts failing, fails differently or recovers.
//   - Checks are critical unless marked NonCritical. There is one health
//     endpoint, not a liveness/readiness pair: on ECS both the ALB check and
//     the container check lead to the task being replaced, so the split would
//     not change what happens; NonCritical is what keeps a down LLM API from
//     replacing every task.
//   - Check results are cached for all callers (DefaultCacheTTL 5s) and one
//     run is shared by concurrent probes; a check that ignores its context is
//     not started again until it returns, so a hung dependency cannot pile up
//     goroutines.
//   - Background jobs get a context of their own, not the request's: the job
//     outlives the request. Their errors are logged, not collected: one failed
//     agent run must not stop the server.
//   - The probe (RunProbe) asks 127.0.0.1, then ::1 if nothing listens on
//     the first, follows no redirect, ignores proxy variables, and gives up
//     after ProbeTimeout (3s), inside the ECS health check's default 5s
//     timeout. Exit codes: 0 healthy, 1 anything else.
//   - Server.CloseDelay defaults to 0 because ECS deregisters before SIGTERM;
//     it exists for platforms that route traffic after SIGTERM.
//   - Stream heartbeats are SSE comments sent only after a silence of
//     HeartbeatInterval (a quarter of the idle timeout, at most 15s).
//
// # Performance
//
// Tracking a request costs about 15ns and no allocation; the benchmarks are
// in bench_test.go, and docs/performance.md gives the figures measured on
// this project's machines with the command that produced them.
package agentkit
