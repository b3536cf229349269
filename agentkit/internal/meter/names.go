package meter

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode"
)

// The rules CloudWatch sets for what goes in a metric's identity; a line
// that breaks them is dropped, or loses its metrics, without a word to the
// writer.
//
// A dimension value (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html):
// 1 to 1024 characters, ASCII only, no ASCII control characters, at least
// one that is not whitespace.
//
// A namespace (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace):
// 1 to 255 characters of letters, digits, period, hyphen, underscore,
// slash, hash, colon and space, at least one not a space; "AWS/" begins
// AWS's own namespaces.

// printable reports whether b is ASCII and not a control character.
func printable(b byte) bool { return b >= ' ' && b <= '~' }

// DimensionValue reports whether v is a valid CloudWatch dimension value.
func DimensionValue(v string) bool {
	if len(v) == 0 || len(v) > 1024 || strings.Trim(v, " ") == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !printable(v[i]) {
			return false
		}
	}
	return true
}

// Namespace reports whether ns is a CloudWatch namespace a user may write
// metrics to.
func Namespace(ns string) bool {
	if len(ns) == 0 || len(ns) > 255 || strings.Trim(ns, " ") == "" || strings.HasPrefix(ns, "AWS/") {
		return false
	}
	for _, r := range ns {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-/#: ", r))) {
			return false
		}
	}
	return true
}

// ModelDimension is the Model dimension value of a model name, by the rule
// agentkit.ModelDimension documents: whitespace and control characters at
// either end are dropped; what is left is kept when it is 1 to MaxModelName
// printable ASCII characters; nothing left is ModelOther; anything else
// has each character that is not printable ASCII replaced by "_", is cut
// to MaxModelName-9 characters, and ends with "~" and the 8 hex digits of
// the 32-bit FNV-1a hash of what was left, so that two names rewritten
// alike stay apart, and every task maps a name alike.
func ModelDimension(name string) string {
	name = strings.TrimFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
	if name == "" {
		return ModelOther
	}
	if len(name) <= MaxModelName && DimensionValue(name) {
		return name
	}
	var b strings.Builder
	for _, r := range name { // an invalid UTF-8 byte comes as one RuneError
		if b.Len() == MaxModelName-9 {
			break
		}
		if r < unicode.MaxASCII && printable(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	// The cut may leave a space at the end, before the suffix, which is
	// allowed: the first character is never a space.
	return fmt.Sprintf("%s~%08x", b.String(), h.Sum32())
}
