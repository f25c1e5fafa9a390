package events

import (
	"strings"
	"time"

	pave "github.com/pave-dev/pave/sdk"
)

// Event is an event as a topic trigger delivers it to a function.
type Event struct {
	// Topic is the topic the event was published to.
	Topic string
	// ID, Source, Type and Subject are the CloudEvents attributes.
	ID, Source, Type, Subject string
	// ContentType is the data's media type (datacontenttype).
	ContentType string
	// Time is when the event was stored.
	Time time.Time
	// Data is the event's data.
	Data []byte
}

// Received returns the event a topic trigger delivered with r, which the
// host sends in the binary mode of the CloudEvents HTTP binding (the
// attributes in ce- headers, the data as the body). ok is false for a
// call that no topic trigger made, whatever headers it carries: the host
// drops every Pave-* header a client sends.
//
// The same event may be delivered more than once if the host stops while
// the function runs; its ID, and r.CallID(), are the same each time.
func Received(r *pave.Request) (ev Event, ok bool) {
	topic, ok := strings.CutPrefix(r.Header.Get("Pave-Trigger"), "topic ")
	if !ok || r.Header.Get("ce-specversion") != "1.0" {
		return Event{}, false
	}
	ev = Event{
		Topic: topic, ID: r.Header.Get("ce-id"), Source: r.Header.Get("ce-source"),
		Type: r.Header.Get("ce-type"), Subject: r.Header.Get("ce-subject"),
		ContentType: r.Header.Get("Content-Type"), Data: r.Body,
	}
	ev.Time, _ = time.Parse(time.RFC3339Nano, r.Header.Get("ce-time"))
	return ev, true
}
