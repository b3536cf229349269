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
