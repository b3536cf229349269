package healthcheck_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentcdk/agentcdk/healthcheck"
)

func FuzzTiming(f *testing.F) {
	d := healthcheck.DefaultTiming()
	f.Add(int64(d.RequestTimeout), false, int64(d.DeregistrationDelay), int64(d.StopTimeout), int64(d.IdleTimeout), int64(d.HealthCheckInterval),
		int64(d.HealthCheckTimeout), int64(d.GracePeriod), d.HealthyThresholdCount, d.UnhealthyThresholdCount)
	f.Add(int64(0), true, int64(-1), int64(0), int64(1), int64(2), int64(3), int64(4), 0, 11)
	f.Fuzz(func(t *testing.T, request int64, stream bool, dereg, stop, idle, interval, timeout, grace int64, healthy, unhealthy int) {
		// GIVEN any budget
		tm := healthcheck.Timing{
			RequestTimeout: time.Duration(request), LongRequestsStream: stream,
			DeregistrationDelay: time.Duration(dereg), StopTimeout: time.Duration(stop),
			IdleTimeout: time.Duration(idle), HealthCheckInterval: time.Duration(interval),
			HealthCheckTimeout: time.Duration(timeout), GracePeriod: time.Duration(grace),
			HealthyThresholdCount: healthy, UnhealthyThresholdCount: unhealthy,
		}
		// WHEN it is validated
		err := tm.Validate()
		if err != nil {
			// THEN a refusal carries the package prefix and no final period
			if msg := err.Error(); !strings.HasPrefix(msg, "healthcheck: ") || strings.HasSuffix(msg, ".") {
				t.Fatalf("bad message %q", msg)
			}
			return
		}
		// THEN an accepted budget keeps every AWS rule
		if tm.StopTimeout < 2*time.Second || tm.StopTimeout > 120*time.Second ||
			tm.HealthCheckTimeout >= tm.HealthCheckInterval ||
			tm.HealthCheckInterval < 5*time.Second || tm.HealthCheckInterval > 300*time.Second ||
			tm.HealthyThresholdCount < 2 || tm.HealthyThresholdCount > 10 ||
			tm.DeregistrationDelay < 0 || tm.DeregistrationDelay > time.Hour ||
			tm.StopTimeout%time.Second != 0 ||
			tm.RequestTimeout != 0 && (tm.RequestTimeout < time.Second || tm.RequestTimeout > 10*time.Minute ||
				tm.DeregistrationDelay < tm.RequestTimeout+5*time.Second ||
				!tm.LongRequestsStream && tm.RequestTimeout > tm.IdleTimeout) {
			t.Fatalf("Validate accepted %+v", tm)
		}
		// AND its deploy step covers the wait for health, the drain and the stop
		step := tm.DeployStep()
		if step < tm.GracePeriod+tm.DeregistrationDelay+tm.StopTimeout ||
			step < time.Duration(tm.HealthyThresholdCount)*tm.HealthCheckInterval+tm.DeregistrationDelay+tm.StopTimeout {
			t.Fatalf("DeployStep() = %v for %+v", step, tm)
		}
	})
}

func FuzzHealthyHttpCodes(f *testing.F) {
	for _, s := range []string{"200", "200,202", "200-299", "199", "500", "200-", "-", ",", "200,,202", "2OO"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, codes string) {
		// GIVEN any matcher WHEN it is validated (a plain string needs no jsii)
		if (&healthcheck.Props{HealthyHttpCodes: &codes}).Validate() != nil {
			return
		}
		// THEN an accepted one is a list of codes or ranges, each within 200..499
		for _, item := range strings.Split(codes, ",") {
			for _, code := range strings.SplitN(item, "-", 2) {
				n, err := strconv.Atoi(code)
				if err != nil || n < 200 || n > 499 || len(code) != 3 {
					t.Fatalf("accepted %q with code %q", codes, code)
				}
			}
		}
	})
}

func FuzzPath(f *testing.F) {
	for _, s := range []string{"/health", "health", "/", "/a b", "/ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		// GIVEN any path WHEN it is validated THEN an accepted one is absolute printable ASCII
		if (&healthcheck.Props{Path: &path}).Validate() != nil {
			return
		}
		if !strings.HasPrefix(path, "/") || len(path) > 1024 || strings.ContainsAny(path, " \t\n") {
			t.Fatalf("accepted %q", path)
		}
	})
}
