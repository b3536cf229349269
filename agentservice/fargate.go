package agentservice

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// fargateMemory lists, for each Fargate CPU size in CPU units, the memory
// sizes in MiB that Fargate offers with it.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
var fargateMemory = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, step int) []int {
	var out []int
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

// checkFargateSize reports whether cpu units and memory MiB form a task size
// Fargate offers.
func checkFargateSize(cpu, memory float64) error {
	sizes := make([]int, 0, len(fargateMemory))
	for c := range fargateMemory {
		sizes = append(sizes, c)
	}
	slices.Sort(sizes)
	mems, ok := fargateMemory[int(cpu)]
	if !ok || float64(int(cpu)) != cpu {
		return fmt.Errorf("agentservice: Cpu %v is not a Fargate size; use %s", cpu, joinInts(sizes))
	}
	if float64(int(memory)) == memory && slices.Contains(mems, int(memory)) {
		return nil
	}
	return fmt.Errorf("agentservice: MemoryLimitMiB %v does not fit Cpu %v; Fargate offers %s", memory, cpu, describeRange(mems))
}

func describeRange(mems []int) string {
	if len(mems) <= 3 {
		return joinInts(mems)
	}
	return fmt.Sprintf("%d to %d in steps of %d", mems[0], mems[len(mems)-1], mems[1]-mems[0])
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
