package agentservice_test

import (
	"reflect"
	"testing"

	"github.com/agentcdk/agentcdk/agentservice/internal/astest"
	"github.com/aws/jsii-runtime-go"
)

// ECS reads a SecureString parameter with the execution role, which then
// needs kms:Decrypt on the parameter's customer key; the key's statement
// is confined to Parameter Store by kms:ViaService
// (https://docs.aws.amazon.com/systems-manager/latest/userguide/secure-string-parameter-kms-encryption.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service).
func TestParameterKeyOpensToTheExecutionRoleOnly(t *testing.T) {
	// GIVEN a service whose API key parameter is under a parameter key
	// (secrets.NewParameterKey; docs/secrets.md)
	s := astest.BlueGreenOwnChoices.Synth(t)
	ref := func(v any) any { return s.Stack.Resolve(v) }
	// THEN the key's policy lets the service's execution role decrypt,
	// through Parameter Store, and names no other role
	var decrypters []any
	for _, k := range *s.Template.FindResources(jsii.String("AWS::KMS::Key"), nil) {
		policy, _ := (*k)["Properties"].(map[string]any)["KeyPolicy"].(map[string]any)
		for _, st := range policy["Statement"].([]any) {
			m := st.(map[string]any)
			if m["Action"] == "kms:Decrypt" {
				decrypters = append(decrypters, m["Principal"].(map[string]any)["AWS"])
			}
		}
	}
	want := ref(s.Web.TaskDefinition.ExecutionRole().RoleArn())
	if len(decrypters) != 1 || !reflect.DeepEqual(decrypters[0], want) {
		t.Errorf("the key lets %v decrypt, want only the execution role %v", decrypters, want)
	}
}
