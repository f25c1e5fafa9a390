package events_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pave-dev/pave/internal/events"
	"github.com/pave-dev/pave/internal/store"
)

func openTopics(t *testing.T) *events.Topics {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	s, err := n.Stream(ctx, events.StreamConfig())
	if err != nil {
		t.Fatal(err)
	}
	return events.New(s)
}

func TestPublishStoresACloudEvent(t *testing.T) {
	topics := openTopics(t)
	ctx := context.Background()
	for _, tt := range []struct {
		data, contentType string
	}{
		{`{"order":7}`, "application/json"},
		{"plain words", "application/octet-stream"},
	} {
		id, err := topics.Publish(ctx, "orders.created", events.Event{Source: "/functions/orders", Data: []byte(tt.data)})
		if err != nil || len(id) != 32 {
			t.Fatalf("publish = %q, %v", id, err)
		}
		m, err := topics.Last(ctx, "orders.created")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"ce-specversion": "1.0", "ce-id": id, "ce-source": "/functions/orders",
			"ce-type": "orders.created", "content-type": tt.contentType,
		}
		for name, v := range want {
			if got := m.Header[name]; len(got) != 1 || got[0] != v {
				t.Errorf("%s = %q, want %q", name, got, v)
			}
		}
		if ts, err := time.Parse(time.RFC3339Nano, m.Header["ce-time"][0]); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("ce-time %q: %v", m.Header["ce-time"], err)
		}
		if string(m.Data) != tt.data || m.Subject != events.SubjectPrefix+"orders.created" {
			t.Errorf("stored %s on %s", m.Data, m.Subject)
		}
	}
}

func TestPublishIsIdempotentByID(t *testing.T) {
	topics := openTopics(t)
	ctx := context.Background()
	ev := events.Event{ID: "order-7-created", Source: "/functions/orders", Data: []byte("first")}
	for i := 0; i < 3; i++ {
		if id, err := topics.Publish(ctx, "orders.created", ev); err != nil || id != ev.ID {
			t.Fatalf("publish %d = %q, %v", i, id, err)
		}
		ev.Data = []byte("later")
	}
	m, err := topics.Last(ctx, "orders.created")
	if err != nil || string(m.Data) != "first" || m.Sequence != 1 {
		t.Errorf("after three publishes of one id: %q at %d, %v", m.Data, m.Sequence, err)
	}
}

func TestPublishRefuses(t *testing.T) {
	topics := openTopics(t)
	ctx := context.Background()
	for _, topic := range []string{"", "Orders", "orders..created", "orders.*", "orders.>", "a b"} {
		if _, err := topics.Publish(ctx, topic, events.Event{}); !errors.Is(err, events.ErrInvalidTopic) {
			t.Errorf("topic %q: %v", topic, err)
		}
	}
	if _, err := topics.Publish(ctx, "big", events.Event{Data: make([]byte, events.MaxData+1)}); !errors.Is(err, events.ErrTooLarge) {
		t.Errorf("data over the limit: %v", err)
	}
	if _, err := topics.Publish(ctx, "big", events.Event{Data: make([]byte, events.MaxData)}); err != nil {
		t.Errorf("data at the limit: %v", err)
	}
}

// TestPublishersCannotSuppressEachOther publishes one event id from two
// publishers and two sources: each is stored.
func TestPublishersCannotSuppressEachOther(t *testing.T) {
	topics := openTopics(t)
	ctx := context.Background()
	for i, ev := range []events.Event{
		{ID: "e1", Source: "/shop", Publisher: "key:shop"},
		{ID: "e1", Source: "/shop", Publisher: "key:attacker"},
		{ID: "e1", Source: "/other", Publisher: "key:shop"},
		{ID: "e1", Source: "/shop", Publisher: "key:shop"}, // the first again: stored once
	} {
		ev.Data = fmt.Appendf(nil, "%d", i)
		if _, err := topics.Publish(ctx, "orders.created", ev); err != nil {
			t.Fatal(err)
		}
	}
	m, err := topics.Last(ctx, "orders.created")
	if err != nil || m.Sequence != 3 || string(m.Data) != "2" {
		t.Errorf("last stored %q at %d, %v; want the third event at 3", m.Data, m.Sequence, err)
	}
}
