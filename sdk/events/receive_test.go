package events_test

import (
	"testing"
	"time"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/events"
)

func TestReceived(t *testing.T) {
	delivered := pave.Header{
		{Name: "ce-specversion", Value: "1.0"}, {Name: "ce-id", Value: "e1"}, {Name: "ce-source", Value: "/shop"},
		{Name: "ce-type", Value: "order.created"}, {Name: "ce-time", Value: "2026-12-02T10:00:00.5Z"},
		{Name: "ce-subject", Value: "order/7"}, {Name: "Content-Type", Value: "application/json"},
		{Name: "Pave-Trigger", Value: "topic orders.created"},
	}
	ev, ok := events.Received(&pave.Request{Method: "POST", Path: "/", Header: delivered, Body: []byte(`{"order":7}`)})
	want := events.Event{Topic: "orders.created", ID: "e1", Source: "/shop", Type: "order.created", Subject: "order/7",
		ContentType: "application/json", Time: time.Date(2026, 12, 2, 10, 0, 0, 5e8, time.UTC)}
	if !ok || ev.Topic != want.Topic || ev.ID != want.ID || ev.Source != want.Source || ev.Type != want.Type ||
		ev.Subject != want.Subject || ev.ContentType != want.ContentType || !ev.Time.Equal(want.Time) || string(ev.Data) != `{"order":7}` {
		t.Errorf("Received = %+v, %v; want %+v", ev, ok, want)
	}
	// CloudEvents headers sent to an HTTP route are not a delivery.
	for _, h := range []pave.Header{delivered[:7], append(delivered[1:7:7], pave.HeaderField{Name: "Pave-Trigger", Value: "topic orders.created"})} {
		if _, ok := events.Received(&pave.Request{Header: h}); ok {
			t.Errorf("headers %v taken for a delivery", h)
		}
	}
}

func TestScheduledAtAndCallID(t *testing.T) {
	r := &pave.Request{Header: pave.Header{
		{Name: "Pave-Trigger", Value: "schedule */5 * * * *"}, {Name: "Pave-Schedule-Tick", Value: "2026-12-02T10:05:00Z"},
		{Name: "Pave-Call-Id", Value: "0123456789abcdef0123456789abcdef"},
	}}
	if at, ok := r.ScheduledAt(); !ok || !at.Equal(time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC)) {
		t.Errorf("ScheduledAt = %v, %v", at, ok)
	}
	if id := r.CallID(); id != "0123456789abcdef0123456789abcdef" {
		t.Errorf("CallID = %q", id)
	}
	if _, ok := (&pave.Request{}).ScheduledAt(); ok {
		t.Error("a request with no trigger has a tick")
	}
}
