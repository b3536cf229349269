package agentservice_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/agentcdk/agentcdk/agentservice"
	"github.com/agentcdk/agentcdk/internal/token"
)

var validEnvName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func TestValidateOfPlainPropsMakesNoJsiiCall(t *testing.T) {
	// GIVEN this test binary, run again with a jsii runtime that cannot
	// start (JSII_RUNTIME names no program), on FuzzValidate's seeds alone
	cmd := exec.Command(os.Args[0], "-test.run=^FuzzValidate$", "-test.count=1")
	cmd.Env = append(os.Environ(), "JSII_RUNTIME=/nonexistent/jsii-runtime")

	// WHEN it runs
	out, err := cmd.CombinedOutput()

	// THEN it passes: Props.Validate judged props without durations or
	// CDK objects in plain Go, so fuzzing it needs no Node.js
	if err != nil {
		t.Fatalf("FuzzValidate's seeds without a jsii runtime: %v\n%s", err, out)
	}
}

// FuzzValidate drives Props.Validate without jsii (no durations, no CDK
// objects): it must never panic, and what it accepts must be a task Fargate
// runs, a port, and a variable name ECS and a shell accept.
func FuzzValidate(f *testing.F) {
	f.Add(1024.0, 2048.0, 2.0, 8080.0, "MODEL")
	f.Add(256.0, 512.0, 1.0, 1.0, "_X1")
	f.Add(16384.0, 122880.0, 10.0, 65535.0, "a")
	f.Add(1000.0, 2048.0, 0.0, 0.0, "1BAD")
	f.Add(4096.0, 30720.0, 3.0, 70000.0, "OPENAI_API_KEY")
	f.Fuzz(func(t *testing.T, cpu, memory, desired, port float64, env string) {
		p := &agentservice.Props{
			Image:          agentservice.ImageFromRegistry("public.ecr.aws/example/agent:1.0.0"),
			Cpu:            &cpu,
			MemoryLimitMiB: &memory,
			DesiredCount:   &desired,
			ContainerPort:  &port,
			Environment:    &map[string]*string{env: new(string)},
		}
		err := p.Validate()
		for _, v := range []*float64{&cpu, &memory, &desired, &port} {
			if token.IsNumber(v) {
				return // tokens are not judged
			}
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "agentservice: ") && !strings.Contains(err.Error(), ": ") {
				t.Fatalf("message without a package prefix: %q", err)
			}
			return
		}
		if port < 1 || port > 65535 || port != float64(int(port)) {
			t.Fatalf("accepted port %v", port)
		}
		if desired < 1 || desired > 10 {
			t.Fatalf("accepted desired count %v outside the default capacity 1..10", desired)
		}
		if !validEnvName.MatchString(env) {
			t.Fatalf("accepted environment name %q", env)
		}
		switch cpu {
		case 256, 512, 1024, 2048, 4096, 8192, 16384:
		default:
			t.Fatalf("accepted cpu %v", cpu)
		}
		if memory < 512 || memory > 122880 {
			t.Fatalf("accepted memory %v", memory)
		}
	})
}
