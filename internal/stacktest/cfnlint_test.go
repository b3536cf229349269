package stacktest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/internal/stacktest"
)

func TestCfnLintReportsEachTemplateOnItsOwn(t *testing.T) {
	// GIVEN a clean template and one with a property CloudFormation does
	// not know
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	clean := write("clean.json", `{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}`)
	bad := write("bad.json", `{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"Colour": "red"}}}}`)

	// WHEN cfn-lint checks both in one run
	r := &recorder{TB: t}
	matches := stacktest.CfnLint(r, clean, bad)

	// THEN the one error is the bad template's, reported under its name
	if len(matches) != 1 || matches[0].File != bad || matches[0].Level != "Error" || matches[0].Path != "Resources/Topic/Properties/Colour" {
		t.Fatalf("matches = %+v, want one error at Resources/Topic/Properties/Colour in %s", matches, bad)
	}
	if len(r.errors) != 1 || !strings.HasPrefix(r.errors[0], "cfn-lint "+bad+": 1 errors and warnings:") {
		t.Errorf("reported %q, want one report for %s", r.errors, bad)
	}
}
