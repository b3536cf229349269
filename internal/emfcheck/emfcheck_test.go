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
}

func TestCheckRefusesWhatTheSpecificationForbids(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{"no _aws", `"_aws"`, `"aws"`, "no _aws member"},
		{"no timestamp", `"Timestamp":1764547200000,`, ``, "Timestamp is missing"},
		{"bad namespace", `"AgentCDK"`, `"Agent CDK"`, "Namespace"},
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
