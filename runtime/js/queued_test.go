package main

import (
	"slices"
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

// TestQueuedCalls is what a handler sees of a call from the host's queue:
// a topic trigger's CloudEvent, a schedule's tick, the call's id; and of a
// client's request that carries the same ce- fields without Pave-Trigger,
// nothing.
func TestQueuedCalls(t *testing.T) {
	load(t, `exports.default = { async fetch(request) {
		return Response.json({callId: request.callId, event: request.event,
			scheduledAt: request.scheduledAt && request.scheduledAt.toISOString(), body: await request.text()});
	} };`)
	ce := pave.Header{
		{Name: "ce-specversion", Value: "1.0"}, {Name: "ce-id", Value: "0123abcd"}, {Name: "ce-source", Value: "/functions/shop"},
		{Name: "ce-type", Value: "orders.created"}, {Name: "ce-time", Value: "2026-12-07T04:05:06.789Z"}, {Name: "Content-Type", Value: "application/json"},
	}
	callID := pave.HeaderField{Name: "Pave-Call-Id", Value: "5f0c9d6e3b2a41f8a7c6d5e4f3a2b1c0"}
	tests := []struct {
		name   string
		header pave.Header
		want   string
	}{
		{"a synchronous call", nil, `{"callId":null,"event":null,"scheduledAt":null,"body":"{\"id\":1}"}`},
		{"a client's CloudEvent", ce, `{"callId":null,"event":null,"scheduledAt":null,"body":"{\"id\":1}"}`},
		{"an asynchronous call", pave.Header{callID}, `{"callId":"5f0c9d6e3b2a41f8a7c6d5e4f3a2b1c0","event":null,"scheduledAt":null,"body":"{\"id\":1}"}`},
		{"a topic trigger", append(slices.Clone(ce), callID, pave.HeaderField{Name: "Pave-Trigger", Value: "topic orders.created"}, pave.HeaderField{Name: "ce-subject", Value: "order/1"}),
			`{"callId":"5f0c9d6e3b2a41f8a7c6d5e4f3a2b1c0","event":{"topic":"orders.created","specversion":"1.0","id":"0123abcd","source":"/functions/shop","type":"orders.created","subject":"order/1","time":"2026-12-07T04:05:06.789Z","datacontenttype":"application/json"},"scheduledAt":null,"body":"{\"id\":1}"}`},
		{"a schedule without a call id", pave.Header{{Name: "Pave-Trigger", Value: "schedule @hourly"}, {Name: "Pave-Schedule-Tick", Value: "2026-12-07T04:00:00Z"}},
			`{"callId":null,"event":null,"scheduledAt":"2026-12-07T04:00:00.000Z","body":"{\"id\":1}"}`},
		{"a schedule", pave.Header{callID, {Name: "Pave-Trigger", Value: "schedule */5 * * * *"}, {Name: "Pave-Schedule-Tick", Value: "2026-12-07T04:05:00Z"}},
			`{"callId":"5f0c9d6e3b2a41f8a7c6d5e4f3a2b1c0","event":null,"scheduledAt":"2026-12-07T04:05:00.000Z","body":"{\"id\":1}"}`},
	}
	for _, tt := range tests {
		resp, err := pave.Call(&pave.Request{Method: "POST", Path: "/", Header: tt.header, Body: []byte(`{"id":1}`)})
		if err != nil || string(resp.Body) != tt.want {
			t.Errorf("%s:\n got %s, %v\nwant %s", tt.name, resp.Body, err, tt.want)
		}
	}
}
