package token_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/agentcdk/agentcdk/internal/token"
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

func TestIsStringRecognisesRealCDKTokens(t *testing.T) {
	// GIVEN tokens made by aws-cdk-lib itself
	num := awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())
	cases := map[string]*string{
		"string token":          awscdk.Aws_ACCOUNT_ID(),
		"token inside a string": jsii.String("/agents/" + *awscdk.Aws_STACK_NAME() + "/KEY"),
		"list token element":    (*awscdk.Token_AsList(awscdk.Aws_NOTIFICATION_ARNS(), nil))[0],
		"stringified number":    jsii.String(fmt.Sprint(*num)),
	}
	for name, s := range cases {
		// WHEN IsString looks at it THEN it is a token
		if !token.IsString(s) {
			t.Errorf("%s: IsString(%q) = false, want true", name, *s)
		}
	}
}

func TestIsStringRejectsPlainStrings(t *testing.T) {
	// GIVEN strings that are not tokens
	for _, s := range []string{"", "/health", "${Token[", "Token[X.1]", "${Token[a b]}", "-1.5e+289", "1.8881545897087626e+289"} {
		// WHEN IsString looks at it THEN it is not a token
		if token.IsString(&s) {
			t.Errorf("IsString(%q) = true, want false", s)
		}
	}
	if token.IsString(nil) {
		t.Error("IsString(nil) = true, want false")
	}
}

func TestIsNumberRecognisesRealCDKTokens(t *testing.T) {
	// GIVEN a number token made by aws-cdk-lib
	num := awscdk.Token_AsNumber(awscdk.Aws_ACCOUNT_ID())
	// WHEN IsNumber looks at it THEN it is a token, and plain numbers are not
	if !token.IsNumber(num) {
		t.Fatalf("IsNumber(%v) = false, want true", *num)
	}
	for _, f := range []float64{0, 1, 70, -1, math.MaxFloat64, -math.MaxFloat64, math.Inf(-1), math.NaN(), -1.8e289} {
		if token.IsNumber(&f) {
			t.Errorf("IsNumber(%v) = true, want false", f)
		}
	}
	if token.IsNumber(nil) {
		t.Error("IsNumber(nil) = true, want false")
	}
}

// encode is aws-cdk-lib's createTokenDouble, transcribed: the low 32 bits
// of x, then its next 16 bits OR-ed with the marker 0xFBFF0000, as two
// little-endian uint32s of a float64.
func encode(x uint64) float64 {
	var buf [8]byte
	binary.LittleEndian.PutUint32(buf[0:], uint32(x&0xFFFFFFFF))
	binary.LittleEndian.PutUint32(buf[4:], uint32((x>>32)&0xFFFF)|0xFBFF0000)
	return math.Float64frombits(binary.LittleEndian.Uint64(buf[:]))
}

func FuzzIsNumber(f *testing.F) {
	f.Add(uint64(0), 1.0)
	f.Add(uint64(1<<48-1), 70.0)
	f.Add(uint64(12345), -1.8881545897087626e+289)
	f.Fuzz(func(t *testing.T, x uint64, plain float64) {
		// GIVEN a token double as the CDK encodes it
		enc := encode(x % (1 << 48))
		// THEN IsNumber knows it, and IsString knows it written into a string
		if !token.IsNumber(&enc) {
			t.Fatalf("IsNumber(encode(%d) = %v) = false", x, enc)
		}
		if s := fmt.Sprint(enc); !token.IsString(&s) && len(s) >= len("-1.0123456789e+289") {
			t.Fatalf("IsString(%q) = false", s)
		}
		// AND any double outside the marker range is not a token
		if math.Float64bits(plain)>>48 != 0xFBFF && token.IsNumber(&plain) {
			t.Fatalf("IsNumber(%v) = true", plain)
		}
		s := fmt.Sprint(plain)
		_ = token.IsString(&s)
	})
}
