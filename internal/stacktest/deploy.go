package stacktest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/agentcdk/agentcdk/internal/mototest"
)

// The default synthesizer's bootstrap names (qualifier "hnb659fds"), the
// things a template and its assets expect an environment to have.
const (
	BootstrapVersionParameter = "/cdk-bootstrap/hnb659fds/version"
	// BootstrapVersion is what the parameter holds here: the version of
	// the bootstrap template of the CDK CLI 2.1xx releases. A template
	// requires at least the version in its manifest (6 for aws-cdk-lib
	// 2.276.0), checked by its CheckBootstrapVersion rule.
	BootstrapVersion   = "30"
	assetsBucketFormat = "cdk-hnb659fds-assets-%s-%s"
)

// stackTimeout bounds each wait for a stack operation. moto applies a
// template within the API call; the wait only covers custom resources.
const stackTimeout = 60 * time.Second

// Deployment is a stack deployed to a moto_server's CloudFormation.
type Deployment struct {
	// Config reaches the emulator; build any SDK client from it.
	Config aws.Config
	// StackName and StackID name the CloudFormation stack.
	StackName, StackID string
	// Template is the template last deployed.
	Template map[string]any
	// PhysicalIDs maps each resource's logical id to its physical id, for
	// the resources moto made and those applyUnsupported applied.
	PhysicalIDs map[string]string
	// Outputs are the stack's outputs by key.
	Outputs map[string]string
	// Skipped lists "Type LogicalID" for each resource that moto's
	// CloudFormation does not implement and the harness did not apply
	// either: the stack completes without them.
	Skipped []string

	endpoint, account string
}

// Deploy deploys the template at templatePath (from Synth) as stackName to
// the moto_server at endpoint (from mototest.Start), the way `cdk deploy`
// would: it puts the bootstrap resources in place (the version parameter
// and the assets bucket), publishes the stack's file assets (from the
// .assets.json beside the template), uploads the template, creates the
// stack and waits for CREATE_COMPLETE. Container image assets are not
// built: there is no Docker engine, and moto's ECS never pulls images.
//
// Two things moto cannot do are adapted, in answerCustomResources and
// applyUnsupported; see there. The test fails when the stack does not
// complete. Several stacks, under different names, may be deployed to one
// emulator, which saves its start (seconds of Python) per stack.
func Deploy(t testing.TB, endpoint, stackName, templatePath string) *Deployment {
	t.Helper()
	d, err := DeployContext(context.Background(), endpoint, stackName, templatePath)
	if err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	return d
}

// DeployContext is Deploy for code with no testing.TB at hand (a goroutine
// that deploys while the test's package goes on): it returns the error
// Deploy would fail the test with.
func DeployContext(ctx context.Context, endpoint, stackName, templatePath string) (*Deployment, error) {
	template, err := readJSON(templatePath)
	if err != nil {
		return nil, err
	}
	d := &Deployment{Config: mototest.Config(endpoint), StackName: stackName, Template: template, endpoint: endpoint}
	if err := d.bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("bootstrap the emulator: %w", err)
	}
	if err := d.publishAssets(strings.TrimSuffix(templatePath, ".template.json") + ".assets.json"); err != nil {
		return nil, fmt.Errorf("publish assets: %w", err)
	}
	url, err := d.uploadTemplate(template)
	if err != nil {
		return nil, err
	}
	out, err := cloudformation.NewFromConfig(d.Config).CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName:    aws.String(stackName),
		TemplateURL:  aws.String(url),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam, cfntypes.CapabilityCapabilityAutoExpand},
	})
	if err != nil {
		return nil, fmt.Errorf("create stack %s: %w", stackName, err)
	}
	d.StackID = aws.ToString(out.StackId)
	if err := d.answerCustomResources(ctx); err != nil {
		return nil, fmt.Errorf("create stack %s: %w", stackName, err)
	}
	if err := d.settle(ctx, "CREATE_COMPLETE"); err != nil {
		return nil, fmt.Errorf("create stack %s: %w", stackName, err)
	}
	return d, nil
}

// Update deploys template as a new version of the stack and waits for
// UPDATE_COMPLETE. Use NewRevision for a template that makes a new task
// definition revision.
func (d *Deployment) Update(t testing.TB, template map[string]any) {
	t.Helper()
	if err := d.UpdateContext(context.Background(), template); err != nil {
		t.Fatalf("stacktest: %v", err)
	}
}

// UpdateContext is Update returning its error, as DeployContext is Deploy.
func (d *Deployment) UpdateContext(ctx context.Context, template map[string]any) error {
	url, err := d.uploadTemplate(template)
	if err != nil {
		return err
	}
	d.Template = template
	if _, err := cloudformation.NewFromConfig(d.Config).UpdateStack(ctx, &cloudformation.UpdateStackInput{
		StackName:    aws.String(d.StackName),
		TemplateURL:  aws.String(url),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam, cfntypes.CapabilityCapabilityAutoExpand},
	}); err != nil {
		return fmt.Errorf("update stack %s: %w", d.StackName, err)
	}
	if err := d.settle(ctx, "UPDATE_COMPLETE"); err != nil {
		return fmt.Errorf("update stack %s: %w", d.StackName, err)
	}
	return nil
}

// NewRevision returns a deep copy of template in which every container of
// every ECS task definition has one more environment variable,
// STACKTEST_REVISION=revision: a change that makes CloudFormation register
// a new task definition revision and roll the service onto it, as a new
// image or setting would.
func NewRevision(template map[string]any, revision int) map[string]any {
	raw, err := json.Marshal(template)
	if err != nil {
		panic(fmt.Sprintf("stacktest: template is not JSON: %v", err))
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("stacktest: template is not JSON: %v", err))
	}
	resources, _ := out["Resources"].(map[string]any)
	for _, r := range resources {
		res, _ := r.(map[string]any)
		if res["Type"] != "AWS::ECS::TaskDefinition" {
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		containers, _ := props["ContainerDefinitions"].([]any)
		for _, c := range containers {
			def, _ := c.(map[string]any)
			env, _ := def["Environment"].([]any)
			def["Environment"] = append(env, map[string]any{"Name": "STACKTEST_REVISION", "Value": fmt.Sprint(revision)})
		}
	}
	return out
}

// settle waits for the stack to reach want, refreshes the physical ids and
// outputs, and applies what moto's CloudFormation skips.
func (d *Deployment) settle(ctx context.Context, want string) error {
	if err := d.wait(ctx, want); err != nil {
		return err
	}
	if err := d.refresh(ctx); err != nil {
		return err
	}
	return d.applyUnsupported(ctx)
}

// bootstrap makes what `cdk bootstrap` would have made that the stack
// reads: the version parameter its BootstrapVersion parameter resolves and
// the bucket its file assets live in.
func (d *Deployment) bootstrap(ctx context.Context) error {
	id, err := sts.NewFromConfig(d.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("get the account: %w", err)
	}
	d.account = aws.ToString(id.Account)
	if _, err := ssm.NewFromConfig(d.Config).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(BootstrapVersionParameter), Value: aws.String(BootstrapVersion),
		Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true),
	}); err != nil {
		return fmt.Errorf("put %s: %w", BootstrapVersionParameter, err)
	}
	return d.s3Put(d.bucket(), "", nil)
}

func (d *Deployment) bucket() string {
	return fmt.Sprintf(assetsBucketFormat, d.account, d.Config.Region)
}

// publishAssets uploads the file assets of an asset manifest to the assets
// bucket, zipping directories as cdk-assets does. Stacks without assets
// have no manifest.
func (d *Deployment) publishAssets(manifestPath string) error {
	raw, err := os.ReadFile(manifestPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the asset manifest: %w", err)
	}
	var m struct {
		Files map[string]struct {
			Source struct {
				Path      string `json:"path"`
				Packaging string `json:"packaging"`
			} `json:"source"`
			Destinations map[string]struct {
				ObjectKey string `json:"objectKey"`
			} `json:"destinations"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("parse %s: %w", manifestPath, err)
	}
	dir := filepath.Dir(manifestPath)
	for _, id := range slices.Sorted(maps.Keys(m.Files)) {
		f := m.Files[id]
		src := filepath.Join(dir, f.Source.Path)
		var body []byte
		switch f.Source.Packaging {
		case "zip":
			body, err = zipDir(src)
		case "file", "":
			body, err = os.ReadFile(src)
		default:
			err = fmt.Errorf("packaging %q is not supported", f.Source.Packaging)
		}
		if err != nil {
			return fmt.Errorf("asset %s: %w", id, err)
		}
		for _, dest := range f.Destinations {
			if err := d.s3Put(d.bucket(), dest.ObjectKey, body); err != nil {
				return fmt.Errorf("asset %s: %w", id, err)
			}
		}
	}
	return nil
}

// uploadTemplate puts template in the assets bucket and returns its URL:
// `cdk deploy` passes templates by URL too, which lifts CreateStack's
// 51,200-byte limit on a template body.
func (d *Deployment) uploadTemplate(template map[string]any) (string, error) {
	body, err := json.Marshal(forMoto(template))
	if err != nil {
		return "", fmt.Errorf("encode the template: %w", err)
	}
	sum := sha256.Sum256(body)
	key := "stacktest/" + d.StackName + "/" + hex.EncodeToString(sum[:]) + ".json"
	if err := d.s3Put(d.bucket(), key, body); err != nil {
		return "", fmt.Errorf("upload the template: %w", err)
	}
	// moto resolves a TemplateURL on an s3*.amazonaws.com host in its own S3.
	return "https://s3." + d.Config.Region + ".amazonaws.com/" + d.bucket() + "/" + key, nil
}

// s3Put creates bucket (key "") or puts an object with a path-style
// request, signed as the SDK would sign it; this keeps the S3 SDK out of
// the module for one bucket and a few objects. The signature matters: moto
// takes an unsigned request for an anonymous one, and refuses it to
// overwrite an object, which a second stack deployed to the same emulator
// does with the assets the two share.
func (d *Deployment) s3Put(bucket, key string, body []byte) error {
	ctx := context.Background()
	url := d.endpoint + "/" + bucket
	if key != "" {
		url += "/" + key
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("put %s: %w", url, err)
	}
	creds, err := d.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("put %s: credentials: %w", url, err)
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payload)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, payload, "s3", d.Config.Region, time.Now()); err != nil {
		return fmt.Errorf("put %s: sign: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("put %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("put %s: %s", url, resp.Status)
	}
	return nil
}

// wait polls the stack until it reaches want, fails, or stackTimeout passes.
func (d *Deployment) wait(ctx context.Context, want string) error {
	client := cloudformation.NewFromConfig(d.Config)
	deadline := time.Now().Add(stackTimeout)
	for {
		out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(d.StackID)})
		if err != nil {
			return fmt.Errorf("describe stack: %w", err)
		}
		status := string(out.Stacks[0].StackStatus)
		switch {
		case status == want:
			return nil
		case strings.HasSuffix(status, "_FAILED") || strings.Contains(status, "ROLLBACK"):
			return fmt.Errorf("stack is %s: %s%s", status, aws.ToString(out.Stacks[0].StackStatusReason), d.failedEvents(ctx))
		case time.Now().After(deadline):
			return fmt.Errorf("stack still %s after %s, want %s", status, stackTimeout, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *Deployment) failedEvents(ctx context.Context) string {
	out, err := cloudformation.NewFromConfig(d.Config).DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(d.StackID)})
	if err != nil {
		return ""
	}
	var lines []string
	for _, e := range out.StackEvents {
		if strings.HasSuffix(string(e.ResourceStatus), "_FAILED") {
			lines = append(lines, fmt.Sprintf("\n  %s %s: %s", aws.ToString(e.LogicalResourceId), e.ResourceStatus, aws.ToString(e.ResourceStatusReason)))
		}
	}
	return strings.Join(lines, "")
}

// refresh reads the stack's physical ids and outputs.
func (d *Deployment) refresh(ctx context.Context) error {
	client := cloudformation.NewFromConfig(d.Config)
	res, err := client.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(d.StackID)})
	if err != nil {
		return fmt.Errorf("describe stack resources: %w", err)
	}
	d.PhysicalIDs = map[string]string{}
	for _, r := range res.StackResources {
		// moto lists the resources it skipped without a logical id.
		if id := aws.ToString(r.LogicalResourceId); id != "" {
			d.PhysicalIDs[id] = aws.ToString(r.PhysicalResourceId)
		}
	}
	out, err := client.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(d.StackID)})
	if err != nil {
		return fmt.Errorf("describe stack: %w", err)
	}
	d.Outputs = map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		d.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return nil
}

// resources returns the logical ids of the deployed template's resources
// of type typ, sorted.
func (d *Deployment) resources(typ string) []string {
	var ids []string
	all, _ := d.Template["Resources"].(map[string]any)
	for id, r := range all {
		if res, ok := r.(map[string]any); ok && res["Type"] == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// Services describes the ECS services of the stack.
func (d *Deployment) Services(t testing.TB) []ecstypes.Service {
	t.Helper()
	client := ecs.NewFromConfig(d.Config)
	var out []ecstypes.Service
	for _, id := range d.resources("AWS::ECS::Service") {
		arn := d.PhysicalIDs[id]
		// arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME
		parts := strings.Split(arn, "/")
		if len(parts) != 3 {
			t.Fatalf("stacktest: service %s has physical id %q, want a service ARN with its cluster", id, arn)
		}
		res, err := client.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(parts[1]), Services: []string{arn}})
		if err != nil {
			t.Fatalf("stacktest: describe service %s: %v", id, err)
		}
		if len(res.Services) != 1 {
			t.Fatalf("stacktest: describe service %s: %d services, failures %v", id, len(res.Services), res.Failures)
		}
		out = append(out, res.Services[0])
	}
	return out
}

// TaskDefinition describes the task definition with arn.
func (d *Deployment) TaskDefinition(t testing.TB, arn string) *ecstypes.TaskDefinition {
	t.Helper()
	out, err := ecs.NewFromConfig(d.Config).DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		t.Fatalf("stacktest: describe task definition %s: %v", arn, err)
	}
	return out.TaskDefinition
}

// TargetGroups describes the load balancer target groups of the stack.
func (d *Deployment) TargetGroups(t testing.TB) []elbv2types.TargetGroup {
	t.Helper()
	var arns []string
	for _, id := range d.resources("AWS::ElasticLoadBalancingV2::TargetGroup") {
		arns = append(arns, d.PhysicalIDs[id])
	}
	if len(arns) == 0 {
		return nil
	}
	out, err := elbv2.NewFromConfig(d.Config).DescribeTargetGroups(context.Background(), &elbv2.DescribeTargetGroupsInput{TargetGroupArns: arns})
	if err != nil {
		t.Fatalf("stacktest: describe target groups: %v", err)
	}
	return out.TargetGroups
}

// ScalableTargets describes the ECS scalable targets of the stack.
func (d *Deployment) ScalableTargets(t testing.TB) []aastypes.ScalableTarget {
	t.Helper()
	out, err := applicationautoscaling.NewFromConfig(d.Config).DescribeScalableTargets(context.Background(),
		&applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: d.scalingResourceIDs()})
	if err != nil {
		t.Fatalf("stacktest: describe scalable targets: %v", err)
	}
	return out.ScalableTargets
}

// ScalingPolicies describes the ECS scaling policies of the stack.
func (d *Deployment) ScalingPolicies(t testing.TB) []aastypes.ScalingPolicy {
	t.Helper()
	client := applicationautoscaling.NewFromConfig(d.Config)
	var out []aastypes.ScalingPolicy
	for _, rid := range d.scalingResourceIDs() {
		res, err := client.DescribeScalingPolicies(context.Background(),
			&applicationautoscaling.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid)})
		if err != nil {
			t.Fatalf("stacktest: describe scaling policies of %s: %v", rid, err)
		}
		out = append(out, res.ScalingPolicies...)
	}
	return out
}

// scalingResourceIDs are the resource ids of the stack's scalable targets,
// read back from their physical ids (RESOURCE|DIMENSION|NAMESPACE).
func (d *Deployment) scalingResourceIDs() []string {
	var ids []string
	for _, id := range d.resources("AWS::ApplicationAutoScaling::ScalableTarget") {
		if rid, _, ok := strings.Cut(d.PhysicalIDs[id], "|"); ok {
			ids = append(ids, rid)
		}
	}
	return ids
}
