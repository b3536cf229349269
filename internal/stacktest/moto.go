package stacktest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/smithy-go"
)

// This file holds everything the harness does because the emulator is
// moto and not AWS. Measured with moto 5.2.1:
//
//   - moto runs Lambda functions only in Docker, and there is no Docker
//     engine here, so a custom resource's handler never answers and the
//     stack would stay CREATE_IN_PROGRESS for ever: answerCustomResources
//     answers in the handler's place.
//   - moto's CloudFormation does not implement some resource types: it
//     logs "No Moto CloudFormation support for TYPE", creates nothing and
//     completes the stack without them. The stacks here hit
//     AWS::ApplicationAutoScaling::ScalableTarget and ::ScalingPolicy,
//     AWS::CloudWatch::Alarm, AWS::EC2::SecurityGroupEgress and
//     AWS::S3::BucketPolicy. applyUnsupported applies the autoscaling ones
//     through the Application Auto Scaling API (which moto implements, and
//     which checks the values), so the scaling the template declares can be
//     read back; the others are listed in Deployment.Skipped.
//   - moto's CloudFormation cannot delete AWS::EC2::NatGateway,
//     ::InternetGateway, ::RouteTable, ::Route or AWS::IAM::ManagedPolicy
//     (their models have no delete), so it cannot delete the VPC or the
//     roles those policies are attached to either. DeleteStack deletes
//     everything else, forgets the stack, and answers with the last of
//     those refusals (a DependencyViolation on the VPC, or a DeleteConflict
//     on a role): motoCouldNotDelete recognises them, and Delete goes on as
//     CloudFormation on AWS would have finished. What moto keeps has a
//     generated name, so it cannot collide with a later deployment.
//   - moto's CloudFormation implements no CloudFront resource type and no
//     AWS::SecretsManager::Secret (moto's Secrets Manager API has secrets;
//     its CloudFormation does not make them), and a
//     Ref or Fn::GetAtt of a resource it did not make fails the stack's
//     outputs (DescribeStacks answers 500, "Fn::GetAtt references undefined
//     resource"); and it fails an AWS::EC2::SecurityGroupIngress whose
//     source is a prefix list (an AssertionError: HTTP 500 to CreateStack,
//     which the SDK retries into AlreadyExistsException). forMoto adapts
//     the copy of the template moto gets, and only that: such ingress rules
//     are left out, and such references become the string
//     "moto-lacks:<LogicalID>" (a secret's, the ARN
//     "arn:aws:secretsmanager:::secret:<LogicalID>", which moto's IAM
//     accepts in a policy). Both land in Deployment.Skipped; the
//     template tests and cfn-lint read the template as synthesized.
//
// Otherwise the templates are deployed unchanged.

// motoLacks are the resource types moto's CloudFormation does not make and
// that other resources or outputs of our templates refer to.
var motoLacks = []string{"AWS::CloudFront::Distribution", "AWS::CloudFront::Function", "AWS::CloudFront::VpcOrigin", "AWS::SecretsManager::Secret"}

// forMoto returns the template moto can deploy (see the top of this file):
// template itself when nothing needs adapting, a copy otherwise.
func forMoto(template map[string]any) map[string]any {
	resources, _ := template["Resources"].(map[string]any)
	lacking := map[string]string{} // logical ID -> the stub its references become
	drop := map[string]bool{}
	for id, r := range resources {
		res, _ := r.(map[string]any)
		typ, _ := res["Type"].(string)
		props, _ := res["Properties"].(map[string]any)
		switch {
		case slices.Contains(motoLacks, typ):
			lacking[id] = stubFor(typ, id)
		case typ == "AWS::EC2::SecurityGroupIngress" && props["SourcePrefixListId"] != nil:
			drop[id] = true
		}
	}
	if len(lacking) == 0 && len(drop) == 0 {
		return template
	}
	out := maps.Clone(template)
	kept := map[string]any{}
	for id, r := range resources {
		if drop[id] {
			continue
		}
		res, _ := stubReferences(r, lacking).(map[string]any)
		if deps, ok := res["DependsOn"].([]any); ok {
			res["DependsOn"] = slices.DeleteFunc(deps, func(d any) bool { s, _ := d.(string); return drop[s] })
		}
		kept[id] = res
	}
	out["Resources"] = kept
	if outputs, ok := template["Outputs"]; ok {
		out["Outputs"] = stubReferences(outputs, lacking)
	}
	return out
}

// stubFor is what a reference to the resource id of type typ becomes:
// "moto-lacks:<LogicalID>", or, for a secret, whose ARN an IAM policy names
// and moto's IAM parses, a short ARN ending in the logical ID (short: a
// listener rule's header condition holds it in a dynamic reference, within
// 128 characters).
func stubFor(typ, id string) string {
	if typ == "AWS::SecretsManager::Secret" {
		return "arn:aws:secretsmanager:::secret:" + id
	}
	return "moto-lacks:" + id
}

// stubReferences returns v with every Ref and Fn::GetAtt of a resource in
// lacking replaced by its stub.
func stubReferences(v any, lacking map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			if id, ok := v["Ref"].(string); ok && lacking[id] != "" {
				return lacking[id]
			}
			if att, ok := v["Fn::GetAtt"].([]any); ok && len(att) > 0 {
				if id, _ := att[0].(string); lacking[id] != "" {
					return lacking[id]
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = stubReferences(e, lacking)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = stubReferences(e, lacking)
		}
		return out
	default:
		return v
	}
}

// answerCustomResources reports SUCCESS, with no data, for every custom
// resource of the template, to the response URL moto gave its handler
// (POST /cloudformation_REGION/cfnresponse?stack=ID), as the handler would
// after doing its work. The work itself (here, the CDK's handler that
// empties the VPC's default security group) is not done: that is AWS's
// code, not the template's. moto creates the stack's resources within
// CreateStack, so all the requests are out when this runs.
func (d *Deployment) answerCustomResources(ctx context.Context) error {
	resources, _ := d.Template["Resources"].(map[string]any)
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res, _ := resources[id].(map[string]any)
		typ, _ := res["Type"].(string)
		if !strings.HasPrefix(typ, "Custom::") && typ != "AWS::CloudFormation::CustomResource" {
			continue
		}
		body, _ := json.Marshal(map[string]any{
			"Status": "SUCCESS", "StackId": d.StackID, "LogicalResourceId": id,
			"PhysicalResourceId": id, "RequestId": id, "Data": map[string]any{},
		})
		u := d.endpoint + "/cloudformation_" + d.Config.Region + "/cfnresponse?stack=" + url.QueryEscape(d.StackID)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("answer custom resource %s: %w", id, err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("answer custom resource %s: %w", id, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("answer custom resource %s: %s", id, resp.Status)
		}
	}
	return nil
}

// applyUnsupported applies the template's autoscaling resources, which
// moto's CloudFormation skips, through the Application Auto Scaling API,
// resolving their intrinsic functions against the deployed stack, and
// lists the other skipped resources in d.Skipped. Applying again (after an
// update) updates them in place, as CloudFormation would.
func (d *Deployment) applyUnsupported(ctx context.Context) error {
	resources, _ := d.Template["Resources"].(map[string]any)
	d.Skipped = nil
	var targets, policies []string
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		if _, made := d.PhysicalIDs[id]; made {
			continue
		}
		res, _ := resources[id].(map[string]any)
		switch typ, _ := res["Type"].(string); typ {
		case "AWS::ApplicationAutoScaling::ScalableTarget":
			targets = append(targets, id)
		case "AWS::ApplicationAutoScaling::ScalingPolicy":
			policies = append(policies, id)
		default:
			d.Skipped = append(d.Skipped, typ+" "+id)
		}
	}
	client := applicationautoscaling.NewFromConfig(d.Config)
	for _, id := range targets {
		if err := d.registerScalableTarget(ctx, client, id); err != nil {
			return err
		}
	}
	for _, id := range policies {
		if err := d.putScalingPolicy(ctx, client, id); err != nil {
			return err
		}
	}
	return nil
}

func (d *Deployment) properties(id string) (map[string]any, error) {
	resources, _ := d.Template["Resources"].(map[string]any)
	res, _ := resources[id].(map[string]any)
	resolved, err := d.resolve(res["Properties"])
	if err != nil {
		return nil, fmt.Errorf("resource %s: %w", id, err)
	}
	props, _ := resolved.(map[string]any)
	return props, nil
}

func (d *Deployment) registerScalableTarget(ctx context.Context, client *applicationautoscaling.Client, id string) error {
	p, err := d.properties(id)
	if err != nil {
		return err
	}
	in := &applicationautoscaling.RegisterScalableTargetInput{
		ServiceNamespace:  aastypes.ServiceNamespace(str(p["ServiceNamespace"])),
		ResourceId:        aws.String(str(p["ResourceId"])),
		ScalableDimension: aastypes.ScalableDimension(str(p["ScalableDimension"])),
		MinCapacity:       int32Of(p["MinCapacity"]),
		MaxCapacity:       int32Of(p["MaxCapacity"]),
	}
	if role := str(p["RoleARN"]); role != "" {
		in.RoleARN = aws.String(role)
	}
	if _, err := client.RegisterScalableTarget(ctx, in); err != nil {
		return fmt.Errorf("register scalable target %s: %w", id, err)
	}
	// CloudFormation's own physical id for a scalable target.
	d.PhysicalIDs[id] = aws.ToString(in.ResourceId) + "|" + string(in.ScalableDimension) + "|" + string(in.ServiceNamespace)
	return nil
}

func (d *Deployment) putScalingPolicy(ctx context.Context, client *applicationautoscaling.Client, id string) error {
	p, err := d.properties(id)
	if err != nil {
		return err
	}
	in := &applicationautoscaling.PutScalingPolicyInput{
		PolicyName: aws.String(str(p["PolicyName"])),
		PolicyType: aastypes.PolicyType(str(p["PolicyType"])),
	}
	if target := str(p["ScalingTargetId"]); target != "" {
		parts := strings.Split(target, "|")
		if len(parts) != 3 {
			return fmt.Errorf("scaling policy %s: ScalingTargetId %q is not RESOURCE|DIMENSION|NAMESPACE", id, target)
		}
		in.ResourceId, in.ScalableDimension, in.ServiceNamespace = aws.String(parts[0]), aastypes.ScalableDimension(parts[1]), aastypes.ServiceNamespace(parts[2])
	} else {
		in.ResourceId = aws.String(str(p["ResourceId"]))
		in.ScalableDimension = aastypes.ScalableDimension(str(p["ScalableDimension"]))
		in.ServiceNamespace = aastypes.ServiceNamespace(str(p["ServiceNamespace"]))
	}
	// The CloudFormation property names are the API's, so the SDK types
	// decode them (encoding/json matches field names case-insensitively).
	if err := convert(p["TargetTrackingScalingPolicyConfiguration"], &in.TargetTrackingScalingPolicyConfiguration); err != nil {
		return fmt.Errorf("scaling policy %s: %w", id, err)
	}
	if err := convert(p["StepScalingPolicyConfiguration"], &in.StepScalingPolicyConfiguration); err != nil {
		return fmt.Errorf("scaling policy %s: %w", id, err)
	}
	out, err := client.PutScalingPolicy(ctx, in)
	if err != nil {
		return fmt.Errorf("put scaling policy %s: %w", id, err)
	}
	d.PhysicalIDs[id] = aws.ToString(out.PolicyARN)
	return nil
}

func convert(v any, into any) error {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %v: %w", v, err)
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("decode %s: %w", raw, err)
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func int32Of(v any) *int32 {
	switch n := v.(type) {
	case float64:
		return aws.Int32(int32(n))
	case string:
		if i, err := strconv.Atoi(n); err == nil {
			return aws.Int32(int32(i))
		}
	}
	return nil
}

// resolve evaluates the intrinsic functions in v against the deployed
// stack: Ref (resources, AWS:: pseudo parameters), Fn::GetAtt (the
// attributes autoscaling resources use), Fn::Join, Fn::Select, Fn::Split
// and Fn::Sub. Anything else is an error, never a guess.
func (d *Deployment) resolve(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := d.resolve(e)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				if fn == "Ref" || strings.HasPrefix(fn, "Fn::") {
					return d.intrinsic(fn, arg)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := d.resolve(e)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	}
	return v, nil
}

func (d *Deployment) intrinsic(fn string, arg any) (any, error) {
	if fn == "Fn::Sub" {
		return d.sub(arg)
	}
	arg, err := d.resolve(arg)
	if err != nil {
		return nil, err
	}
	list, _ := arg.([]any)
	switch fn {
	case "Ref":
		return d.ref(str(arg))
	case "Fn::GetAtt":
		if len(list) != 2 {
			return nil, fmt.Errorf("Fn::GetAtt %v: want [resource, attribute]", arg)
		}
		return d.getAtt(str(list[0]), str(list[1]))
	case "Fn::Join":
		items, _ := listAt(list, 1).([]any)
		if len(list) != 2 {
			return nil, fmt.Errorf("Fn::Join %v: want [separator, list]", arg)
		}
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = fmt.Sprint(it)
		}
		return strings.Join(parts, str(list[0])), nil
	case "Fn::Split":
		if len(list) != 2 {
			return nil, fmt.Errorf("Fn::Split %v: want [separator, string]", arg)
		}
		var out []any
		for _, s := range strings.Split(str(list[1]), str(list[0])) {
			out = append(out, s)
		}
		return out, nil
	case "Fn::Select":
		items, _ := listAt(list, 1).([]any)
		i, err := strconv.Atoi(fmt.Sprint(listAt(list, 0)))
		if err != nil || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select %v: index out of range", arg)
		}
		return items[i], nil
	}
	return nil, fmt.Errorf("intrinsic %s is not resolved by the harness", fn)
}

func listAt(list []any, i int) any {
	if i < len(list) {
		return list[i]
	}
	return nil
}

func (d *Deployment) ref(name string) (string, error) {
	switch name {
	case "AWS::Partition":
		return "aws", nil
	case "AWS::AccountId":
		return d.account, nil
	case "AWS::Region":
		return d.Config.Region, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return d.StackName, nil
	case "AWS::StackId":
		return d.StackID, nil
	}
	if id, ok := d.PhysicalIDs[name]; ok {
		return id, nil
	}
	return "", fmt.Errorf("Ref %s: not a deployed resource or pseudo parameter", name)
}

// getAtt resolves the attributes that follow from a physical id.
func (d *Deployment) getAtt(id, attr string) (string, error) {
	phys, ok := d.PhysicalIDs[id]
	if !ok {
		return "", fmt.Errorf("Fn::GetAtt %s.%s: %s is not deployed", id, attr, id)
	}
	switch attr {
	case "Arn":
		if strings.HasPrefix(phys, "arn:") {
			return phys, nil
		}
	case "Name": // ECS service: arn:aws:ecs:R:A:service/CLUSTER/NAME
		return phys[strings.LastIndex(phys, "/")+1:], nil
	case "QueueName": // SQS queue: its physical id is the URL, .../ACCOUNT/NAME
		return phys[strings.LastIndex(phys, "/")+1:], nil
	case "TargetGroupFullName": // arn:...:targetgroup/NAME/ID
		if i := strings.Index(phys, ":targetgroup/"); i >= 0 {
			return phys[i+1:], nil
		}
	case "LoadBalancerFullName": // arn:...:loadbalancer/app/NAME/ID
		if i := strings.Index(phys, ":loadbalancer/"); i >= 0 {
			return phys[i+len(":loadbalancer/"):], nil
		}
	}
	return "", fmt.Errorf("Fn::GetAtt %s.%s (physical id %q) is not resolved by the harness", id, attr, phys)
}

// sub resolves Fn::Sub's string form and its [string, variables] form.
func (d *Deployment) sub(arg any) (any, error) {
	format, vars := "", map[string]any{}
	switch x := arg.(type) {
	case string:
		format = x
	case []any:
		if len(x) != 2 {
			return nil, fmt.Errorf("Fn::Sub %v: want a string or [string, variables]", arg)
		}
		format = str(x[0])
		r, err := d.resolve(x[1])
		if err != nil {
			return nil, err
		}
		vars, _ = r.(map[string]any)
	}
	var b strings.Builder
	for {
		start := strings.Index(format, "${")
		if start < 0 {
			b.WriteString(format)
			return b.String(), nil
		}
		end := strings.Index(format[start:], "}")
		if end < 0 {
			return nil, fmt.Errorf("Fn::Sub %q: unclosed ${", format)
		}
		b.WriteString(format[:start])
		name := format[start+2 : start+end]
		switch res, attr, hasAttr := strings.Cut(name, "."); {
		case strings.HasPrefix(name, "!"):
			b.WriteString("${" + name[1:] + "}")
		case vars[name] != nil:
			b.WriteString(fmt.Sprint(vars[name]))
		case hasAttr:
			v, err := d.getAtt(res, attr)
			if err != nil {
				return nil, err
			}
			b.WriteString(v)
		default:
			v, err := d.ref(name)
			if err != nil {
				return nil, err
			}
			b.WriteString(v)
		}
		format = format[start+end+1:]
	}
}

// zipDir zips a directory's files, paths relative to it, as cdk-assets
// packages a "zip" asset.
func zipDir(dir string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		_, err = w.Write(body)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip %s: %w", dir, err)
	}
	return buf.Bytes(), nil
}

// motoCouldNotDelete reports whether err is one of moto's refusals to
// delete a resource that depends on one its CloudFormation cannot delete
// (see the top of this file).
func motoCouldNotDelete(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	msg := api.ErrorMessage()
	switch api.ErrorCode() {
	case "DependencyViolation":
		return strings.HasPrefix(msg, "The vpc ") && strings.HasSuffix(msg, " has dependencies and cannot be deleted.")
	case "DeleteConflict":
		return msg == "Cannot delete entity, must detach all policies first."
	}
	return false
}

// AdaptForMoto rewrites the template file at path as Deploy adapts the
// copy it gives moto (forMoto, above): for a deploy to moto by another
// client, such as the CDK CLI deploying a synthesized cloud assembly
// (`cdk deploy --app <assembly>`, scripts/local-deploy.sh). The file is
// left as it is when nothing needs adapting.
func AdaptForMoto(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("stacktest: read the template: %w", err)
	}
	var template map[string]any
	if err := json.Unmarshal(b, &template); err != nil {
		return fmt.Errorf("stacktest: %s is not a JSON template: %w", path, err)
	}
	out, err := json.MarshalIndent(forMoto(template), "", " ")
	if err != nil {
		return fmt.Errorf("stacktest: encode the adapted template: %w", err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return fmt.Errorf("stacktest: write the adapted template: %w", err)
	}
	return nil
}
