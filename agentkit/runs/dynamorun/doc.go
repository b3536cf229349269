// Package dynamorun keeps runs (package agentkit/runs) in one Amazon
// DynamoDB table: the Store that the web service and the worker share.
package dynamorun
