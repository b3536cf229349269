package stacktest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// CfnLintBinary is the CloudFormation linter, looked up on PATH.
const CfnLintBinary = "cfn-lint"

// LintMatch is one problem cfn-lint reports.
type LintMatch struct {
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

// CfnLint runs cfn-lint over the template at templatePath and fails t on
// every error and warning it reports; informational matches are returned
// but do not fail. Exceptions belong in the template, on the one resource
// they concern (Metadata "cfn-lint": {"config": {"ignore_checks": [...]}}),
// where a reviewer sees them, not in a global configuration.
//
// CfnLint skips t when cfn-lint is not on PATH, unless CI=true.
func CfnLint(t testing.TB, templatePath string) []LintMatch {
	t.Helper()
	bin := need(t, CfnLintBinary, "pip install cfn-lint")
	matches, err := lint(bin, templatePath)
	if err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	var bad []string
	for _, m := range matches {
		if m.Level == "Error" || m.Level == "Warning" {
			bad = append(bad, "  "+m.String())
		}
	}
	if len(bad) > 0 {
		t.Errorf("cfn-lint %s: %d errors and warnings:\n%s", templatePath, len(bad), strings.Join(bad, "\n"))
	}
	return matches
}

// lint runs cfn-lint with JSON output. It exits non-zero whenever it finds
// anything (a bit mask of the levels found), so the exit status alone says
// little: the output decides, and a run that printed no JSON failed.
func lint(bin, templatePath string) ([]LintMatch, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--format", "json", "--", templatePath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return nil, fmt.Errorf("run %s: %w", bin, runErr)
	}
	var raw []struct {
		Level    string
		Message  string
		Rule     struct{ Id string }
		Location struct{ Path []any }
	}
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		return nil, fmt.Errorf("%s %s: %v; its output: %s%s", bin, templatePath, runErr, stdout.String(), stderr.String())
	}
	out := make([]LintMatch, len(raw))
	for i, r := range raw {
		parts := make([]string, len(r.Location.Path))
		for j, p := range r.Location.Path {
			parts[j] = fmt.Sprint(p)
		}
		out[i] = LintMatch{Level: r.Level, Rule: r.Rule.Id, Path: strings.Join(parts, "/"), Message: r.Message}
	}
	return out, nil
}
