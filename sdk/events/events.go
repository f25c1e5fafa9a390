// Package events publishes events from a function to topics, through the
// host's pave_publish_v1 capability.
//
// The topics a function may publish to are named in its pave.yaml:
//
//	capabilities:
//	  publish: [orders.created]
//
// and publishing is one call in the handler:
//
//	id, err := events.Publish("orders.created", data)
//
// Publish returns once the host has stored the event durably; the id is
// the event's CloudEvents id. The host stores the event as a CloudEvents
// 1.0 event whose source is /functions/<the function's name>, whose type
// is the topic and whose data content type is application/json when data
// is valid JSON, application/octet-stream otherwise. Data is at most 1 MiB.
//
// Calls belong in the handler: during package initialisation no
// invocation runs, and they fail with ErrDenied. A module that uses this
// package imports pave_publish_v1, which the host links only for a
// function whose manifest grants at least one topic: deploying it without
// a grant is refused.
//
// Outside WebAssembly, such as under go test, every call fails with
// ErrUnavailable.
package events

import (
	"fmt"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

// Errors of Publish. The error Publish returns wraps one of them, so
// errors.Is matches it, and carries the host's reason.
var (
	// ErrInvalid: the topic is malformed.
	ErrInvalid = kinds[abi.ErrCodeInvalid]
	// ErrDenied: the manifest does not grant the topic.
	ErrDenied = kinds[abi.ErrCodeDenied]
	// ErrLimit: the data is over 1 MiB, the invocation made more
	// capability calls than the host allows, or the request it serves
	// has caused as many invocations as it may (--max-calls-per-request).
	ErrLimit = kinds[abi.ErrCodeLimit]
	// ErrUnavailable: the host could not store the event, or the function
	// is not running in pave; retrying later may help.
	ErrUnavailable = kinds[abi.ErrCodeUnavailable]
)

var kinds = hostcall.NewKinds("events", abi.ErrCodeInvalid, abi.ErrCodeDenied, abi.ErrCodeLimit, abi.ErrCodeUnavailable)

// publish passes the topic and data to the host and returns the event id.
// Tests replace it with a fake host.
var publish = func(op hostcall.Op, topic string, data []byte) ([]byte, error) {
	return hostcall.Call(op, kinds, func() int32 { return hostPublish(topic, data) })
}

// Publish stores data as an event on topic and returns the event's id.
func Publish(topic string, data []byte) (string, error) {
	op := hostcall.Op{Call: "events: publish", Name: topic}
	if err := hostcall.CheckName(op, kinds, "topic", topic); err != nil {
		return "", err
	}
	if len(data) > abi.MaxEventData {
		return "", hostcall.Fail(op, kinds, abi.ErrCodeLimit, fmt.Sprintf("event data is over %d bytes", abi.MaxEventData))
	}
	id, err := publish(op, topic, data)
	if err != nil {
		return "", err
	}
	return string(id), nil
}
