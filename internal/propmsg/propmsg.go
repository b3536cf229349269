// Package propmsg builds the validation messages of the CDK packages so
// that a message names a prop where its user set it.
//
// A package that judges a value (healthcheck, scaling, secrets) writes its
// message with its own package prefix and the names of its own fields,
// marking each field name as a Name:
//
//	propmsg.Errorf("healthcheck", "%s %s is out of range; use %s to %s", propmsg.Name("Interval"), ...)
//	// healthcheck: Interval 4s is out of range; use 5s to 300s
//
// A construct whose props embed those values re-renders the message as its
// own, with each name as its user wrote it:
//
//	propmsg.In(err, "agentservice", propmsg.Prefix("HealthCheck."))
//	// agentservice: HealthCheck.Interval 4s is out of range; use 5s to 300s
//
// The user then reads one message, in the package they set the prop in,
// about the prop they set. An error that is not an *Error passes through
// unchanged.
package propmsg

import (
	"errors"
	"fmt"
)

// Name is a prop's name inside a message, as the package that judges the
// prop knows it.
type Name string

// Error is one validation message, kept as its format and arguments so it
// can be rendered again for another package and other names.
type Error struct {
	pkg    string
	format string
	args   []any
}

// Errorf returns the message format with args, prefixed with "pkg: ". Mark
// every prop name among args as a Name, so that In can rename it.
func Errorf(pkg, format string, args ...any) *Error {
	return &Error{pkg: pkg, format: format, args: args}
}

// Error renders the message.
func (e *Error) Error() string {
	return e.pkg + ": " + fmt.Sprintf(e.format, e.args...)
}

// In renders err, when it is (or wraps) an *Error, as a message of package
// pkg, with every Name passed through rename; a Name for which rename
// returns "" keeps its own. Any other error, and nil, come back unchanged.
func In(err error, pkg string, rename func(Name) string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	args := make([]any, len(e.args))
	for i, a := range e.args {
		if n, ok := a.(Name); ok {
			if r := rename(n); r != "" {
				a = Name(r)
			}
		}
		args[i] = a
	}
	return &Error{pkg: pkg, format: e.format, args: args}
}

// Within renders err, when it is (or wraps) an *Error, as a message of
// package pkg about the prop named prop, which holds the values the
// message names: "agentservice: Secrets: EnvName "1X" is not ...". Any
// other error, and nil, come back unchanged.
func Within(err error, pkg, prop string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	return &Error{pkg: pkg, format: prop + ": " + e.format, args: e.args}
}

// Prefix returns a rename that puts prefix before every name: the field
// of a nested struct ("HealthCheck." + "Interval").
func Prefix(prefix string) func(Name) string {
	return func(n Name) string { return prefix + string(n) }
}

// Same is the rename for props the caller has under the same names.
func Same(n Name) string { return string(n) }
