package agentservice

import (
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/agentcdk/agentcdk/internal/nag"
)

// inherentPolicyID is the construct ID, under a role, of the policy that
// holds the role's grants that AWS allows on "*" only.
const inherentPolicyID = "InherentPolicy"

// isolateInherent moves the grants of actions on "*" out of role's
// DefaultPolicy into a customer-managed policy of their own
// (role/InherentPolicy), and records there, once, the cdk-nag finding they
// make (AwsSolutions-IAM5, Resource::*) with reason. A user's grant on "*"
// to the same role stays in the DefaultPolicy, where no suppression covers
// it: cdk-nag's applies_to matches the finding ("Resource::*"), not the
// statement, so a suppression on a policy that held both would hide it.
//
// The move happens when the template is written, so it covers statements
// the CDK adds after this call and survives the CDK's statement merging
// (@aws-cdk/aws-iam:minimizePolicies), which may put an inherent action
// and a user's in one statement: each such statement is split by action.
// Only unconditional Allow statements whose Resource is exactly "*" are
// touched. Should the DefaultPolicy hold nothing else (a task role whose
// only grants are ECS Exec's, in a given Cluster without exec logging), it
// is left whole, since IAM refuses an empty policy; the InherentPolicy
// then repeats its statements and the finding shows on the DefaultPolicy.
//
// role must already have a DefaultPolicy holding one of actions on "*";
// isolateInherent returns the InherentPolicy, which ECS needs before the
// service starts.
func isolateInherent(role awsiam.IRole, reason string, actions ...string) awsiam.CfnManagedPolicy {
	policy, ok := role.Node().TryFindChild(jsii.String("DefaultPolicy")).(awsiam.Policy)
	if !ok {
		panic("agentservice: isolateInherent: " + *role.Node().Path() + " has no DefaultPolicy")
	}
	split := &inherentSplit{doc: policy.Document(), actions: actions}
	cfn := policy.Node().DefaultChild().(awsiam.CfnPolicy)
	cfn.SetPolicyDocument(awscdk.Lazy_UncachedAny(&splitPart{split: split, inherent: false}, nil))
	scope, ok := role.(constructs.Construct)
	if !ok {
		panic("agentservice: isolateInherent: " + *role.Node().Path() + " is not a construct")
	}
	inherent := awsiam.NewCfnManagedPolicy(scope, jsii.String(inherentPolicyID), &awsiam.CfnManagedPolicyProps{
		Description:    jsii.String("Grants that AWS allows on every resource only; agentcdk keeps them apart from the role's other grants"),
		PolicyDocument: awscdk.Lazy_UncachedAny(&splitPart{split: split, inherent: true}, nil),
		Roles:          &[]any{role.RoleName()},
	})
	nag.Suppress(inherent, nag.Rule{ID: "AwsSolutions-IAM5", AppliesTo: []string{"Resource::*"}, Reason: reason})
	return inherent
}

// inherentSplit divides the statements of a DefaultPolicy's document into
// the inherent grants and the rest.
type inherentSplit struct {
	doc     awsiam.PolicyDocument
	actions []string
}

// splitPart renders one side of an inherentSplit as a policy document. It
// implements awscdk.IAnyProducer.
type splitPart struct {
	split    *inherentSplit
	inherent bool
}

// Produce implements awscdk.IAnyProducer.
func (p *splitPart) Produce(ctx awscdk.IResolveContext) interface{} {
	doc, _ := ctx.Resolve(p.split.doc, nil).(map[string]any)
	inherent, rest := p.split.divide(asSlice(doc["Statement"]))
	if len(rest) == 0 {
		rest = asSlice(doc["Statement"])
	}
	if p.inherent {
		doc["Statement"] = inherent
	} else {
		doc["Statement"] = rest
	}
	return doc
}

// divide splits resolved statements into the inherent grants, one
// statement of every inherent action found, and the rest, in order.
func (s *inherentSplit) divide(statements []any) (inherent, rest []any) {
	var found []string
	for _, st := range statements {
		m, _ := st.(map[string]any)
		if !onEveryResource(m) {
			rest = append(rest, st)
			continue
		}
		var keep []string
		for _, a := range stringsOf(m["Action"]) {
			if slices.Contains(s.actions, a) {
				found = append(found, a)
			} else {
				keep = append(keep, a)
			}
		}
		switch {
		case len(keep) == len(stringsOf(m["Action"])):
			rest = append(rest, st)
		case len(keep) > 0:
			rest = append(rest, withActions(m, keep))
		}
	}
	if len(found) > 0 {
		slices.Sort(found)
		inherent = append(inherent, map[string]any{"Effect": "Allow", "Action": actionValue(slices.Compact(found)), "Resource": "*"})
	}
	return inherent, rest
}

// onEveryResource reports whether a resolved statement is an unconditional
// Allow of actions on "*".
func onEveryResource(m map[string]any) bool {
	for _, k := range []string{"Condition", "NotAction", "NotResource", "Principal", "NotPrincipal"} {
		if _, ok := m[k]; ok {
			return false
		}
	}
	resources := stringsOf(m["Resource"])
	return m["Effect"] == "Allow" && len(resources) == 1 && resources[0] == "*" && len(stringsOf(m["Action"])) > 0
}

// stringsOf reads an IAM value that is a string or a list of strings.
func stringsOf(v any) []string {
	switch n := v.(type) {
	case string:
		return []string{n}
	case []any:
		out := make([]string, 0, len(n))
		for _, e := range n {
			s, ok := e.(string)
			if !ok {
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}

// withActions is a copy of a statement with only actions.
func withActions(m map[string]any, actions []string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	out["Action"] = actionValue(actions)
	return out
}

// actionValue renders actions as IAM writes them: one as a string.
func actionValue(actions []string) any {
	if len(actions) == 1 {
		return actions[0]
	}
	out := make([]any, len(actions))
	for i, a := range actions {
		out[i] = a
	}
	return out
}

// awaitInherent has service created after the InherentPolicy of each of
// roles that has one: ECS pulls the image (execution role) and opens ECS
// Exec's channel (task role) with those grants as soon as a task starts.
func awaitInherent(service constructs.IConstruct, roles ...awsiam.IRole) {
	for _, role := range roles {
		if role == nil {
			continue
		}
		if policy := role.Node().TryFindChild(jsii.String(inherentPolicyID)); policy != nil {
			service.Node().AddDependency(policy)
		}
	}
}
