// Package nag writes cdk-nag rule suppressions onto CloudFormation
// resources without depending on cdk-nag.
//
// cdk-nag (github.com/cdklabs/cdk-nag) reads its suppressions from each
// resource's CloudFormation Metadata, under the key "cdk_nag":
//
//	"Metadata": {
//	  "cdk_nag": {
//	    "rules_to_suppress": [
//	      {"reason": "...", "id": "AwsSolutions-IAM5", "applies_to": ["Resource::*"]}
//	    ]
//	  }
//	}
//
// This is the format its own NagSuppressions.addResourceSuppressions writes
// (lib/utils/nag-suppression-helper.ts, checked against cdk-nag 2.38.2).
// Suppress writes the same thing, so a construct library can ship the
// suppressions its inherent findings need while its users decide whether to
// run cdk-nag at all.
//
// A suppression is a claim a reviewer has to accept: it names one rule, is
// put on one resource, narrows a rule with findings (such as IAM5's
// wildcards) to those findings with AppliesTo, and says why in Reason.
// Suppress refuses what cdk-nag itself would refuse at synthesis (a reason
// under 10 characters, a finding written into the rule id) and panics when
// the construct holds no CloudFormation resource, where a suppression would
// silently do nothing.
package nag
