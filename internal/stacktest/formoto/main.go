// Command formoto rewrites synthesized CloudFormation templates the way
// stacktest.Deploy adapts the copy it gives moto, so that another client
// (the CDK CLI, in scripts/local-deploy.sh) can deploy a cloud assembly to
// moto: moto's CloudFormation makes no CloudFront resource and no
// Secrets Manager secret, and fails on a prefix-list ingress rule (see
// internal/stacktest/moto.go).
//
//	go run ./internal/stacktest/formoto cdk.out/BasicAgent.template.json
package main

import (
	"fmt"
	"os"

	"github.com/agentcdk/agentcdk/internal/stacktest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: formoto TEMPLATE.json...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := stacktest.AdaptForMoto(path); err != nil {
			fmt.Fprintln(os.Stderr, "formoto:", err)
			os.Exit(1)
		}
	}
}
