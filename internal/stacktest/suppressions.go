package stacktest

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Suppression is one cdk-nag suppression found in a template.
type Suppression struct {
	// Path is the construct path of the resource that carries it
	// ("/Stack/Agent/LB/SecurityGroup/Resource"); its logical id when the
	// assembly does not record the path; "" for a stack-wide suppression
	// (template Metadata), which hides a rule on every resource.
	Path string
	// Rule is the suppressed rule id.
	Rule string
	// AppliesTo lists the suppressed findings; empty means all of them.
	AppliesTo []string
	// Reason is the reviewer-facing justification. ExpectSuppressions
	// ignores it in the expected list when empty.
	Reason string
}

// String renders s on one line.
func (s Suppression) String() string {
	out := s.Rule + " on " + s.Path
	if s.Path == "" {
		out = s.Rule + " on the whole stack"
	}
	if len(s.AppliesTo) > 0 {
		out += " applies_to " + strings.Join(s.AppliesTo, ", ")
	}
	return out
}

func (s Suppression) key() string {
	return s.Path + "\x00" + s.Rule + "\x00" + strings.Join(slices.Sorted(slices.Values(s.AppliesTo)), "\x00")
}

// Suppressions lists the cdk-nag suppressions in the template: those on
// resources (Metadata.cdk_nag.rules_to_suppress), sorted by path and rule,
// then stack-wide ones. Given packs, it lists only the rules of those packs;
// given none, every rule.
func (s *Synthesized) Suppressions(packs ...Pack) []Suppression {
	all := s.suppressions()
	if len(packs) == 0 {
		return all
	}
	var out []Suppression
	for _, sup := range all {
		for _, p := range packs {
			if strings.HasPrefix(sup.Rule, string(p)+"-") {
				out = append(out, sup)
				break
			}
		}
	}
	return out
}

func (s *Synthesized) suppressions() []Suppression {
	var out []Suppression
	resources, _ := s.Template["Resources"].(map[string]any)
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res, _ := resources[id].(map[string]any)
		md, _ := res["Metadata"].(map[string]any)
		path := s.PathOf(id)
		if path == "" {
			path = id
		}
		out = append(out, rulesIn(md, path)...)
	}
	slices.SortStableFunc(out, func(a, b Suppression) int { return strings.Compare(a.key(), b.key()) })
	md, _ := s.Template["Metadata"].(map[string]any)
	return append(out, rulesIn(md, "")...)
}

// rulesIn reads the rules_to_suppress of one Metadata object, decoding
// reasons cdk-nag base64-encoded.
func rulesIn(md map[string]any, path string) []Suppression {
	nag, _ := md["cdk_nag"].(map[string]any)
	rules, _ := nag["rules_to_suppress"].([]any)
	var out []Suppression
	for _, r := range rules {
		e, _ := r.(map[string]any)
		sup := Suppression{Path: path}
		sup.Rule, _ = e["id"].(string)
		sup.Reason, _ = e["reason"].(string)
		if enc, _ := e["is_reason_encoded"].(bool); enc {
			if b, err := base64.StdEncoding.DecodeString(sup.Reason); err == nil {
				sup.Reason = string(b)
			}
		}
		applies, _ := e["applies_to"].([]any)
		for _, a := range applies {
			switch v := a.(type) {
			case string:
				sup.AppliesTo = append(sup.AppliesTo, v)
			case map[string]any:
				sup.AppliesTo = append(sup.AppliesTo, fmt.Sprintf("regex:%v", v["regex"]))
			}
		}
		out = append(out, sup)
	}
	return out
}

// ExpectSuppressions fails t unless got holds exactly the suppressions in
// want, compared by path, rule and applies_to (in any order). A want entry
// with a Reason must match the reason too. Every suppression in got must
// have a reason of at least 10 characters, as cdk-nag requires, and none
// may be stack-wide.
func ExpectSuppressions(t testing.TB, got []Suppression, want ...Suppression) {
	t.Helper()
	wanted := map[string]Suppression{}
	for _, w := range want {
		wanted[w.key()] = w
	}
	var problems []string
	seen := map[string]bool{}
	for _, g := range got {
		k := g.key()
		switch w, ok := wanted[k]; {
		case g.Path == "":
			problems = append(problems, "stack-wide suppression (hides the rule on every resource): "+g.String())
		case !ok:
			problems = append(problems, "unexpected suppression: "+g.String()+" (reason: "+g.Reason+")")
		case w.Reason != "" && w.Reason != g.Reason:
			problems = append(problems, fmt.Sprintf("suppression %s: reason %q, want %q", g, g.Reason, w.Reason))
		}
		if len([]rune(g.Reason)) < 10 {
			problems = append(problems, fmt.Sprintf("suppression %s: reason %q is shorter than 10 characters", g, g.Reason))
		}
		seen[k] = true
	}
	for _, w := range want {
		if !seen[w.key()] {
			problems = append(problems, "missing suppression: "+w.String())
		}
	}
	if len(problems) > 0 {
		t.Errorf("suppressions differ from the expected list:\n  %s", strings.Join(problems, "\n  "))
	}
}
