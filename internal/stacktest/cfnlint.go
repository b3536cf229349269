package stacktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// CfnLintBinary is the CloudFormation linter, looked up on PATH.
const CfnLintBinary = "cfn-lint"

// LintMatch is one problem cfn-lint reports.
type LintMatch struct {
	// File is the template it is in, as given to CfnLint.
	File string
	// Level is "Error", "Warning" or "Informational".
	Level string
	// Rule is the cfn-lint rule id ("W3005").
	Rule string
	// Path is the location in the template ("Resources/Bucket/Properties").
	Path string
	// Message is cfn-lint's explanation.
	Message string
}

// String renders m on one line.
func (m LintMatch) String() string {
	return fmt.Sprintf("%s %s at %s: %s", m.Level, m.Rule, m.Path, m.Message)
}

// CfnLint runs cfn-lint once over the templates at templatePaths and fails
// t on every error and warning it reports, by template; informational
// matches are returned but do not fail. Give it every template a test
// package lints in one call: cfn-lint spends seconds loading its
// specifications before it reads the first template, and well under one
// on each template after that. Exceptions belong in the template, on the
// one resource they concern (Metadata "cfn-lint": {"config":
// {"ignore_checks": [...]}}), where a reviewer sees them, not in a global
// configuration.
//
// CfnLint skips t when cfn-lint is not on PATH, unless CI=true.
func CfnLint(t testing.TB, templatePaths ...string) []LintMatch {
	t.Helper()
	return StartCfnLint(t, templatePaths...)()
}

// StartCfnLint starts CfnLint's run and returns at once; the function it
// returns waits for the run and reports it as CfnLint does. Between the
// two, a test may go on with other work, or call t.Parallel: cfn-lint, a
// process of its own, then lints while the package's sequential tests run
// (as those that use jsii must), instead of after them.
func StartCfnLint(t testing.TB, templatePaths ...string) (wait func() []LintMatch) {
	t.Helper()
	if len(templatePaths) == 0 {
		t.Fatal("stacktest: CfnLint without a template")
	}
	bin := need(t, CfnLintBinary, "pip install cfn-lint")
	done := make(chan struct{})
	var matches []LintMatch
	var err error
	go func() {
		defer close(done)
		matches, err = lint(bin, templatePaths)
	}()
	return func() []LintMatch {
		t.Helper()
		<-done
		if err != nil {
			t.Fatalf("stacktest: %v", err)
		}
		bad := map[string][]string{}
		for _, m := range matches {
			if m.Level == "Error" || m.Level == "Warning" {
				bad[m.File] = append(bad[m.File], "  "+m.String())
			}
		}
		// A match on no template given (cfn-lint names no file when it
		// cannot read one) is reported under the name it has.
		for _, path := range slices.Sorted(maps.Keys(bad)) {
			lines := bad[path]
			t.Errorf("cfn-lint %s: %d errors and warnings:\n%s", path, len(lines), strings.Join(lines, "\n"))
		}
		return matches
	}
}

// lint runs cfn-lint with JSON output. It exits non-zero whenever it finds
// anything (a bit mask of the levels found), so the exit status alone says
// little: the output decides, and a run that printed no JSON failed.
func lint(bin string, templatePaths []string) ([]LintMatch, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, append([]string{"--format", "json", "--"}, templatePaths...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return nil, fmt.Errorf("run %s: %w", bin, runErr)
	}
	var raw []struct {
		Filename string
		Level    string
		Message  string
		Rule     struct{ Id string }
		Location struct{ Path []any }
	}
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		return nil, fmt.Errorf("%s %s: %v; its output: %s%s", bin, strings.Join(templatePaths, " "), runErr, stdout.String(), stderr.String())
	}
	out := make([]LintMatch, len(raw))
	for i, r := range raw {
		parts := make([]string, len(r.Location.Path))
		for j, p := range r.Location.Path {
			parts[j] = fmt.Sprint(p)
		}
		out[i] = LintMatch{File: r.Filename, Level: r.Level, Rule: r.Rule.Id, Path: strings.Join(parts, "/"), Message: r.Message}
	}
	return out, nil
}
