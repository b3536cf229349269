// Package runs gives an agent durable runs: a caller submits a run and gets
// its ID at once, reads its status and result later, follows its events as
// a server-sent event stream that resumes from Last-Event-ID on any task,
// and may cancel it. A run executes on a queue worker (long) or in the web
// task (short) through the same API and store.
//
// The Store interface is the state every task shares; its DynamoDB
// implementation lives in a subpackage so that this package, like agentkit,
// needs only the standard library.
package runs
