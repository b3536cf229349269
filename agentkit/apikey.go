package agentkit

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"sort"
)

// An APIKeySet is an immutable set of API keys, each stored under the name
// of the caller it identifies. Make one with NewAPIKeySet. It keeps only
// the keys' SHA-256 hashes.
type APIKeySet struct {
	names  []string
	hashes [][sha256.Size]byte
}

// NewAPIKeySet returns the set of keys, given as caller name to key. It
// refuses an empty set, a caller name that is empty, longer than
// MaxCallerNameLength or not printable ASCII, a key shorter than
// MinAPIKeyLength or longer than MaxTokenBytes or not printable ASCII
// without spaces, and a key given to two callers. Errors name the caller,
// never the key.
func NewAPIKeySet(keys map[string]string) (*APIKeySet, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("agentkit: API key set is empty; give at least one caller a key")
	}
	names := make([]string, 0, len(keys))
	for name := range keys {
		names = append(names, name)
	}
	sort.Strings(names)
	set := &APIKeySet{names: names, hashes: make([][sha256.Size]byte, len(names))}
	seen := map[[sha256.Size]byte]string{}
	for i, name := range names {
		key := keys[name]
		if name == "" || len(name) > MaxCallerNameLength || !printable(name, true) {
			return nil, fmt.Errorf("agentkit: API key caller name %q is not 1 to %d printable ASCII characters", name, MaxCallerNameLength)
		}
		if len(key) < MinAPIKeyLength || len(key) > MaxTokenBytes || !printable(key, false) {
			return nil, fmt.Errorf("agentkit: API key of caller %q is not %d to %d printable ASCII characters without spaces", name, MinAPIKeyLength, MaxTokenBytes)
		}
		h := sha256.Sum256([]byte(key))
		if other, dup := seen[h]; dup {
			return nil, fmt.Errorf("agentkit: callers %q and %q have the same API key; give each its own", other, name)
		}
		seen[h] = name
		set.hashes[i] = h
	}
	return set, nil
}

func printable(s string, spaces bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || (c == ' ' && !spaces) {
			return false
		}
	}
	return true
}

// Callers returns the set's caller names, sorted.
func (s *APIKeySet) Callers() []string { return append([]string(nil), s.names...) }

// APIKeys returns s itself: a fixed set is its own APIKeySource.
func (s *APIKeySet) APIKeys() *APIKeySet { return s }

// lookup returns the caller whose key is key. It hashes key and compares
// the hash with every key's in constant time, without stopping at a match,
// so the time it takes tells nothing of which key matched or how much of
// one did.
func (s *APIKeySet) lookup(key string) (string, bool) {
	h := sha256.Sum256([]byte(key))
	match := -1
	for i := range s.hashes {
		eq := subtle.ConstantTimeCompare(h[:], s.hashes[i][:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return "", false
	}
	return s.names[match], true
}

// An APIKeySource gives the API key set in force now. APIKeys is called on
// every request, so it must be cheap (an atomic load) and safe for
// concurrent use; a source that refreshes its set without a restart (as
// package agentkit/apikeys's, from AWS Secrets Manager) swaps the whole set
// at once. It returns nil while it has no set yet, and requests are then
// answered 503.
type APIKeySource interface {
	APIKeys() *APIKeySet
}

// APIKeyAuth returns an Authenticator for API keys sent as "Authorization:
// Bearer <key>": a key of the source's current set lets the request
// through as the caller it is stored under (Caller.Method AuthAPIKeys);
// any other key is answered 401.
func APIKeyAuth(src APIKeySource) Authenticator { return &apiKeyAuth{src: src} }

type apiKeyAuth struct{ src APIKeySource }

// Validate refuses a nil source at start-up.
func (a *apiKeyAuth) Validate() error {
	if a.src == nil {
		return fmt.Errorf("agentkit: APIKeyAuth has a nil source; pass an *APIKeySet or an agentkit/apikeys source")
	}
	return nil
}

func (a *apiKeyAuth) Authenticate(r *http.Request) (Caller, error) {
	key, err := BearerToken(r)
	if err != nil {
		return Caller{}, err
	}
	set := a.src.APIKeys()
	if set == nil {
		return Caller{}, authFail(ErrAuthUnavailable, "API keys not loaded yet")
	}
	name, ok := set.lookup(key)
	if !ok {
		return Caller{}, authFail(ErrBadCredential, "unknown API key")
	}
	return Caller{Name: name, Method: AuthAPIKeys}, nil
}
