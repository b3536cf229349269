package secrets

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/agentcdk/agentcdk/internal/propmsg"
	"github.com/agentcdk/agentcdk/internal/token"
)

// The SSM Parameter Store name rules (Systems Manager user guide,
// "parameter name requirements"; PutParameter API reference).
const (
	// maxParameterNameLength is the longest parameter name accepted here:
	// AWS allows 1011 characters including the ARN before the name, which
	// is 45 characters in most regions
	// ("arn:aws:ssm:us-east-2:111122223333:parameter/").
	maxParameterNameLength = 1011 - 45

	// maxHierarchyDepth is the deepest parameter hierarchy AWS allows,
	// counting the name itself: "/a/b/c" is 3 levels.
	maxHierarchyDepth = 15
)

var (
	envNamePattern   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	paramNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_./-]+$`)
)

// errorf builds a validation error with the package prefix; agentservice
// reports it under the prop its user set (agentservice: Secrets: ...).
func errorf(format string, args ...any) error {
	return propmsg.Errorf("secrets", format, args...)
}

// Validate reports the first entry of list that ECS, SSM or Secrets
// Manager would refuse or that makes no sense, with a message naming the
// prop, its value and what is allowed: a nil entry; an EnvName that is
// missing or not an identifier; no source or two; an SSM name AWS would
// refuse (characters outside a-zA-Z0-9_.-/, over 966 characters, a
// leading "aws" or "ssm", or a hierarchy without a leading "/", with an
// empty level or deeper than 15 levels); a Version below 1, not whole, or
// given for a Secrets Manager secret; a Field that is empty, holds ":", or is
// given for a parameter; and an EnvName given twice. It needs no jsii.
// Unresolved tokens are not judged.
func Validate(list []*Secret) error {
	seen := map[string]int{}
	for i, s := range list {
		if s == nil {
			return errorf("secret %d of %d is nil; drop it or fill it in", i+1, len(list))
		}
		if err := s.validate(i); err != nil {
			return err
		}
		if s.EnvName == nil || token.IsString(s.EnvName) {
			continue
		}
		if first, dup := seen[*s.EnvName]; dup {
			return errorf("EnvName %q is given twice (secrets %d and %d); give each variable one source", *s.EnvName, first+1, i+1)
		}
		seen[*s.EnvName] = i
	}
	return nil
}

func (s *Secret) validate(i int) error {
	if s.EnvName == nil || *s.EnvName == "" {
		return errorf("EnvName of secret %d is missing; use an environment variable name such as OPENAI_API_KEY", i+1)
	}
	name := *s.EnvName
	if !token.IsString(s.EnvName) {
		if err := checkEnvName("EnvName", name); err != nil {
			return err
		}
	}
	hasParam, hasSecret := s.ParameterName != nil, s.SecretsManager != nil
	switch {
	case hasParam && hasSecret:
		return errorf("%s has both ParameterName %q and SecretsManager; use exactly one source", name, *s.ParameterName)
	case !hasParam && !hasSecret:
		return errorf("%s has no source; set ParameterName or SecretsManager", name)
	case hasParam:
		return s.validateParameter(name)
	default:
		return s.validateSecretsManager(name)
	}
}

func (s *Secret) validateParameter(env string) error {
	if !token.IsString(s.ParameterName) {
		if err := checkParameterName(*s.ParameterName, env); err != nil {
			return err
		}
	}
	if s.Field != nil {
		return errorf("Field %q of %s applies to Secrets Manager secrets only; drop it for the parameter %q", *s.Field, env, *s.ParameterName)
	}
	if s.Version == nil || token.IsNumber(s.Version) {
		return nil
	}
	if v := *s.Version; v < 1 || v != math.Trunc(v) || math.IsInf(v, 0) {
		return errorf("Version %v of %s is not a parameter version; use a whole number of 1 or more, or leave it unset for the latest", v, env)
	}
	return nil
}

func (s *Secret) validateSecretsManager(env string) error {
	if s.Version != nil {
		return errorf("Version %v of %s applies to SSM parameters only; drop it for the Secrets Manager secret", *s.Version, env)
	}
	if s.Field == nil || token.IsString(s.Field) {
		return nil
	}
	if f := *s.Field; f == "" || strings.Contains(f, ":") {
		return errorf("Field %q of %s is not a JSON field ECS can select; use a non-empty top-level key without \":\", or leave it unset for the whole secret", f, env)
	}
	return nil
}

// checkEnvName reports whether name is a valid environment variable name:
// letters, digits and underscores, not starting with a digit. prop names
// the field in the message.
func checkEnvName(prop, name string) error {
	if !envNamePattern.MatchString(name) {
		return errorf("%s %q is not a valid identifier; use letters, digits and underscores, not starting with a digit", prop, name)
	}
	return nil
}

// checkParameterName reports whether SSM Parameter Store accepts name as a
// parameter name (see parameterNameProblem); the message names the
// variable env, if any, that the parameter fills.
func checkParameterName(name, env string) error {
	problem := parameterNameProblem(name)
	if problem == "" {
		return nil
	}
	shown := fmt.Sprintf("%q", name)
	if len(name) > maxParameterNameLength {
		shown = fmt.Sprintf("of %d characters", len(name))
	}
	if env != "" {
		shown += " for " + env
	}
	return errorf("ParameterName %s %s", shown, problem)
}

// parameterNameProblem says what is wrong with name and what is allowed,
// or "" when SSM accepts it: only a-zA-Z0-9_.-/ characters; at most
// maxParameterNameLength characters; not starting with "aws" or "ssm" in
// any case (also after a leading "/", so "/aws/..." is refused: read
// Secrets Manager secrets through SecretsManager, not the
// /aws/reference/secretsmanager path); a name in a hierarchy is fully
// qualified (starts with "/"), has no empty level and no trailing "/",
// and is at most maxHierarchyDepth levels deep.
func parameterNameProblem(name string) string {
	switch {
	case name == "":
		return `is empty; use a name such as "/agents/prod/OPENAI_API_KEY"`
	case len(name) > maxParameterNameLength:
		return fmt.Sprintf("is too long; use at most %d characters", maxParameterNameLength)
	case !paramNamePattern.MatchString(name):
		return `holds characters SSM refuses; use only a-z, A-Z, 0-9, "_", ".", "-" and "/"`
	}
	bare := strings.TrimPrefix(name, "/")
	if p := strings.ToLower(bare); strings.HasPrefix(p, "aws") || strings.HasPrefix(p, "ssm") {
		return `starts with a reserved prefix; names may not start with "aws" or "ssm" in any case`
	}
	if !strings.Contains(name, "/") {
		return ""
	}
	if !strings.HasPrefix(name, "/") {
		return `is in a hierarchy but not fully qualified; start it with "/"`
	}
	levels := strings.Split(bare, "/")
	if slices.Contains(levels, "") {
		return `has an empty level; use names such as "/agents/prod/OPENAI_API_KEY", without "//" or a trailing "/"`
	}
	if len(levels) > maxHierarchyDepth {
		return fmt.Sprintf("is %d levels deep; use at most %d", len(levels), maxHierarchyDepth)
	}
	return ""
}
