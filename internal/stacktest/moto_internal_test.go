package stacktest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestForMotoLeavesOutWhatMotoCannotDeployAndNothingElse(t *testing.T) {
	// GIVEN a template with a CloudFront distribution, an output and a
	// dashboard that refer to it, a prefix-list ingress rule that another
	// resource depends on, a CIDR ingress rule, and a secret a policy names
	var template map[string]any
	if err := json.Unmarshal([]byte(`{
		"Resources": {
			"Dist": {"Type": "AWS::CloudFront::Distribution", "Properties": {}},
			"Keys": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
			"Read": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Resource": {"Ref": "Keys"}}},
			"FromCloudFront": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {"SourcePrefixListId": "pl-1", "FromPort": 80}},
			"FromVpc": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {"CidrIp": "10.0.0.0/16", "FromPort": 80}},
			"Board": {"Type": "AWS::CloudWatch::Dashboard", "DependsOn": ["FromCloudFront", "FromVpc"],
				"Properties": {"DashboardBody": {"Fn::Join": ["", ["a", {"Ref": "Dist"}, {"Ref": "FromVpc"}]]}}}
		},
		"Outputs": {"URL": {"Value": {"Fn::Join": ["", ["https://", {"Fn::GetAtt": ["Dist", "DomainName"]}]]}}}
	}`), &template); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(template)

	// WHEN it is adapted for moto
	got, _ := json.Marshal(forMoto(template))

	// THEN the prefix-list rule is gone, and so is the dependency on it;
	// references to the distribution are strings, and to the secret an
	// ARN moto's IAM accepts; the rest is as it was
	want := `{"Outputs":{"URL":{"Value":{"Fn::Join":["",["https://","moto-lacks:Dist"]]}}},` +
		`"Resources":{"Board":{"DependsOn":["FromVpc"],"Properties":{"DashboardBody":{"Fn::Join":["",["a","moto-lacks:Dist",{"Ref":"FromVpc"}]]}},"Type":"AWS::CloudWatch::Dashboard"},` +
		`"Dist":{"Properties":{},"Type":"AWS::CloudFront::Distribution"},` +
		`"FromVpc":{"Properties":{"CidrIp":"10.0.0.0/16","FromPort":80},"Type":"AWS::EC2::SecurityGroupIngress"},` +
		`"Keys":{"Properties":{},"Type":"AWS::SecretsManager::Secret"},` +
		`"Read":{"Properties":{"Resource":"arn:aws:secretsmanager:::secret:Keys"},"Type":"AWS::IAM::ManagedPolicy"}}}`
	if string(got) != want {
		t.Errorf("forMoto =\n  %s\nwant\n  %s", got, want)
	}
	// AND the template given is untouched
	if after, _ := json.Marshal(template); string(after) != string(before) {
		t.Errorf("forMoto changed its input:\n  %s\nwas\n  %s", after, before)
	}

	// GIVEN a template with nothing to adapt WHEN adapted THEN it is the same map
	plain := map[string]any{"Resources": map[string]any{"FromVpc": map[string]any{"Type": "AWS::EC2::SecurityGroupIngress"}}}
	if adapted := forMoto(plain); adapted["Resources"].(map[string]any)["FromVpc"] == nil || len(adapted) != 1 {
		t.Errorf("forMoto(plain) = %v", adapted)
	}
}

func TestAdaptForMotoRewritesTheFile(t *testing.T) {
	// GIVEN a template file whose output refers to a distribution
	path := filepath.Join(t.TempDir(), "Stack.template.json")
	if err := os.WriteFile(path, []byte(`{"Resources": {"Dist": {"Type": "AWS::CloudFront::Distribution"}},
		"Outputs": {"URL": {"Value": {"Fn::GetAtt": ["Dist", "DomainName"]}}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// WHEN it is adapted in place
	if err := AdaptForMoto(path); err != nil {
		t.Fatal(err)
	}
	// THEN the file holds what forMoto makes of it
	b, _ := os.ReadFile(path)
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if v := got["Outputs"].(map[string]any)["URL"].(map[string]any)["Value"]; v != "moto-lacks:Dist" {
		t.Errorf("the output's value is %v, want moto-lacks:Dist", v)
	}
	// AND a file that is not a template is refused, naming it
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("not json"), 0o644)
	if err := AdaptForMoto(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("AdaptForMoto(not JSON) = %v, want an error naming the file", err)
	}
}
