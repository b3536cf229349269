package stacktest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/internal/stacktest"
)

// recorder is a testing.TB that keeps what Errorf reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

const reason = "a reason a reviewer accepts"

func TestExpectSuppressions(t *testing.T) {
	lb := stacktest.Suppression{Path: "/S/Agent/LBSecurityGroup/Resource", Rule: "AwsSolutions-EC23", Reason: reason}
	iam := stacktest.Suppression{Path: "/S/Agent/Policy/Resource", Rule: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*", "Action::ecr:*"}, Reason: reason}
	cases := []struct {
		name string
		got  []stacktest.Suppression
		want []stacktest.Suppression
		msgs []string
	}{
		{"same set in any order, reasons not compared", []stacktest.Suppression{iam, lb},
			[]stacktest.Suppression{{Path: lb.Path, Rule: lb.Rule}, {Path: iam.Path, Rule: iam.Rule, AppliesTo: []string{"Action::ecr:*", "Resource::*"}}}, nil},
		{"an extra one", []stacktest.Suppression{lb, iam}, []stacktest.Suppression{lb},
			[]string{"unexpected suppression: AwsSolutions-IAM5 on /S/Agent/Policy/Resource applies_to Resource::*, Action::ecr:* (reason: a reason a reviewer accepts)"}},
		{"a missing one", []stacktest.Suppression{lb}, []stacktest.Suppression{lb, iam},
			[]string{"missing suppression: AwsSolutions-IAM5 on /S/Agent/Policy/Resource applies_to Resource::*, Action::ecr:*"}},
		{"wider applies_to", []stacktest.Suppression{{Path: iam.Path, Rule: iam.Rule, Reason: reason}}, []stacktest.Suppression{iam},
			[]string{"unexpected suppression: AwsSolutions-IAM5 on /S/Agent/Policy/Resource (reason: a reason a reviewer accepts)",
				"missing suppression: AwsSolutions-IAM5 on /S/Agent/Policy/Resource applies_to Resource::*, Action::ecr:*"}},
		{"stack-wide", []stacktest.Suppression{{Rule: "AwsSolutions-IAM5", Reason: reason}}, nil,
			[]string{"stack-wide suppression (hides the rule on every resource): AwsSolutions-IAM5 on the whole stack"}},
		{"short reason", []stacktest.Suppression{{Path: lb.Path, Rule: lb.Rule, Reason: "because"}}, []stacktest.Suppression{{Path: lb.Path, Rule: lb.Rule}},
			[]string{`suppression AwsSolutions-EC23 on /S/Agent/LBSecurityGroup/Resource: reason "because" is shorter than 10 characters`}},
		{"other reason", []stacktest.Suppression{lb}, []stacktest.Suppression{{Path: lb.Path, Rule: lb.Rule, Reason: "the listener ports must be public"}},
			[]string{`suppression AwsSolutions-EC23 on /S/Agent/LBSecurityGroup/Resource: reason "a reason a reviewer accepts", want "the listener ports must be public"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// GIVEN the suppressions of a template and the expected list
			r := &recorder{TB: t}
			// WHEN they are compared
			stacktest.ExpectSuppressions(r, tc.got, tc.want...)
			// THEN each difference is reported on its own line
			var lines []string
			for _, e := range r.errors {
				lines = append(lines, strings.Split(e, "\n  ")[1:]...)
			}
			if strings.Join(lines, "\n") != strings.Join(tc.msgs, "\n") {
				t.Errorf("reported:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tc.msgs, "\n"))
			}
		})
	}
}
