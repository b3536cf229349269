package starter_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The layout the README gives a user: a clone of agentcdk and, beside it, a
// copy of its starter/ folder under the user's own name.
const (
	cloneName = "agentcdk"
	appName   = "myagent"
	stackName = "MyAgent"
)

// The CDK versions the starter's go.mod must require: the ones this
// repository is built and tested with.
var pinned = []string{
	"github.com/aws/aws-cdk-go/awscdk/v2",
	"github.com/aws/constructs-go/constructs/v10",
	"github.com/aws/jsii-runtime-go",
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// need skips t when bin is not on PATH, and fails it under CI=true, where no
// test may pass by skipping.
func need(t *testing.T, bin, why string) {
	t.Helper()
	if _, err := exec.LookPath(bin); err != nil {
		msg := fmt.Sprintf("%s is not on PATH (%s): %v", bin, why, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true, so this test must not skip")
		}
		t.Skip(msg)
	}
}

// run runs name with args in dir and returns its combined output; env nil
// means this process's environment. It fails t, with the output, when the
// command fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	began := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	t.Logf("%s %s: %.1fs", name, strings.Join(args, " "), time.Since(began).Seconds())
	return string(out)
}

// withEnv is this process's environment with kv set.
func withEnv(kv ...string) []string {
	env := os.Environ()
	for _, s := range kv {
		k, _, _ := strings.Cut(s, "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
	}
	return append(env, kv...)
}

// offline is this process's environment with the module proxy off: the
// modules come from the module cache or not at all.
func offline() []string { return withEnv("GOPROXY=off", "GOWORK=off") }

// dockerEnv is the environment of a RUN in the golang image: no Go
// settings but GOTOOLCHAIN=local, a module cache and GOPATH of its own
// (empty), and no go env file. Only the build cache is this process's, so
// the standard library is not compiled again for every run of this test.
func dockerEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	gocache := strings.TrimSpace(run(t, ".", nil, "go", "env", "GOCACHE"))
	gopath := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"GOENV=off",
		"GOTOOLCHAIN=local",
		"GOWORK=off",
		"GOCACHE=" + gocache,
		"GOPATH=" + gopath,
		"GOMODCACHE=" + filepath.Join(gopath, "pkg", "mod"),
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		env = append(env, "TMPDIR="+tmp)
	}
	return append(env, extra...)
}

// copyStarter lays the starter out as the README tells a user to: dir/agentcdk
// is the clone (a link to this repository) and dir/myagent a copy of
// starter/ with only what a clone holds. It returns the copy.
//
// dir is the same folder on every run from this checkout: the Go build cache
// keys a package outside the module cache by its directory, so the app's
// agentcdk packages, its binary and the agent are compiled once, not on
// every run. A lock keeps two runs of this test apart; where there is no
// lock, each run takes a folder of its own.
func copyStarter(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("agentcdk-starter-test-%x", sum[:6]))
	if lock(t, dir+".lock") {
		clean := func() {
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("remove %s: %v", dir, err)
			}
		}
		clean()
		t.Cleanup(clean)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	} else {
		dir = t.TempDir()
	}
	dependOn(t, root)
	if err := os.Symlink(root, filepath.Join(dir, cloneName)); err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(dir, appName)
	if err := os.CopyFS(app, os.DirFS(filepath.Join(root, "starter"))); err != nil {
		t.Fatalf("copy starter/: %v", err)
	}
	for _, ignored := range []string{"cdk.out", filepath.Join("agent", "vendor")} { // in starter/.gitignore
		if err := os.RemoveAll(filepath.Join(app, ignored)); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

// dependOn stats every Go source and module file of the clone at root. The
// copy builds from them in other processes, which go test does not see; a
// file this process stats is one whose change makes go test run the test
// again instead of reporting its cached result.
func dependOn(t *testing.T, root string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "cdk.out" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if name := d.Name(); !d.IsDir() && (strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" || name == "cdk.json" || name == "Dockerfile") {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("read the clone: %v", err)
	}
}

// modFile is what `go mod edit -json` prints of a go.mod.
type modFile struct {
	Go      string
	Require []struct{ Path, Version string }
	Replace []struct {
		Old struct{ Path string }
		New struct{ Path, Version string }
	}
}

func readMod(t *testing.T, dir string) modFile {
	t.Helper()
	var m modFile
	if err := json.Unmarshal([]byte(run(t, dir, nil, "go", "mod", "edit", "-json")), &m); err != nil {
		t.Fatalf("go mod edit -json in %s: %v", dir, err)
	}
	return m
}

func (m modFile) version(path string) string {
	for _, r := range m.Require {
		if r.Path == path {
			return r.Version
		}
	}
	return ""
}

func (m modFile) replacement(path string) string {
	for _, r := range m.Replace {
		if r.Old.Path == path {
			return r.New.Path
		}
	}
	return ""
}

func TestStarterRequiresTheTestedCDKVersions(t *testing.T) {
	// GIVEN this repository's go.mod and the starter's two
	root := repoRoot(t)
	lib := readMod(t, root)
	app := readMod(t, filepath.Join(root, "starter"))
	agent := readMod(t, filepath.Join(root, "starter", "agent"))

	// THEN the app requires exactly the CDK versions the library is tested
	// with, so Go's minimal version selection cannot pick another
	for _, path := range pinned {
		if got, want := app.version(path), lib.version(path); got == "" || got != want {
			t.Errorf("starter/go.mod requires %s %q; this repository is tested with %q", path, got, want)
		}
	}
	// AND both point agentcdk at the clone beside the user's folder
	const module = "github.com/agentcdk/agentcdk"
	for _, c := range []struct {
		file string
		mod  modFile
		want string
	}{
		{"starter/go.mod", app, "../" + cloneName},
		{"starter/agent/go.mod", agent, "../../" + cloneName},
	} {
		if got := c.mod.replacement(module); got != c.want {
			t.Errorf("%s replaces %s with %q, want %q", c.file, module, got, c.want)
		}
		if got := c.mod.version(module); got != "v0.0.0" {
			t.Errorf("%s requires %s %q, want v0.0.0 (the replace supplies it)", c.file, module, got)
		}
	}
	// AND the agent requires nothing else of its own: agentkit is standard
	// library only, and what agentkit/apikeys needs to read the API keys'
	// secret (the AWS SDK) is required at the versions this repository is
	// tested with
	for _, r := range agent.Require {
		if r.Path == module {
			continue
		}
		if want := lib.version(r.Path); !strings.HasPrefix(r.Path, "github.com/aws/") || r.Version != want {
			t.Errorf("starter/agent/go.mod requires %s %s; want only the AWS SDK modules agentkit/apikeys needs, at this repository's versions (%q)", r.Path, r.Version, want)
		}
	}
}

// cdkJSON is what the test reads of a cdk.json.
type cdkJSON struct {
	App     string         `json:"app"`
	Context map[string]any `json:"context"`
}

func readCdkJSON(t *testing.T, path string) cdkJSON {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c cdkJSON
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// recommendedFlags reads the feature flags that aws-cdk-lib recommends for
// new projects (recommended-feature-flags.json, which `cdk init` writes into
// a new app's cdk.json) from the aws-cdk-lib package that the aws-cdk-go
// module at version embeds.
func recommendedFlags(t *testing.T, version string) map[string]any {
	t.Helper()
	dir := strings.TrimSpace(run(t, repoRoot(t), offline(), "go", "list", "-m", "-f", "{{.Dir}}", pinned[0]+"@"+version))
	tgz := filepath.Join(dir, "jsii", "aws-cdk-lib-"+strings.TrimPrefix(version, "v")+".tgz")
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", tgz, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s holds no package/recommended-feature-flags.json", tgz)
		}
		if err != nil {
			t.Fatalf("%s: %v", tgz, err)
		}
		if h.Name == "package/recommended-feature-flags.json" {
			var flags map[string]any
			if err := json.NewDecoder(tr).Decode(&flags); err != nil {
				t.Fatalf("%s: %s: %v", tgz, h.Name, err)
			}
			return flags
		}
	}
}

func TestStarterCdkJSONHoldsTheRecommendedFeatureFlags(t *testing.T) {
	// GIVEN the starter's cdk.json and the aws-cdk-lib its go.mod pins
	root := repoRoot(t)
	got := readCdkJSON(t, filepath.Join(root, "starter", "cdk.json")).Context
	version := readMod(t, filepath.Join(root, "starter")).version(pinned[0])
	want := recommendedFlags(t, version)

	// THEN its context is exactly what `cdk init` writes for that version:
	// every flag aws-cdk-lib recommends, at its recommended value, so the
	// CLI reports no unconfigured flag and the app gets the current
	// behaviour of every construct
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Errorf("cdk.json context %q = %v, aws-cdk-lib %s recommends %v", k, got[k], version, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("cdk.json context %q is not a flag aws-cdk-lib %s recommends", k, version)
		}
	}
	if t.Failed() {
		t.Logf("regenerate it: tar -xzOf \"$(go list -m -f '{{.Dir}}' %s)/jsii/aws-cdk-lib-%s.tgz\" package/recommended-feature-flags.json",
			pinned[0], strings.TrimPrefix(version, "v"))
	}
}

// assets is what the test reads of the cloud assembly's asset manifest.
type assets struct {
	DockerImages map[string]struct {
		Source struct {
			Directory  string `json:"directory"`
			DockerFile string `json:"dockerFile"`
			Platform   string `json:"platform"`
		} `json:"source"`
	} `json:"dockerImages"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestStarterOutsideTheRepository does what the README's "Use it" tells a
// newcomer to do, without the network: copy the starter next to a clone,
// synthesize it, build its agent's image.
func TestStarterOutsideTheRepository(t *testing.T) {
	need(t, "node", "Node.js 20 or newer: jsii runs the CDK in it")

	// GIVEN the starter copied out of the repository, next to the clone
	app := copyStarter(t)
	agentDir := filepath.Join(app, "agent")

	// WHEN a newcomer tidies its modules THEN nothing changes: go.mod and
	// go.sum are complete, and tidy keeps the tested CDK versions. Tidy
	// reads the test dependencies of every imported package's module, which
	// no build downloads, so the app's tidy uses the module proxy as a
	// newcomer's does; the agent needs only agentcdk and the AWS SDK modules
	// agentkit/apikeys uses, which building this repository fetched, and
	// tidies offline.
	run(t, app, withEnv("GOWORK=off"), "go", "mod", "tidy", "-diff")
	run(t, agentDir, offline(), "go", "mod", "tidy", "-diff")

	// WHEN its app runs as the CDK CLI runs it: cdk.json's command, in the
	// app's folder, with cdk.json's context in CDK_CONTEXT_JSON and the
	// assembly directory in CDK_OUTDIR
	cfg := readCdkJSON(t, filepath.Join(app, "cdk.json"))
	ctx, err := json.Marshal(cfg.Context)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "cdk.out")
	run(t, app, append(offline(), "CDK_OUTDIR="+out, "CDK_CONTEXT_JSON="+string(ctx)), "sh", "-c", cfg.App)

	// THEN the stack is synthesized, with its service, the secret and the URL
	var tmpl struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
		Outputs map[string]any
	}
	templatePath := filepath.Join(out, stackName+".template.json")
	readJSON(t, templatePath, &tmpl)
	var manifest assets
	readJSON(t, filepath.Join(out, stackName+".assets.json"), &manifest)
	t.Run("stack", func(t *testing.T) {
		types := map[string]int{}
		var containers []any
		for _, r := range tmpl.Resources {
			types[r.Type]++
			if r.Type == "AWS::ECS::TaskDefinition" {
				containers, _ = r.Properties["ContainerDefinitions"].([]any)
			}
		}
		for _, typ := range []string{"AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::ECS::TaskDefinition"} {
			if types[typ] != 1 {
				t.Errorf("%d %s, want 1", types[typ], typ)
			}
		}
		if len(containers) != 1 {
			t.Fatalf("task definition has %d containers, want 1", len(containers))
		}
		container, _ := json.Marshal(containers[0])
		if !strings.Contains(string(container), `"Name":"MODEL_API_KEY","ValueFrom"`) || !strings.Contains(string(container), ":parameter/myagent/MODEL_API_KEY") {
			t.Errorf("the container's secrets do not read MODEL_API_KEY from /myagent/MODEL_API_KEY: %s", container)
		}
		for hash := range manifest.DockerImages {
			if !strings.Contains(string(container), ":"+hash) {
				t.Errorf("the container's image is not the agent's image asset %s: %s", hash, container)
			}
		}
		urls := 0
		for k := range tmpl.Outputs {
			if strings.HasPrefix(k, "AgentURL") {
				urls++
			}
		}
		if urls != 1 {
			t.Errorf("outputs %v, want one AgentURL...", slices.Sorted(maps.Keys(tmpl.Outputs)))
		}
	})

	t.Run("cfn-lint", func(t *testing.T) {
		need(t, "cfn-lint", "the CloudFormation linter: pip install cfn-lint")
		run(t, out, nil, "cfn-lint", "--non-zero-exit-code", "warning", "--format", "parseable", "--", templatePath)
	})

	// AND the agent's image asset builds from what the assembly staged,
	// offline, as docker build runs the Dockerfile's build stage
	t.Run("image builds offline", func(t *testing.T) {
		if len(manifest.DockerImages) != 1 {
			t.Fatalf("%d image assets, want 1 (the agent)", len(manifest.DockerImages))
		}
		for _, img := range manifest.DockerImages {
			staged := filepath.Join(out, img.Source.Directory)
			if _, err := os.Stat(filepath.Join(staged, "vendor", "modules.txt")); err != nil {
				t.Fatalf("the staged build context has no vendor/modules.txt (cdk.json's app command vendors the agent's modules): %v", err)
			}
			if tests, _ := filepath.Glob(filepath.Join(staged, "*_test.go")); len(tests) > 0 {
				t.Errorf("the staged build context holds %v, which agent/.dockerignore leaves out", tests)
			}
			bin := dockerBuild(t, staged, img.Source.DockerFile, img.Source.Platform)
			checkStatic(t, bin, img.Source.Platform)
		}
	})

	// AND the agent's own tests pass, built from vendor/ without the network
	// (-trimpath, as the image's build has it, keeps the folder's path out
	// of the build cache's keys, so a new clone compiles the vendored
	// modules once, not once per folder)
	t.Run("agent tests offline", func(t *testing.T) {
		env := dockerEnv(t, "GOFLAGS=-mod=vendor -trimpath", "GOPROXY=off")
		run(t, agentDir, env, "go", "vet", "./...")
		run(t, agentDir, env, "go", "test", "-count=1", "./...")
	})
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ op, args string }

// stages reads a Dockerfile into its stages' instructions.
func stages(t *testing.T, path string) [][]instruction {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var all [][]instruction
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			line += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		line += l
		op, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(op), strings.TrimSpace(args)}
		if in.op == "FROM" {
			all = append(all, nil)
		}
		if len(all) == 0 {
			continue // ARG before the first FROM
		}
		all[len(all)-1] = append(all[len(all)-1], in)
	}
	if len(all) < 2 {
		t.Fatalf("%s has %d stages; want a build stage and a final one", path, len(all))
	}
	return all
}

// dockerBuild runs the build stage of the staged context's Dockerfile the
// way docker build would: on a copy of the context (COPY . . into WORKDIR),
// with TARGETOS and TARGETARCH from the asset's platform, each RUN in sh in
// the golang image's environment (an empty module cache, no proxy settings
// but the Dockerfile's own). The absolute paths the final stage copies from
// (/out) are mapped into a temporary directory. It returns the path of the
// binary the final stage copies to its ENTRYPOINT, and checks that the
// final stage is distroless and non-root.
func dockerBuild(t *testing.T, context, dockerfile, platform string) string {
	t.Helper()
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	st := stages(t, filepath.Join(context, dockerfile))
	build, final := st[0], st[len(st)-1]

	// The final stage: the binary on distroless static, as non-root.
	var from, user, entry string
	var copies []string // COPY --from sources
	for _, in := range final {
		switch in.op {
		case "FROM":
			from = in.args
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entry = in.args
		case "COPY":
			if f := strings.Fields(in.args); strings.HasPrefix(f[0], "--from=") {
				copies = append(copies, f[len(f)-2]+" "+f[len(f)-1])
			}
		}
	}
	if !strings.HasPrefix(from, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %q; want gcr.io/distroless/static (no shell, no libc)", from)
	}
	if u, _, _ := strings.Cut(user, ":"); u != "nonroot" && u != "65532" {
		t.Errorf("final stage USER %q; want nonroot", user)
	}
	var argv []string
	if err := json.Unmarshal([]byte(entry), &argv); err != nil || len(argv) == 0 {
		t.Fatalf("ENTRYPOINT %q is not in exec form", entry)
	}
	var binSrc string
	for _, c := range copies {
		if src, dst, _ := strings.Cut(c, " "); dst == argv[0] {
			binSrc = src
		}
	}
	if binSrc == "" || !filepath.IsAbs(binSrc) {
		t.Fatalf("the final stage copies no absolute path of the build stage to its ENTRYPOINT %s: %v", argv[0], copies)
	}
	outRoot := "/" + strings.Split(binSrc, "/")[1] // "/out"

	// The build stage.
	goos, goarch, ok := strings.Cut(platform, "/")
	if !ok {
		goos, goarch = "linux", runtime.GOARCH // docker's default: the host's
	}
	work := filepath.Join(t.TempDir(), "src")
	mapped := t.TempDir()
	env := dockerEnv(t, "TARGETOS="+goos, "TARGETARCH="+goarch)
	for _, in := range build {
		switch in.op {
		case "FROM":
			want := "golang:" + goMinor(t, context)
			if !strings.Contains(in.args, want+" ") && !strings.HasSuffix(in.args, want) {
				t.Errorf("build stage FROM %q; want %s, the go.mod's Go version", in.args, want)
			}
		case "COPY":
			if in.args != ". ." {
				t.Fatalf("build stage COPY %q: this test copies the whole context only (COPY . .)", in.args)
			}
			if err := os.CopyFS(work, os.DirFS(context)); err != nil {
				t.Fatalf("COPY . .: %v", err)
			}
		case "RUN":
			cmd := strings.ReplaceAll(in.args, " "+outRoot+"/", " "+mapped+outRoot+"/")
			run(t, work, env, "sh", "-c", cmd)
		case "WORKDIR", "ARG":
		default:
			t.Fatalf("build stage %s %s: this test does not emulate it", in.op, in.args)
		}
	}
	bin := filepath.Join(mapped, binSrc)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the build stage made no %s: %v", binSrc, err)
	}
	return bin
}

// goMinor is the Go release ("1.26") of the go directive in dir/go.mod.
func goMinor(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s/go.mod has no go directive", dir)
	}
	return string(m[1])
}

// checkStatic fails t unless bin is a statically linked Linux executable for
// platform: distroless static has no dynamic loader and no libc.
func checkStatic(t *testing.T, bin, platform string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader", bin)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s links %v", bin, libs)
	}
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	_, arch, ok := strings.Cut(platform, "/")
	if !ok {
		arch = runtime.GOARCH
	}
	if want := machine[arch]; f.Machine != want {
		t.Errorf("%s is for %v, want %v (%s)", bin, f.Machine, want, platform)
	}
}

func TestTheReadmeShowsTheStartersCode(t *testing.T) {
	// GIVEN the README's "Use it" section and the starter's main.go
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Use it")
	if !ok {
		t.Fatal(`README.md has no "Use it" section`)
	}
	_, block, ok := strings.Cut(section, "\n```go\n")
	block, _, ok2 := strings.Cut(block, "\n```\n")
	if !ok || !ok2 {
		t.Fatal(`the "Use it" section shows no Go code`)
	}
	src, err := os.ReadFile(filepath.Join(root, "starter", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	// THEN its first Go block is main.go from the package clause on: the
	// whole app, as the starter holds it
	_, code, _ := strings.Cut(string(src), "\npackage main\n")
	if want := "package main\n" + strings.TrimSuffix(code, "\n"); block != want {
		t.Errorf("the README's main.go differs from starter/main.go:\n%s\nwant\n%s", block, want)
	}
}
