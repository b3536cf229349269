package agentservice

import (
	"fmt"
	"slices"

	elbv2 "github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// jsii enums are Go strings, so any string compiles; these are the members
// of the pinned aws-cdk-go, checked before a stray value reaches jsii.
var (
	retentionDays = []awslogs.RetentionDays{
		awslogs.RetentionDays_ONE_DAY, awslogs.RetentionDays_THREE_DAYS, awslogs.RetentionDays_FIVE_DAYS,
		awslogs.RetentionDays_ONE_WEEK, awslogs.RetentionDays_TWO_WEEKS, awslogs.RetentionDays_ONE_MONTH,
		awslogs.RetentionDays_TWO_MONTHS, awslogs.RetentionDays_THREE_MONTHS, awslogs.RetentionDays_FOUR_MONTHS,
		awslogs.RetentionDays_FIVE_MONTHS, awslogs.RetentionDays_SIX_MONTHS, awslogs.RetentionDays_ONE_YEAR,
		awslogs.RetentionDays_THIRTEEN_MONTHS, awslogs.RetentionDays_EIGHTEEN_MONTHS, awslogs.RetentionDays_TWO_YEARS,
		awslogs.RetentionDays_THREE_YEARS, awslogs.RetentionDays_FIVE_YEARS, awslogs.RetentionDays_SIX_YEARS,
		awslogs.RetentionDays_SEVEN_YEARS, awslogs.RetentionDays_EIGHT_YEARS, awslogs.RetentionDays_NINE_YEARS,
		awslogs.RetentionDays_TEN_YEARS, awslogs.RetentionDays_INFINITE,
	}
	sslPolicies = []elbv2.SslPolicy{
		elbv2.SslPolicy_RECOMMENDED_TLS, elbv2.SslPolicy_TLS13_12_PQ, elbv2.SslPolicy_RECOMMENDED,
		elbv2.SslPolicy_TLS13_RES, elbv2.SslPolicy_TLS13_EXT1, elbv2.SslPolicy_TLS13_EXT2,
		elbv2.SslPolicy_TLS13_10, elbv2.SslPolicy_TLS13_11, elbv2.SslPolicy_TLS13_13, elbv2.SslPolicy_TLS13_13_PQ,
		elbv2.SslPolicy_TLS13_12_RES_PQ, elbv2.SslPolicy_TLS13_12_EXT1_PQ, elbv2.SslPolicy_TLS13_12_EXT2_PQ,
		elbv2.SslPolicy_TLS13_10_PQ, elbv2.SslPolicy_FIPS_TLS13_13, elbv2.SslPolicy_FIPS_TLS13_12_RES,
		elbv2.SslPolicy_FIPS_TLS13_12, elbv2.SslPolicy_FIPS_TLS13_12_EXT0, elbv2.SslPolicy_FIPS_TLS13_12_EXT1,
		elbv2.SslPolicy_FIPS_TLS13_12_EXT2, elbv2.SslPolicy_FIPS_TLS13_11, elbv2.SslPolicy_FIPS_TLS13_10,
		elbv2.SslPolicy_FIPS_TLS13_13_PQ, elbv2.SslPolicy_FIPS_TLS13_12_PQ, elbv2.SslPolicy_FIPS_TLS13_12_RES_PQ,
		elbv2.SslPolicy_FIPS_TLS13_12_EXT0_PQ, elbv2.SslPolicy_FIPS_TLS13_12_EXT1_PQ,
		elbv2.SslPolicy_FIPS_TLS13_12_EXT2_PQ, elbv2.SslPolicy_FIPS_TLS13_10_PQ,
		elbv2.SslPolicy_FORWARD_SECRECY_TLS12_RES_GCM, elbv2.SslPolicy_FORWARD_SECRECY_TLS12_RES,
		elbv2.SslPolicy_FORWARD_SECRECY_TLS12, elbv2.SslPolicy_FORWARD_SECRECY_TLS11, elbv2.SslPolicy_FORWARD_SECRECY,
		elbv2.SslPolicy_TLS12, elbv2.SslPolicy_TLS12_EXT, elbv2.SslPolicy_TLS11, elbv2.SslPolicy_LEGACY,
	}
)

// checkEnum reports a value that is set ("" is the default) and not one of
// members, naming the prop, the Go package of its type and an example.
func checkEnum[E ~string](prop string, v E, members []E, pkg string, example E) error {
	if v == "" || slices.Contains(members, v) {
		return nil
	}
	return fmt.Errorf("agentservice: %s %q is not an %s value; use one of its constants, such as %s (%q)",
		prop, string(v), pkg, pkg+"_"+string(example), string(example))
}
