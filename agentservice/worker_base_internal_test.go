package agentservice

import (
	"reflect"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
)

// This test is inside the package: base is unexported, and the invariant
// it guards is the package's own. TestMain is in the black-box tests, which
// share this test binary.

// TestWorkerBaseCarriesEverySharedProp holds WorkerProps.base() to its
// contract: every WorkerProps field that Props also has, with the same
// type, reaches the Props the shared helpers read; a field added to both
// and forgotten in base fails here.
func TestWorkerBaseCarriesEverySharedProp(t *testing.T) {
	// GIVEN a WorkerProps with a distinct value in every field it shares
	// with Props
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Base"), nil)
	vpc := awsec2.Vpc_FromVpcAttributes(stack, jsii.String("Vpc"), &awsec2.VpcAttributes{
		VpcId: jsii.String("vpc-1"), AvailabilityZones: &[]*string{jsii.String("us-east-1a")},
	})
	interfaces := map[reflect.Type]any{
		reflect.TypeFor[awsec2.IVpc]():     vpc,
		reflect.TypeFor[awsecs.ICluster](): awsecs.Cluster_FromClusterAttributes(stack, jsii.String("Cluster"), &awsecs.ClusterAttributes{ClusterName: jsii.String("c"), Vpc: vpc}),
		reflect.TypeFor[awskms.IKey]():     awskms.Key_FromKeyArn(stack, jsii.String("Key"), jsii.String("arn:aws:kms:us-east-1:123456789012:key/1")),
		reflect.TypeFor[awscdk.Duration](): awscdk.Duration_Seconds(jsii.Number(17)),
		reflect.TypeFor[awssns.ITopic]():   awssns.Topic_FromTopicArn(stack, jsii.String("Topic"), jsii.String("arn:aws:sns:us-east-1:123456789012:alarms")),
	}
	var w WorkerProps
	wv := reflect.ValueOf(&w).Elem()
	props := reflect.TypeFor[Props]()
	var shared []string
	for i := range wv.NumField() {
		f := wv.Type().Field(i)
		pf, ok := props.FieldByName(f.Name)
		if !ok || pf.Type != f.Type {
			continue
		}
		shared = append(shared, f.Name)
		v := wv.Field(i)
		switch f.Type.Kind() {
		case reflect.Pointer:
			v.Set(reflect.New(f.Type.Elem()))
			if f.Type.Elem().Kind() == reflect.String {
				v.Elem().SetString("x_" + f.Name) // a value base keeps, not a default it fills
			}
		case reflect.Slice:
			v.Set(reflect.MakeSlice(f.Type, 1, 1))
		case reflect.Map:
			m := reflect.MakeMap(f.Type)
			m.SetMapIndex(reflect.New(f.Type.Key()).Elem(), reflect.New(f.Type.Elem()).Elem())
			v.Set(m)
		case reflect.String:
			v.SetString("X_" + f.Name)
		case reflect.Interface:
			value, ok := interfaces[f.Type]
			if !ok {
				t.Fatalf("WorkerProps.%s is a %s: give the test a value of that type", f.Name, f.Type)
			}
			v.Set(reflect.ValueOf(value))
		default:
			t.Fatalf("WorkerProps.%s is a %s: teach the test that kind", f.Name, f.Type.Kind())
		}
	}

	// WHEN base makes the shared Props
	b := reflect.ValueOf(w.base()).Elem()

	// THEN every shared field arrives: the same pointer, slice, string or
	// value (or, for the names base defaults for the worker, the same name)
	for _, name := range shared {
		got, want := b.FieldByName(name), wv.FieldByName(name)
		var same bool
		switch {
		case got.Kind() == reflect.Slice || got.Kind() == reflect.Map:
			same = got.Len() == want.Len() && got.Pointer() == want.Pointer()
		case got.Kind() == reflect.Pointer && got.Type().Elem().Kind() == reflect.String:
			same = !got.IsNil() && got.Elem().String() == want.Elem().String()
		default:
			same = got.Interface() == want.Interface()
		}
		if !same {
			t.Errorf("base() does not carry WorkerProps.%s", name)
		}
	}
	if len(shared) < 25 {
		t.Errorf("only %d shared fields found (%v); the test lost its way", len(shared), shared)
	}
}
