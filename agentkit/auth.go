package agentkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
)

// A Caller is who made a request, as its credential proved. Server puts it
// in the request's context; a handler reads it with CallerFrom.
type Caller struct {
	// Name is the caller's name: a JWT's "sub" claim (the load
	// balancer's signed user claims' for AuthALB), or the caller name an
	// API key is stored under.
	Name string

	// Method is how the caller proved it: AuthJWT, AuthAPIKeys or
	// AuthALB.
	Method string

	// Claims are a JWT's claims (for AuthALB, the user claims the load
	// balancer signed), as encoding/json decodes them with
	// UseNumber (numbers are json.Number); nil for an API key. Do not
	// change them: every handler of the request shares them.
	Claims map[string]any
}

// LogValue makes a Caller log as its name and method, never its claims:
// `log.Info("run started", "caller", caller)`.
func (c Caller) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("method", c.Method))
}

type callerKey struct{}

// CallerFrom returns the caller Server authenticated for the request whose
// context ctx is (or derives from). ok is false when the request was not
// authenticated: the method is AuthNone, or ctx is not a request's.
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// ContextWithCaller returns a copy of ctx that carries c, as Server's does
// for an authenticated request: for tests of handlers, and for an
// Authenticator's own middleware.
func ContextWithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// An Authenticator checks a request's credential. Server calls it for every
// request but HealthPath, before the handler, and answers for it when it
// refuses (see "Caller identity" in the package documentation): an error
// that wraps ErrNoCredential or ErrBadCredential is a 401, ErrForbidden a
// 403, ErrAuthUnavailable a 503 with Retry-After, and any other error a
// 401. It must be safe for concurrent use. JWTVerifier, APIKeyAuth and
// ALBVerifier are the ones agentkit provides; NoAuth is the opt-out.
type Authenticator interface {
	Authenticate(r *http.Request) (Caller, error)
}

// The errors an Authenticator wraps to choose Server's answer.
var (
	// ErrNoCredential: the request carries no "Authorization: Bearer"
	// credential. Answered 401 with "WWW-Authenticate: Bearer".
	ErrNoCredential = errors.New("agentkit: no credential")
	// ErrBadCredential: the credential is not valid (malformed, expired,
	// signed by an unknown key, an unknown API key...). Answered 401.
	ErrBadCredential = errors.New("agentkit: credential refused")
	// ErrForbidden: the credential is valid but lacks a required claim.
	// Answered 403.
	ErrForbidden = errors.New("agentkit: caller lacks a required claim")
	// ErrAuthUnavailable: the credential cannot be checked now (the key
	// set has never been fetched). Answered 503 with "Retry-After: 1",
	// since the fault is not the caller's.
	ErrAuthUnavailable = errors.New("agentkit: credentials cannot be checked now")
)

// authRealm is the realm of every WWW-Authenticate challenge.
const authRealm = "agent"

// authError is an error of agentkit's own authenticators: one of the
// sentinels above, and a reason safe to tell the caller (a constant, never
// a token's contents).
type authError struct {
	kind   error
	reason string
}

func (e *authError) Error() string { return e.kind.Error() + ": " + e.reason }
func (e *authError) Unwrap() error { return e.kind }

func authFail(kind error, reason string) error { return &authError{kind: kind, reason: reason} }

// NoAuth is the named opt-out: an Authenticator that lets every request
// through, anonymous (CallerFrom reports no caller). Set Server.Auth to it,
// or AGENTKIT_AUTH to "none", for a deliberately public agent.
var NoAuth Authenticator = noAuth{}

type noAuth struct{}

func (noAuth) Authenticate(*http.Request) (Caller, error) { return Caller{Method: AuthNone}, nil }

// BearerToken returns the credential of r's "Authorization: Bearer
// <credential>" header (the scheme's name in any case). It refuses, with an
// error wrapping ErrNoCredential, a request without that header or with
// another scheme, and, wrapping ErrBadCredential, one with two
// Authorization headers or a credential longer than MaxTokenBytes.
func BearerToken(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", authFail(ErrNoCredential, "no bearer credential")
	}
	if len(vals) > 1 {
		return "", authFail(ErrBadCredential, "more than one Authorization header")
	}
	scheme, cred, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", authFail(ErrNoCredential, "no bearer credential")
	}
	cred = strings.TrimLeft(cred, " ")
	switch {
	case cred == "":
		return "", authFail(ErrNoCredential, "no bearer credential")
	case len(cred) > MaxTokenBytes:
		return "", authFail(ErrBadCredential, "credential too long")
	}
	return cred, nil
}

// authFromEnv returns the Authenticator AGENTKIT_AUTH names, and the
// method's name for the log. It is nil for AuthNone (or unset).
func authFromEnv() (Authenticator, string, error) {
	switch v := os.Getenv(EnvAuth); v {
	case "", AuthNone:
		return nil, AuthNone, nil
	case AuthJWT:
		j, err := JWTVerifierFromEnv()
		return j, AuthJWT, err
	case AuthALB:
		a, err := ALBVerifierFromEnv()
		return a, AuthALB, err
	case AuthAPIKeys:
		return nil, "", fmt.Errorf("agentkit: %s is %q but Server.Auth is nil; a main serving API keys sets Server.Auth to agentkit.APIKeyAuth(source), the source from package agentkit/apikeys (see its example)", EnvAuth, v)
	default:
		return nil, "", fmt.Errorf("agentkit: %s %q is not a method; use %q, %q, %q or %q", EnvAuth, v, AuthJWT, AuthAPIKeys, AuthALB, AuthNone)
	}
}

// resolveAuth returns Server.Auth, or the Authenticator the environment
// names when it is nil, checked; nil means no check.
func (s *Server) resolveAuth() (Authenticator, string, error) {
	a, method := s.Auth, "custom"
	if a == nil {
		var err error
		if a, method, err = authFromEnv(); err != nil {
			return nil, "", err
		}
	}
	switch a.(type) {
	case nil, noAuth:
		return nil, AuthNone, nil
	case *JWTVerifier:
		method = AuthJWT
	case *apiKeyAuth:
		method = AuthAPIKeys
	case *ALBVerifier:
		method = AuthALB
	}
	if v, ok := a.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, "", err
		}
	}
	return a, method, nil
}

// authed runs the Authenticator before the handler.
type authed struct {
	auth Authenticator
	next http.Handler
}

func (a *authed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := a.auth.Authenticate(r)
	if err != nil {
		writeRefusal(w, r, err)
		return
	}
	if c.Method == AuthNone {
		a.next.ServeHTTP(w, r)
		return
	}
	a.next.ServeHTTP(w, r.WithContext(ContextWithCaller(r.Context(), c)))
}

// writeRefusal answers a request its Authenticator refused, as RFC 6750
// says for bearer credentials: 401 with a challenge (with an error code
// only when a credential was sent), 403 insufficient_scope, or 503.
func writeRefusal(w http.ResponseWriter, r *http.Request, err error) {
	a := refusal{status: http.StatusUnauthorized, msg: "credential refused"}
	var rf *authError
	if errors.As(err, &rf) {
		a.msg = rf.reason
	}
	switch {
	case errors.Is(err, ErrNoCredential):
		a.challenge = fmt.Sprintf("Bearer realm=%q", authRealm)
	case errors.Is(err, ErrForbidden):
		a.status = http.StatusForbidden
		a.challenge = fmt.Sprintf("Bearer realm=%q, error=\"insufficient_scope\", error_description=%q", authRealm, a.msg)
	case errors.Is(err, ErrAuthUnavailable):
		a.status = http.StatusServiceUnavailable
		a.retryAfter = "1"
	default:
		a.challenge = fmt.Sprintf("Bearer realm=%q, error=\"invalid_token\", error_description=%q", authRealm, a.msg)
	}
	refuse(w, r, a)
}

// withAuth puts the caller check in front of h; a nil auth is no check.
func withAuth(auth Authenticator, h http.Handler) http.Handler {
	if auth == nil {
		return h
	}
	return &authed{auth: auth, next: h}
}

// misconfigured answers 500 to every request: Server.Handler's answer when
// the caller check cannot be built.
func misconfigured(log *slog.Logger, err error) http.Handler {
	log.Error("agentkit: caller check misconfigured; every request is answered 500", "err", err)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse(w, r, refusal{status: http.StatusInternalServerError, msg: "caller check misconfigured"})
	})
}
