package healthcheck

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agentcdk/agentcdk/internal/propmsg"
	"github.com/agentcdk/agentcdk/internal/timing"
)

// Unresolved stands for a duration of a Timing that is an unresolved CDK
// token. Validation skips every rule that involves it.
const Unresolved = timing.Unresolved

// UnresolvedCount stands for a count of a Timing that is an unresolved CDK
// token. Validation skips every rule that involves it.
const UnresolvedCount = timing.UnresolvedCount

// errorf builds a validation error with the package prefix. Prop names
// among args are propmsg.Names, so that agentservice can report them as
// its user set them.
func errorf(format string, args ...any) error {
	return propmsg.Errorf("healthcheck", format, args...)
}

// name marks a prop name in a message.
func name(n string) propmsg.Name { return propmsg.Name(n) }

// checkDuration checks that d is a whole number of seconds within lo..hi.
func checkDuration(prop string, d, lo, hi time.Duration) error {
	if d == Unresolved {
		return nil
	}
	if d%time.Second != 0 {
		return errorf("%s %s is not a whole number of seconds; use %s to %s in whole seconds",
			name(prop), timing.Format(d), timing.Format(lo), timing.Format(hi))
	}
	if d < lo || d > hi {
		return errorf("%s %s is out of range; use %s to %s", name(prop), timing.Format(d), timing.Format(lo), timing.Format(hi))
	}
	return nil
}

// checkBelow checks that a timeout is shorter than the interval it runs in.
func checkBelow(timeoutName string, timeout time.Duration, intervalName string, interval time.Duration) error {
	if timeout == Unresolved || interval == Unresolved || timeout < interval {
		return nil
	}
	return errorf("%s %s is not below %s %s; use a timeout shorter than the interval",
		name(timeoutName), timing.Format(timeout), name(intervalName), timing.Format(interval))
}

// checkCount checks that n is a whole number within lo..hi.
func checkCount(prop string, n float64, lo, hi int) error {
	if n != math.Trunc(n) || math.IsInf(n, 0) {
		return errorf("%s %v is not a whole number; use %d to %d", name(prop), n, lo, hi)
	}
	if n < float64(lo) || n > float64(hi) {
		return errorf("%s %v is out of range; use %d to %d", name(prop), n, lo, hi)
	}
	return nil
}

// checkIntCount is checkCount for an int that may be UnresolvedCount.
func checkIntCount(prop string, n, lo, hi int) error {
	if n == UnresolvedCount {
		return nil
	}
	return checkCount(prop, float64(n), lo, hi)
}

// checkPath reports whether the ALB accepts path as a health-check path:
// it starts with "/", is at most maxPathLength characters long and holds
// only printable ASCII characters other than space.
func checkPath(path string) error {
	if !strings.HasPrefix(path, "/") {
		return errorf("%s %q does not start with \"/\"; use an absolute path such as %q", name("Path"), path, DefaultPath)
	}
	if len(path) > maxPathLength {
		return errorf("%s of %d characters is too long; use at most %d", name("Path"), len(path), maxPathLength)
	}
	for _, r := range path {
		if r <= ' ' || r > '~' {
			return errorf("%s %q holds the character %q; use printable ASCII characters without spaces", name("Path"), path, r)
		}
	}
	return nil
}

// checkHealthyHttpCodes reports whether the ALB accepts codes as a
// health-check matcher: one code ("200"), a list ("200,202"), a range
// ("200-299") or a list of codes and ranges, every code from 200 to 499.
func checkHealthyHttpCodes(codes string) error {
	bad := func() error {
		return errorf("%s %q is not a matcher the ALB accepts; use codes from 200 to 499 as \"200\", \"200,202\" or \"200-299\"", name("HealthyHttpCodes"), codes)
	}
	if codes == "" {
		return bad()
	}
	for _, item := range strings.Split(codes, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		if !isRange {
			hi = lo
		}
		l, okL := httpCode(lo)
		h, okH := httpCode(hi)
		if !okL || !okH || l > h {
			return bad()
		}
	}
	return nil
}

// httpCode parses a three-digit code from 200 to 499.
func httpCode(s string) (int, bool) {
	if len(s) != 3 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 200 || n > 499 {
		return 0, false
	}
	return n, true
}
