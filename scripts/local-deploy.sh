#!/usr/bin/env bash
# Deploys examples/basic with the real CDK CLI (`cdk bootstrap`, then
# `cdk deploy`) to moto_server, a local AWS emulator, on this machine only,
# then shows what CloudFormation made. Nothing leaves 127.0.0.1.
#
#   bash scripts/local-deploy.sh
#
# Needs Node.js (npx fetches aws-cdk@2 from the npm registry), moto_server,
# cfn-lint and the aws CLI. It first checks that `cdk ls` and
# `cdk synth > template.yaml` print only the CLI's own output. The image is
# pulled from a registry (AGENT_IMAGE) instead of built: the emulator has no
# Docker registry to push an image asset to. What moto's CloudFormation
# cannot make is adapted out of the deployed copy (internal/stacktest/formoto).
set -euo pipefail
cd "$(dirname "$0")/.."

port="${MOTO_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
log="$(mktemp)"
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

# moto reads a CloudFormation TemplateURL as a path-style S3 address only
# when its host is "localhost", so the endpoint says localhost, not 127.0.0.1.
export AWS_ENDPOINT_URL="http://localhost:$port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export CDK_DEFAULT_ACCOUNT=123456789012 CDK_DEFAULT_REGION=us-east-1
export AGENT_IMAGE="${AGENT_IMAGE:-public.ecr.aws/agentcdk/agent:local}"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
cdk=(npx --yes aws-cdk@2)

cd examples/basic
out="$(mktemp -d)"

# The CLI's own output, and nothing of the app's: the app reports on stderr.
stacks="$("${cdk[@]}" ls --output "$out/ls" 2>/dev/null)"
if [ "$stacks" != "BasicAgent" ]; then
  echo "local-deploy: cdk ls printed more than the stack name:" >&2
  printf '%s\n' "$stacks" >&2
  exit 1
fi
"${cdk[@]}" synth BasicAgent --output "$out/synth" 2>/dev/null >"$out/template.yaml"
# The CLI leaves the CheckBootstrapVersion rule out of what it prints, so the
# BootstrapVersion parameter looks unused there (W2001); the template it
# deploys has the rule, and .ci/run lints that one with no exception.
cfn-lint --non-zero-exit-code warning --ignore-checks W2001 -- "$out/template.yaml"
echo "cdk ls and cdk synth > template.yaml print only the CLI's output"

"${cdk[@]}" bootstrap "aws://$CDK_DEFAULT_ACCOUNT/$AWS_REGION" --output "$out/bootstrap"
# moto's CloudFormation makes no CloudFront resource and no Secrets Manager
# secret, and fails on a prefix-list ingress rule: the CLI synthesizes the
# assembly, formoto adapts its template as the Go deploy tests adapt theirs
# (internal/stacktest/moto.go), and the CLI deploys that assembly.
"${cdk[@]}" synth BasicAgent --output "$out/app" >/dev/null 2>&1
(cd ../.. && go run ./internal/stacktest/formoto "$out/app/BasicAgent.template.json")
"${cdk[@]}" deploy BasicAgent --app "$out/app" --require-approval never

aws --endpoint-url "$AWS_ENDPOINT_URL" cloudformation describe-stacks --stack-name BasicAgent \
  --query 'Stacks[0].StackStatus' --output text
aws --endpoint-url "$AWS_ENDPOINT_URL" ecs describe-services --cluster ai-agents-prod \
  --services "$(aws --endpoint-url "$AWS_ENDPOINT_URL" ecs list-services --cluster ai-agents-prod --query 'serviceArns[0]' --output text)" \
  --query 'services[0].[serviceName, desiredCount, taskDefinition]' --output text
aws --endpoint-url "$AWS_ENDPOINT_URL" elbv2 describe-target-groups \
  --query 'TargetGroups[0].[HealthCheckPath, HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds, UnhealthyThresholdCount]' --output text
rm -rf "$out"
