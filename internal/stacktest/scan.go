package stacktest

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cloudformationinclude"
	"github.com/aws/jsii-runtime-go"
)

// ScanTemplate runs the packs over a synthesized template file as a scanner
// of CloudFormation sees it, and returns the unsuppressed findings. The
// template is loaded back into a fresh app with cloudformation-include, so
// every resource is its typed L1 (an IAM role the CDK made as a raw
// CfnResource is a CfnRole there, which the in-tree rules never visit) and
// keeps its metadata, suppressions included. Paths in the findings are
// under /Scan/Template/<logical id>.
func ScanTemplate(t testing.TB, templatePath string, packs ...Pack) []Finding {
	t.Helper()
	app := NewApp(t)
	// No bootstrap parameter of its own: the included template has one.
	stack := awscdk.NewStack(app, jsii.String("Scan"), &awscdk.StackProps{
		Synthesizer: awscdk.NewBootstraplessSynthesizer(nil),
	})
	cloudformationinclude.NewCfnInclude(stack, jsii.String("Template"), &cloudformationinclude.CfnIncludeProps{
		TemplateFile: jsii.String(templatePath),
	})
	return Synth(t, stack, packs...).Findings
}

// Packs are every rule pack Synth and ScanTemplate can apply.
var Packs = []Pack{AwsSolutions, NIST80053R5, HIPAA, PCIDSS321}

// ScanPacks is ScanTemplate with every pack of packs applied in one
// synthesis, which costs about what one pack does (the synthesis of the
// included template dominates). It returns each pack's findings under
// the pack, and the findings of none of the packs (a rule that could not
// evaluate a resource, CdkNagValidationFailure, and the CDK's own
// warnings) under the empty Pack "". Packs whose rules find nothing are
// absent, so ScanPacks(...)[pack] is nil for a clean pack.
func ScanPacks(t testing.TB, templatePath string, packs ...Pack) map[Pack][]Finding {
	t.Helper()
	out := map[Pack][]Finding{}
	for _, f := range ScanTemplate(t, templatePath, packs...) {
		out[f.pack(packs)] = append(out[f.pack(packs)], f)
	}
	return out
}

// pack is the one of packs whose rule f is, or "".
func (f Finding) pack(packs []Pack) Pack {
	for _, p := range packs {
		if strings.HasPrefix(f.Rule, string(p)+"-") {
			return p
		}
	}
	return ""
}

// ExpectFindings fails t unless findings hold exactly one finding of each
// of pack's rules named (without the pack's prefix: "ELBv2ACMCertificateRequired"),
// and nothing else. It is for the findings a stack leaves to its user on
// purpose, each of which a README should name with the prop that closes it.
func ExpectFindings(t testing.TB, pack Pack, findings []Finding, rules ...string) {
	t.Helper()
	var got, want []string
	for _, f := range findings {
		got = append(got, f.Rule)
	}
	for _, r := range rules {
		want = append(want, string(pack)+"-"+r)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		lines := make([]string, len(findings))
		for i, f := range findings {
			lines[i] = "  " + f.String()
		}
		t.Errorf("%s findings differ:\n got  %v\n want %v\n%s", pack, got, want, strings.Join(lines, "\n"))
	}
}
