package agentservice

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/agentcdk/agentcdk/internal/token"
)

// Architecture is the CPU architecture the task runs on.
type Architecture string

// The architectures Fargate runs.
const (
	// ArchitectureX86_64 runs on Intel/AMD x86-64.
	ArchitectureX86_64 Architecture = "X86_64"
	// ArchitectureArm64 runs on AWS Graviton (ARM64): about 20 % cheaper per
	// vCPU-hour. The image is built for linux/arm64.
	ArchitectureArm64 Architecture = "ARM64"
)

// DefaultUser is the user the container runs as: distroless's "nonroot"
// (65532). A read-only root filesystem plus a non-root user keeps a
// compromised agent from rewriting its own binary.
const DefaultUser = "65532"

// credentialName matches environment variable names that look like they
// hold a credential. Those belong in Secrets, never in plain Environment,
// where they would be stored in the template and shown in the console.
var credentialName = regexp.MustCompile(`(_KEY$|TOKEN|SECRET|PASSWORD|^AWS_ACCESS_KEY_ID$)`)

func checkCredentialName(name string) error {
	if credentialName.MatchString(strings.ToUpper(name)) {
		return fmt.Errorf("agentservice: Environment name %q looks like a credential, and plain environment variables are stored in the template; put it in Secrets (package secrets: FromParameter, FromSecretsManager)", name)
	}
	return nil
}

func (p *Props) arch() Architecture {
	if p.CpuArchitecture == "" {
		return ArchitectureX86_64
	}
	return p.CpuArchitecture
}

func (p *Props) validateSecurity() error {
	switch p.arch() {
	case ArchitectureX86_64, ArchitectureArm64:
	default:
		return fmt.Errorf("agentservice: CpuArchitecture %q is not a Fargate architecture; use ArchitectureX86_64 or ArchitectureArm64", p.CpuArchitecture)
	}
	if boolOr(p.FargateSpot, false) && p.arch() == ArchitectureArm64 {
		return fmt.Errorf("agentservice: FargateSpot is set with CpuArchitecture %s, but Fargate Spot does not run ARM64 tasks; use ArchitectureX86_64 with Spot, or on-demand ARM64", ArchitectureArm64)
	}
	if v := p.OnDemandBaseCount; v != nil && !token.IsNumber(v) {
		if !boolOr(p.FargateSpot, false) {
			return fmt.Errorf("agentservice: OnDemandBaseCount %v is set without FargateSpot; it only splits tasks between on-demand and Spot", *v)
		}
		if *v < 0 || *v != float64(int(*v)) || *v > 100000 {
			return fmt.Errorf("agentservice: OnDemandBaseCount %v is not a task count; use a whole number from 0 to 100000", *v)
		}
	}
	if boolOr(p.EnableExecuteCommand, false) && p.readonlyRoot() {
		return fmt.Errorf("agentservice: EnableExecuteCommand needs a writable root filesystem (the SSM agent writes into it), but ReadonlyRootFilesystem is true; set ReadonlyRootFilesystem to false as well, knowingly")
	}
	if v := p.User; v != nil && !token.IsString(v) && (*v == "" || *v == "0" || *v == "root" || strings.HasPrefix(*v, "0:") || strings.HasPrefix(*v, "root:")) {
		return fmt.Errorf("agentservice: User %q runs the container as root; use a non-root user such as %q", *v, DefaultUser)
	}
	return p.validateHTTPS()
}

func (p *Props) validateHTTPS() error {
	if p.Certificate != nil && p.DomainName != nil {
		return fmt.Errorf("agentservice: Certificate and DomainName are both set; give a Certificate, or a DomainName with its DomainZone to have one made")
	}
	if (p.DomainName == nil) != (p.DomainZone == nil) {
		return fmt.Errorf("agentservice: DomainName and DomainZone go together; the zone validates the certificate and holds the alias record")
	}
	if v := p.DomainName; v != nil && !token.IsString(v) && !domainName.MatchString(*v) {
		return fmt.Errorf("agentservice: DomainName %q is not a domain name; use one such as agent.example.com", *v)
	}
	if !p.https() {
		if p.SslPolicy != "" || p.RedirectHTTP != nil {
			return fmt.Errorf("agentservice: SslPolicy and RedirectHTTP apply only with HTTPS; give a Certificate or a DomainName")
		}
	}
	return nil
}

var domainName = regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}\.?$`)

func (p *Props) https() bool { return p.Certificate != nil || p.DomainName != nil }

func (p *Props) readonlyRoot() bool { return boolOr(p.ReadonlyRootFilesystem, true) }
