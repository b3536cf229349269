// Package starter holds the test of the repository's starter/ folder, the
// start of a user's own app: copied out of the repository next to a clone,
// as the README lays it out, its CDK app synthesizes with the CDK's
// recommended feature flags, and its agent's image builds from what the
// cloud assembly stages, offline, as docker build would build it.
//
// starter/ and starter/agent/ are modules of their own, outside this
// module's ./... pattern, so their only test in `go test ./...` is this one.
package starter
