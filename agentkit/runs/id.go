package runs

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
)

// idPrefix starts every run ID.
const idPrefix = "run_"

// encoding is lowercase base32 without padding: IDs that are safe in a
// URL path, a DynamoDB key and a log line.
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a new random run ID: "run_" and 16 random bytes in
// lowercase base32 (26 characters).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return idPrefix + encoding.EncodeToString(b[:])
}

// IDFor returns the run ID that caller's idempotency key names: the first
// 16 bytes of SHA-256 of the caller's name, a zero byte and the key, in the
// form of NewID. The same caller and key always name the same run, two
// callers' keys never do (but by a hash collision), and the ID tells
// nothing of the key.
func IDFor(caller, key string) string {
	h := sha256.Sum256([]byte(caller + "\x00" + key))
	return idPrefix + encoding.EncodeToString(h[:16])
}

// ValidID reports whether id has the form of a run ID: "run_" followed by
// 1 to MaxIDBytes-4 lowercase letters and digits 2 to 7.
func ValidID(id string) bool {
	if len(id) > MaxIDBytes || !strings.HasPrefix(id, idPrefix) || len(id) == len(idPrefix) {
		return false
	}
	for _, c := range id[len(idPrefix):] {
		if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// MaxIdempotencyKey is the longest Idempotency-Key a caller may send.
const MaxIdempotencyKey = 255

// validKey reports whether key may be an idempotency key: 1 to
// MaxIdempotencyKey printable ASCII characters.
func validKey(key string) bool {
	if key == "" || len(key) > MaxIdempotencyKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < ' ' || key[i] > '~' {
			return false
		}
	}
	return true
}

// CheckEvent reports whether ev may be appended as event seq of a run: its
// type within MaxEventType bytes and free of line breaks, its data within
// MaxEventBytes, seq within MaxEvents. Stores call it before they write;
// the errors wrap ErrTooLarge where a bound is passed.
func CheckEvent(ev Event) error {
	switch {
	case ev.Seq < 1:
		return fmt.Errorf("runs: event seq %d is not 1 or more", ev.Seq)
	case ev.Seq > MaxEvents:
		return fmt.Errorf("%w: a run appends at most %d events", ErrTooLarge, MaxEvents)
	case len(ev.Type) > MaxEventType:
		return fmt.Errorf("%w: event type of %d bytes; at most %d", ErrTooLarge, len(ev.Type), MaxEventType)
	case strings.ContainsAny(ev.Type, "\r\n"):
		return fmt.Errorf("runs: event type %q holds a line break", ev.Type)
	case len(ev.Data) > MaxEventBytes:
		return fmt.Errorf("%w: event data of %d bytes; at most %d", ErrTooLarge, len(ev.Data), MaxEventBytes)
	}
	return nil
}

// CheckNew reports whether r may be created: a valid ID, Queued, no
// attempt or event yet, Where OnWorker or OnWeb, and an input within
// MaxInputBytes.
func CheckNew(r Run) error {
	switch {
	case !ValidID(r.ID):
		return fmt.Errorf("runs: %q is not a run ID", r.ID)
	case r.Status != Queued || r.Attempt != 0 || r.Events != 0:
		return fmt.Errorf("runs: a new run must be queued with no attempt and no event; got %s, attempt %d, %d events", r.Status, r.Attempt, r.Events)
	case r.Where != OnWorker && r.Where != OnWeb:
		return fmt.Errorf("runs: Where %q is not %q or %q", r.Where, OnWorker, OnWeb)
	case len(r.Input) > MaxInputBytes:
		return fmt.Errorf("%w: input of %d bytes; at most %d", ErrTooLarge, len(r.Input), MaxInputBytes)
	}
	return nil
}

// CheckEnd reports whether a run may end with status and result, and
// returns errText cut to MaxErrorBytes.
func CheckEnd(status Status, result []byte, errText string) (string, error) {
	if !status.Ended() {
		return "", fmt.Errorf("runs: %q is not a final status", status)
	}
	if status != Succeeded && len(result) > 0 {
		return "", fmt.Errorf("runs: a %s run has no result", status)
	}
	if len(result) > MaxResultBytes {
		return "", fmt.Errorf("%w: result of %d bytes; at most %d", ErrTooLarge, len(result), MaxResultBytes)
	}
	if len(errText) > MaxErrorBytes {
		errText = strings.ToValidUTF8(errText[:MaxErrorBytes], "")
	}
	return errText, nil
}
