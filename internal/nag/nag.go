package nag

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// MetadataKey is the CloudFormation Metadata key cdk-nag reads suppressions from.
const MetadataKey = "cdk_nag"

// MinReasonLength is the shortest reason cdk-nag accepts.
const MinReasonLength = 10

// Rule is one suppressed cdk-nag rule.
type Rule struct {
	// ID is the rule's id with its pack prefix, such as "AwsSolutions-IAM5"
	// or "NIST.800.53.R5-IAMNoInlinePolicy". Never a finding: that goes in
	// AppliesTo.
	ID string
	// Reason is why the finding is acceptable on this resource, at least
	// MinReasonLength characters; a reviewer reads it in the template.
	Reason string
	// AppliesTo narrows a rule that reports findings (the "[...]" part of
	// its message, such as "Resource::*" or "Action::ecr:*") to these
	// findings.
	//
	// Default: - every finding of the rule on the resource.
	AppliesTo []string
}

// Validate reports what cdk-nag would refuse in r.
func (r Rule) Validate() error {
	if r.ID == "" {
		return fmt.Errorf("nag: rule id is empty; use a cdk-nag rule id such as %q", "AwsSolutions-IAM5")
	}
	if i := strings.IndexByte(r.ID, '['); i >= 0 {
		return fmt.Errorf("nag: rule id %q holds a finding; use ID %q and AppliesTo [%q]", r.ID, r.ID[:i], strings.Trim(r.ID[i:], "[]"))
	}
	if n := len([]rune(r.Reason)); n < MinReasonLength {
		return fmt.Errorf("nag: rule %s: reason %q is %d characters; give at least %d", r.ID, r.Reason, n, MinReasonLength)
	}
	for _, a := range r.AppliesTo {
		if a == "" {
			return fmt.Errorf("nag: rule %s: AppliesTo holds an empty finding; leave AppliesTo nil to suppress every finding", r.ID)
		}
	}
	return nil
}

// Suppress adds rules to the cdk-nag suppressions of c's CloudFormation
// resource: c itself when it is a CfnResource, otherwise its default child
// (the L1 an L2 construct wraps, such as a Bucket's CfnBucket). Suppressions
// already there, whether written by Suppress or by cdk-nag's
// NagSuppressions, are kept; a rule already present is not added twice.
//
// Suppress panics when a rule is invalid (see Rule.Validate), when no rule
// is given, or when c holds no CfnResource.
func Suppress(c constructs.IConstruct, rules ...Rule) {
	if len(rules) == 0 {
		panic("nag: Suppress needs at least one rule")
	}
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			panic(err.Error())
		}
	}
	res := resourceOf(c)
	existing := []any{}
	if md, ok := res.GetMetadata(jsii.String(MetadataKey)).(map[string]any); ok {
		if list, ok := md["rules_to_suppress"].([]any); ok {
			existing = list
		}
	}
	res.AddMetadata(jsii.String(MetadataKey), map[string]any{"rules_to_suppress": merge(existing, rules)})
}

// resourceOf returns the CfnResource c is or wraps.
func resourceOf(c constructs.IConstruct) awscdk.CfnResource {
	if c == nil {
		panic("nag: Suppress needs a construct; got nil")
	}
	if res, ok := c.(awscdk.CfnResource); ok {
		return res
	}
	if child := c.Node().DefaultChild(); child != nil {
		if res, ok := child.(awscdk.CfnResource); ok {
			return res
		}
	}
	panic(fmt.Sprintf("nag: %s is not a CloudFormation resource and has no default child that is one; suppress on the construct that owns the resource", *c.Node().Path()))
}

// merge appends rules, in cdk-nag's format, to the existing entries and
// drops exact duplicates as cdk-nag does (it compares the JSON of entries).
func merge(existing []any, rules []Rule) []any {
	out := make([]any, 0, len(existing)+len(rules))
	seen := map[string]bool{}
	add := func(entry any) {
		key, err := json.Marshal(entry)
		if err != nil {
			panic(fmt.Sprintf("nag: existing cdk_nag metadata is not JSON: %v", err))
		}
		if !seen[string(key)] {
			seen[string(key)] = true
			out = append(out, entry)
		}
	}
	for _, e := range existing {
		add(e)
	}
	for _, r := range rules {
		add(entry(r))
	}
	return out
}

// entry is r in the format cdk-nag writes: a reason with characters beyond
// Latin-1 goes base64-encoded with is_reason_encoded set (cdk-nag does
// this because CloudFormation metadata is not guaranteed to carry them).
func entry(r Rule) map[string]any {
	e := map[string]any{"id": r.ID, "reason": r.Reason}
	for _, c := range r.Reason {
		if c > 255 {
			e["reason"] = base64.StdEncoding.EncodeToString([]byte(r.Reason))
			e["is_reason_encoded"] = true
			break
		}
	}
	if len(r.AppliesTo) > 0 {
		applies := make([]any, len(r.AppliesTo))
		for i, a := range r.AppliesTo {
			applies[i] = a
		}
		e["applies_to"] = applies
	}
	return e
}
