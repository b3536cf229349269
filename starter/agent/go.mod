module example.com/myagent/agent

go 1.26.0

require github.com/agentcdk/agentcdk v0.0.0

// agentcdk is not published: build from the clone next to this folder.
// The Docker build context holds only this folder, so the image builds from
// vendor/, which `go mod vendor` fills from the clone.
replace github.com/agentcdk/agentcdk => ../../agentcdk
