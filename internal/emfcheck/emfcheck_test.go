package emfcheck_test

import (
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/internal/emfcheck"
)

const good = `{"_aws":{"Timestamp":1764547200000,"CloudWatchMetrics":[{"Namespace":"AgentCDK","Dimensions":[["Service"]],"Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"Latency","Unit":"Milliseconds"}]}]},"Service":"web","Requests":3,"Latency":{"Values":[10,20],"Counts":[2,1],"Max":20,"Min":10,"Count":3,"Sum":40}}`

func TestCheckAcceptsAValidDocument(t *testing.T) {
	doc, err := emfcheck.Check([]byte(good))
	if err != nil || doc.Timestamp != 1764547200000 || len(doc.Directives[0].Metrics) != 2 {
		t.Fatalf("%+v %v", doc, err)
	}
	// A distribution is outside the specification's forms.
	if doc.Plain {
		t.Fatal("a document with a distribution is Plain")
	}
	plain := strings.Replace(good, `"Latency":{"Values":[10,20],"Counts":[2,1],"Max":20,"Min":10,"Count":3,"Sum":40}`, `"Latency":[10,10,20]`, 1)
	if doc, err := emfcheck.Check([]byte(plain)); err != nil || !doc.Plain {
		t.Fatalf("numbers and arrays: Plain %t, %v", doc.Plain, err)
	}
	// CloudWatch's namespace rule allows spaces
	// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace).
	if _, err := emfcheck.Check([]byte(strings.Replace(good, `"AgentCDK"`, `"Agent CDK/web:1"`, 1))); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRefusesWhatTheSpecificationForbids(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{"no _aws", `"_aws"`, `"aws"`, "no _aws member"},
		{"no timestamp", `"Timestamp":1764547200000,`, ``, "Timestamp is missing"},
		{"bad namespace", `"AgentCDK"`, `"Agent*CDK"`, "Namespace"},
		{"blank namespace", `"AgentCDK"`, `"   "`, "Namespace"},
		{"long namespace", `"AgentCDK"`, `"` + strings.Repeat("n", 256) + `"`, "Namespace"},
		// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html:
		// ASCII only, no control characters, not all whitespace, 1 to 1024.
		{"non-ASCII dimension value", `"Service":"web"`, `"Service":"wéb"`, `dimension "Service"`},
		{"control character in a dimension value", `"Service":"web"`, `"Service":"w\u0000eb"`, `dimension "Service"`},
		{"blank dimension value", `"Service":"web"`, `"Service":"  "`, `dimension "Service"`},
		{"long dimension value", `"Service":"web"`, `"Service":"` + strings.Repeat("w", 1025) + `"`, `dimension "Service"`},
		// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html:
		// a metric name is 1 to 255 characters.
		{"long metric name", `{"Name":"Requests","Unit":"Count"}`, `{"Name":"` + strings.Repeat("R", 256) + `","Unit":"Count"}`, "Name of 1 to 255"},
		{"dimension without member", `"Service":"web",`, ``, `dimension "Service"`},
		{"metric without member", `"Requests":3,`, ``, "metric Requests has no root member"},
		{"bad unit", `"Unit":"Count"`, `"Unit":"Things"`, "not a CloudWatch unit"},
		{"counts mismatch", `"Counts":[2,1]`, `"Counts":[2]`, "2 values and 1 counts"},
		{"count sum", `"Count":3`, `"Count":4`, "counts sum to 3"},
		{"string value", `"Requests":3`, `"Requests":"3"`, "is not a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			line := strings.Replace(good, c.from, c.to, 1)
			if _, err := emfcheck.Check([]byte(line)); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check = %v, want %q", err, c.want)
			}
		})
	}
	t.Run("over CloudWatch Logs' event limit", func(t *testing.T) {
		// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html:
		// each log event can be no larger than 256 KB.
		line := strings.Replace(good, `"Service":"web"`, `"Service":"web","Padding":"`+strings.Repeat("p", emfcheck.MaxEventBytes)+`"`, 1)
		if _, err := emfcheck.Check([]byte(line)); err == nil || !strings.Contains(err.Error(), "over CloudWatch Logs' event limit") {
			t.Fatalf("Check = %v", err)
		}
	})
	t.Run("101 metrics", func(t *testing.T) {
		var defs, members []string
		for i := range 101 {
			n := "m" + strings.Repeat("x", i)
			defs = append(defs, `{"Name":"`+n+`"}`)
			members = append(members, `"`+n+`":1`)
		}
		line := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"A","Dimensions":[[]],"Metrics":[` + strings.Join(defs, ",") + `]}]},` + strings.Join(members, ",") + `}`
		if _, err := emfcheck.Check([]byte(line)); err == nil || !strings.Contains(err.Error(), "101 metrics is over 100") {
			t.Fatalf("Check = %v", err)
		}
	})
}
