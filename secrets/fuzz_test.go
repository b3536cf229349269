package secrets_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/secrets"
)

var (
	allowed    = regexp.MustCompile(`^[a-zA-Z0-9_./-]+$`)
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func FuzzParameter(f *testing.F) {
	for _, s := range []string{"/agents/prod/OPENAI_API_KEY", "simple", "/aws/x", "a/b", "/a//b", "/a/", "", "ünï"} {
		f.Add("OPENAI_API_KEY", s, 1)
	}
	f.Add("1BAD", "/a", 0)
	f.Add("A", "/a", -1)
	f.Fuzz(func(t *testing.T, env, name string, version int) {
		// GIVEN any variable, parameter name and version
		err := secrets.Validate([]*secrets.Secret{secrets.FromParameter(env, name, version)})
		if err != nil {
			// THEN a refusal carries the package prefix and no final period
			if msg := err.Error(); !strings.HasPrefix(msg, "secrets: ") || strings.HasSuffix(msg, ".") {
				t.Fatalf("bad message %q", msg)
			}
			return
		}
		// THEN an accepted one keeps every SSM and ECS rule
		lower := strings.ToLower(strings.TrimPrefix(name, "/"))
		levels := strings.Split(strings.TrimPrefix(name, "/"), "/")
		if version < 0 || !allowed.MatchString(name) || len(name) > 1011-45 ||
			strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm") ||
			(strings.Contains(name, "/") && (!strings.HasPrefix(name, "/") || len(levels) > 15 || strings.Contains(name, "//") || strings.HasSuffix(name, "/"))) ||
			!identifier.MatchString(env) {
			t.Fatalf("Validate accepted env %q, name %q, version %d", env, name, version)
		}
	})
}
