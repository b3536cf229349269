// Command synth times the synthesis of examples/basic (agentcdk) against
// the same reference stack written by hand with aws-cdk-lib's
// ApplicationLoadBalancedFargateService (bench/synth/handwritten), in one
// run, alternating the two for several rounds, and prints the median of
// each and their ratio. It also counts the lines of Go a user writes for
// the stack in each (between the stack:begin and stack:end markers).
//
// Run it from the repository root:
//
//	go run ./bench/synth -rounds 7
//
// Each round runs a freshly built binary as its own process, so a round is
// what `cdk synth` costs a user: Node.js start-up, jsii, the construct tree
// and writing the cloud assembly.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 7, "rounds per stack")
	flag.Parse()
	if err := run(*rounds); err != nil {
		fmt.Fprintln(os.Stderr, "synth:", err)
		os.Exit(1)
	}
}

type subject struct {
	name, pkg, source string
	bin               string
	times             []time.Duration
}

func run(rounds int) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "agentcdk-synth-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	subjects := []*subject{
		{name: "agentcdk (examples/basic)", pkg: "./examples/basic", source: "examples/basic/main.go"},
		{name: "hand-written ecs-patterns", pkg: "./bench/synth/handwritten", source: "bench/synth/handwritten/main.go"},
	}
	for i, s := range subjects {
		s.bin = filepath.Join(tmp, fmt.Sprintf("stack%d", i))
		if out, err := exec.Command("go", "build", "-o", s.bin, s.pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", s.pkg, err, out)
		}
	}
	// One warm-up each so that the first round does not pay for cold file caches.
	for r := -1; r < rounds; r++ {
		for _, s := range subjects {
			d, err := synthOnce(s, root, filepath.Join(tmp, "out"))
			if err != nil {
				return err
			}
			if r >= 0 {
				s.times = append(s.times, d)
			}
		}
	}
	fmt.Printf("synthesis, %d rounds each, alternating (median, min..max):\n", rounds)
	for _, s := range subjects {
		lines, err := stackLines(filepath.Join(root, s.source))
		if err != nil {
			return err
		}
		fmt.Printf("  %-28s %7.0f ms  (%.0f..%.0f ms)  %3d lines of Go for the stack\n",
			s.name, ms(median(s.times)), ms(slices.Min(s.times)), ms(slices.Max(s.times)), lines)
	}
	fmt.Printf("ratio agentcdk / hand-written (median): %.3f\n", float64(median(subjects[0].times))/float64(median(subjects[1].times)))
	return nil
}

func synthOnce(s *subject, root, out string) (time.Duration, error) {
	os.RemoveAll(out)
	cmd := exec.Command(s.bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+out, "AGENTCDK_ROOT="+root, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1")
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%s: %v\n%s", s.name, err, b)
	}
	return time.Since(start), nil
}

// stackLines counts the non-blank, non-comment lines between the
// "// stack:begin" and "// stack:end" markers: the code that builds the
// stack, without imports and the program around it.
func stackLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	_, rest, ok := strings.Cut(string(b), "// stack:begin\n")
	body, _, ok2 := strings.Cut(rest, "// stack:end")
	if !ok || !ok2 {
		return 0, fmt.Errorf("%s: no stack:begin/stack:end markers", path)
	}
	n := 0
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "//") {
			n++
		}
	}
	return n, nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
