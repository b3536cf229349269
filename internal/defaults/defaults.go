// Package defaults is the one place the CDK packages apply a prop's default
// to an unset (nil) value, so that the rule "nil means the documented
// default" reads the same everywhere.
package defaults

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Or returns *v, or def when v is nil.
func Or[T any](v *T, def T) T {
	if v == nil {
		return def
	}
	return *v
}

// Ptr returns v, or a pointer to def when v is nil: for props passed on to
// the CDK, whose own structs take pointers.
func Ptr[T any](v *T, def T) *T {
	if v == nil {
		return &def
	}
	return v
}

// Duration returns d, or def as a whole-second awscdk.Duration when d is
// nil.
func Duration(d awscdk.Duration, def time.Duration) awscdk.Duration {
	if d != nil {
		return d
	}
	return awscdk.Duration_Seconds(jsii.Number(def.Seconds()))
}
