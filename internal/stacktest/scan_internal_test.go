package stacktest

import (
	"slices"
	"testing"
)

// TestFindingsGoToTheirPack holds the split ScanPacks makes; it is inside
// the package because ScanPacks needs a synthesis to produce findings,
// and the split itself needs none.
func TestFindingsGoToTheirPack(t *testing.T) {
	// GIVEN findings of three packs, a rule that could not run and a
	// warning of the CDK's own
	findings := []Finding{
		{Rule: "AwsSolutions-IAM5"}, {Rule: "NIST.800.53.R5-IAMNoInlinePolicy"}, {Rule: "HIPAA.Security-ELBDeletionProtectionEnabled"},
		{Rule: "CdkNagValidationFailure"}, {Message: "a CDK warning"}, {Rule: "PCI.DSS.321-ELBv2ACMCertificateRequired"},
	}

	// WHEN each is given its pack among all the packs
	var got []Pack
	for _, f := range findings {
		got = append(got, f.pack(Packs))
	}

	// THEN the rule's prefix decides, and the rest belong to none
	want := []Pack{AwsSolutions, NIST80053R5, HIPAA, "", "", PCIDSS321}
	if !slices.Equal(got, want) {
		t.Errorf("packs = %q, want %q", got, want)
	}
	// AND a pack not scanned claims nothing
	if p := findings[0].pack([]Pack{HIPAA}); p != "" {
		t.Errorf("AwsSolutions-IAM5 among HIPAA only = %q, want none", p)
	}
}
