// Package token recognises unresolved AWS CDK tokens in plain Go values,
// without a call into jsii, so that validation can skip them.
//
// A token is a placeholder for a value that is only known at deploy time (a
// resource attribute, a CloudFormation parameter). The CDK encodes tokens
// into native types; the encodings below are those of aws-cdk-lib's
// core/lib/private/encoding.ts (checked against aws-cdk-lib 2.276.0):
//
//   - strings hold "${Token[NAME.123]}" somewhere inside them;
//   - a string list token is a one-element list holding "#{Token[NAME.123]}";
//   - numbers are IEEE-754 doubles whose top 16 bits are 0xFBFF (the
//     DOUBLE_TOKEN_MARKER_BITS), that is values around -1.888e+289, and a
//     number token written into a string appears as "-1.<10 to 16
//     digits>e+289".
package token

import (
	"math"
	"regexp"
)

// doubleMarker is the top 16 bits of every CDK number token
// (DOUBLE_TOKEN_MARKER_BITS -67174400 is 0xFBFF0000 as a uint32).
const doubleMarker = 0xFBFF

// keyChars are the characters the CDK allows in a token key (VALID_KEY_CHARS).
const keyChars = `[a-zA-Z0-9:._-]+`

var stringToken = regexp.MustCompile(`\$\{Token\[` + keyChars + `\]\}|#\{Token\[` + keyChars + `\]\}|-1\.\d{10,16}e\+289`)

// IsString reports whether s holds an unresolved CDK token: a string token,
// a list-token element, or a number token written into a string. A nil s is
// not a token.
func IsString(s *string) bool {
	return s != nil && stringToken.MatchString(*s)
}

// IsNumber reports whether f is a CDK-encoded number token. A nil f is not a
// token.
func IsNumber(f *float64) bool {
	return f != nil && math.Float64bits(*f)>>48 == doubleMarker
}
