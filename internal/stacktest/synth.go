package stacktest

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Pack names a cdk-nag rule pack. Its value is the prefix of the pack's
// rule ids ("AwsSolutions-IAM5").
type Pack string

// The rule packs Synth can apply.
const (
	AwsSolutions Pack = "AwsSolutions"
	NIST80053R5  Pack = "NIST.800.53.R5"
	HIPAA        Pack = "HIPAA.Security"
	PCIDSS321    Pack = "PCI.DSS.321"
)

// aspect returns the cdk-nag pack as an aspect. Reports are off: they would
// write CSV files into the cloud assembly and the findings are read from the
// annotations anyway. Verbose adds each rule's explanation to its message.
func (p Pack) aspect() awscdk.IAspect {
	props := &cdknag.NagPackProps{Reports: jsii.Bool(false), Verbose: jsii.Bool(false)}
	switch p {
	case AwsSolutions:
		return cdknag.NewAwsSolutionsChecks(props)
	case NIST80053R5:
		return cdknag.NewNIST80053R5Checks(props)
	case HIPAA:
		return cdknag.NewHIPAASecurityChecks(props)
	case PCIDSS321:
		return cdknag.NewPCIDSS321Checks(props)
	}
	panic(fmt.Sprintf("stacktest: unknown pack %q; use AwsSolutions, NIST80053R5, HIPAA or PCIDSS321", string(p)))
}

// Synthesized is one stack after synthesis: its template, where the template
// file is, and the errors and warnings the CDK and the cdk-nag packs
// attached to its constructs.
type Synthesized struct {
	// StackName is the stack's CloudFormation name.
	StackName string
	// AssemblyDir is the cloud assembly directory the app wrote.
	AssemblyDir string
	// TemplatePath is the absolute path of the stack's template file.
	TemplatePath string
	// Template is the parsed template.
	Template map[string]any
	// Findings are the stack's error and warning annotations, in construct
	// path order: every unsuppressed cdk-nag finding of the packs applied,
	// and any warning or error the CDK itself added.
	Findings []Finding
	// logicalIDs maps each resource's logical id to its construct path.
	logicalIDs map[string]string
}

// Finding is one error or warning annotation on a construct.
type Finding struct {
	// Level is "error" or "warning".
	Level string
	// Rule is the cdk-nag rule id ("AwsSolutions-IAM5"), or
	// "CdkNagValidationFailure" when a rule could not evaluate a resource,
	// or empty for an annotation that is not cdk-nag's.
	Rule string
	// Finding narrows Rule to one finding on the resource ("Resource::*"),
	// the part a suppression lists in applies_to; empty for rules without
	// findings.
	Finding string
	// Path is the construct path ("/Stack/Agent/TaskDef/Resource").
	Path string
	// Message is the annotation without its rule and finding prefix.
	Message string
}

// String renders f on one line, as a test failure lists it.
func (f Finding) String() string {
	id := f.Rule
	if f.Finding != "" {
		id += "[" + f.Finding + "]"
	}
	if id != "" {
		id += " "
	}
	return fmt.Sprintf("%s %s%s: %s", f.Level, id, f.Path, f.Message)
}

// nagMessage is cdk-nag's AnnotationLogger format: "RULE[FINDING]: info".
var nagMessage = regexp.MustCompile(`(?s)^([A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*-[A-Za-z0-9]+|CdkNagValidationFailure)(?:\[(.*?)\])?: (.*)$`)

func parseFinding(level, path, msg string) Finding {
	f := Finding{Level: level, Path: path, Message: strings.TrimSpace(msg)}
	if m := nagMessage.FindStringSubmatch(f.Message); m != nil {
		f.Rule, f.Finding, f.Message = m[1], m[2], strings.TrimSpace(m[3])
	}
	return f
}

// NewApp returns an app that writes its cloud assembly into a directory
// the test removes when it ends.
func NewApp(t testing.TB) awscdk.App {
	t.Helper()
	return awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
}

// Synth applies the cdk-nag packs to stack as aspects, synthesizes its app
// once, and returns the stack's template and findings. Build the stack
// completely first: constructs added after Synth are not in the result.
// Synth forces a fresh synthesis, so packs apply even when the app was
// synthesized before; apply each pack to a stack once.
func Synth(t testing.TB, stack awscdk.Stack, packs ...Pack) *Synthesized {
	t.Helper()
	for _, p := range packs {
		awscdk.Aspects_Of(stack).Add(p.aspect(), nil)
	}
	asm := awscdk.Stage_Of(stack).Synth(&awscdk.StageSynthesisOptions{Force: jsii.Bool(true)})
	s, err := readStack(*asm.Directory(), *stack.ArtifactId())
	if err != nil {
		t.Fatalf("stacktest: %v", err)
	}
	return s
}

// Nag is Synth's findings: the unsuppressed errors and warnings of the packs
// (and the CDK's own) on stack.
func Nag(t testing.TB, stack awscdk.Stack, packs ...Pack) []Finding {
	t.Helper()
	return Synth(t, stack, packs...).Findings
}

// NoFindings fails t with one line per finding when there are any.
func NoFindings(t testing.TB, findings []Finding) {
	t.Helper()
	if len(findings) == 0 {
		return
	}
	lines := make([]string, len(findings))
	for i, f := range findings {
		lines[i] = "  " + f.String()
	}
	t.Errorf("%d unsuppressed findings:\n%s", len(findings), strings.Join(lines, "\n"))
}

// manifest is the part of the cloud assembly's manifest.json read here
// (the cloud assembly schema's AssemblyManifest).
type manifest struct {
	Artifacts map[string]struct {
		Type       string `json:"type"`
		Properties struct {
			TemplateFile string `json:"templateFile"`
			StackName    string `json:"stackName"`
		} `json:"properties"`
		Metadata map[string][]metadataEntry `json:"metadata"`
		// AdditionalMetadataFile holds the metadata when the CDK writes it
		// beside the manifest (as aws-cdk-lib 2.276.0 does) instead of in it.
		AdditionalMetadataFile string `json:"additionalMetadataFile"`
	} `json:"artifacts"`
}

type metadataEntry struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// readStack reads artifact id of the cloud assembly in dir.
func readStack(dir, id string) (*Synthesized, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("read the cloud assembly manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	art, ok := m.Artifacts[id]
	if !ok || art.Type != "aws:cloudformation:stack" {
		return nil, fmt.Errorf("the cloud assembly in %s has no stack artifact %q", dir, id)
	}
	s := &Synthesized{
		StackName:    art.Properties.StackName,
		AssemblyDir:  dir,
		TemplatePath: filepath.Join(dir, art.Properties.TemplateFile),
		logicalIDs:   map[string]string{},
	}
	if s.StackName == "" {
		s.StackName = id
	}
	if s.Template, err = readJSON(s.TemplatePath); err != nil {
		return nil, err
	}
	metadata := map[string][]metadataEntry{}
	maps.Copy(metadata, art.Metadata)
	if art.AdditionalMetadataFile != "" {
		raw, err := os.ReadFile(filepath.Join(dir, art.AdditionalMetadataFile))
		if err != nil {
			return nil, fmt.Errorf("read the stack's metadata: %w", err)
		}
		var more map[string][]metadataEntry
		if err := json.Unmarshal(raw, &more); err != nil {
			return nil, fmt.Errorf("parse %s: %w", art.AdditionalMetadataFile, err)
		}
		for path, entries := range more {
			metadata[path] = append(metadata[path], entries...)
		}
	}
	for _, path := range slices.Sorted(maps.Keys(metadata)) {
		for _, e := range metadata[path] {
			switch e.Type {
			case "aws:cdk:logicalId":
				if lid, ok := e.Data.(string); ok {
					s.logicalIDs[lid] = path
				}
			case "aws:cdk:error", "aws:cdk:warning":
				msg, _ := e.Data.(string)
				s.Findings = append(s.Findings, parseFinding(strings.TrimPrefix(e.Type, "aws:cdk:"), path, msg))
			}
		}
	}
	return s, nil
}

func readJSON(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the template: %w", err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("parse template %s: %w", path, err)
	}
	return v, nil
}

// Resources returns the template's resources of type typ ("AWS::ECS::Service")
// by logical id.
func (s *Synthesized) Resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	all, _ := s.Template["Resources"].(map[string]any)
	for id, r := range all {
		if res, ok := r.(map[string]any); ok && res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// LogicalID returns the logical id of the resource of type typ whose
// construct path is path, and fails the test when there is none.
func (s *Synthesized) LogicalID(t testing.TB, typ, path string) string {
	t.Helper()
	for id := range s.Resources(typ) {
		if s.PathOf(id) == path {
			return id
		}
	}
	t.Fatalf("stacktest: no %s at %s", typ, path)
	return ""
}

// PathOf returns the construct path of the resource with logicalID, or ""
// when the assembly does not record it.
func (s *Synthesized) PathOf(logicalID string) string {
	return s.logicalIDs[logicalID]
}
