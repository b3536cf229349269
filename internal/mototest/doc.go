// Package mototest runs a local moto_server (an AWS emulator) for tests.
//
// Start launches one moto_server on 127.0.0.1 at a free port, waits until it
// answers, and stops it when the test ends; tests share it by using their own
// resource names (one queue or stack per test). Config and Env point an SDK
// client or a child process (a worker binary, the CDK CLI) at it with dummy
// credentials.
//
// Launch does the same for a program (a benchmark), which stops the Server
// itself.
//
// A fresh developer machine may lack moto_server: Start then skips the test
// with a message naming the tool. Under CI=true a missing tool fails the test
// instead, so CI never passes by skipping.
package mototest
