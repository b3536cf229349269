//go:build race

package main_test

// Under `go test -race` the agent under test is built with -race too.
func init() { buildFlags = append(buildFlags, "-race") }
