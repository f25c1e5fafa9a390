package events_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pave-dev/pave/internal/events"
)

func TestFromHTTP(t *testing.T) {
	binary := http.Header{
		"Ce-Specversion": {"1.0"}, "Ce-Id": {"e-1"}, "Ce-Source": {"/shop"}, "Ce-Type": {"order.created"},
		"Ce-Subject": {"order/7"}, "Content-Type": {"application/json"},
	}
	structured := http.Header{"Content-Type": {"application/cloudevents+json"}}
	for _, tt := range []struct {
		name   string
		header http.Header
		body   string
		want   events.Event
		err    string
	}{
		{"binary", binary, `{"order":7}`, events.Event{ID: "e-1", Source: "/shop", Type: "order.created", Subject: "order/7", ContentType: "application/json", Data: []byte(`{"order":7}`)}, ""},
		{"structured", structured, `{"specversion":"1.0","id":"e-2","source":"/shop","type":"order.paid","datacontenttype":"application/json","data":{"order":7}}`,
			events.Event{ID: "e-2", Source: "/shop", Type: "order.paid", ContentType: "application/json", Data: []byte(`{"order":7}`)}, ""},
		{"structured base64", structured, `{"specversion":"1.0","id":"e-3","source":"/shop","type":"blob","data_base64":"aGk="}`,
			events.Event{ID: "e-3", Source: "/shop", Type: "blob", Data: []byte("hi")}, ""},
		{"plain body", http.Header{"Content-Type": {"application/json"}}, `{}`, events.Event{}, "ce-specversion"},
		{"batch", http.Header{"Content-Type": {"application/cloudevents-batch+json"}}, `[]`, events.Event{}, "batches"},
		{"no id", structured, `{"specversion":"1.0","source":"/shop","type":"t"}`, events.Event{}, "id"},
		{"old version", structured, `{"specversion":"0.3","id":"1","source":"/shop","type":"t"}`, events.Event{}, "specversion"},
		{"not json", structured, `{"specversion":`, events.Event{}, "not a CloudEvent"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := events.FromHTTP(context.Background(), tt.header, []byte(tt.body))
			if tt.err != "" {
				if !errors.Is(err, events.ErrNotAnEvent) || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want ErrNotAnEvent mentioning %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.want.ID || got.Source != tt.want.Source || got.Type != tt.want.Type || got.Subject != tt.want.Subject ||
				got.ContentType != tt.want.ContentType || strings.ReplaceAll(string(got.Data), " ", "") != string(tt.want.Data) {
				t.Errorf("got %+v (data %s), want %+v", got, got.Data, tt.want)
			}
		})
	}
}

func FuzzFromHTTP(f *testing.F) {
	f.Add("application/cloudevents+json", "", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1}`)
	f.Add("application/json", "1.0", `{"a":1}`)
	f.Add("application/cloudevents-batch+json", "", `[{}]`)
	f.Fuzz(func(t *testing.T, contentType, version, body string) {
		h := http.Header{"Content-Type": {contentType}}
		if version != "" {
			h.Set("Ce-Specversion", version)
			h.Set("Ce-Id", "1")
			h.Set("Ce-Source", "/s")
			h.Set("Ce-Type", "t")
		}
		ev, err := events.FromHTTP(context.Background(), h, []byte(body))
		if err == nil && (ev.ID == "" || ev.Source == "" || ev.Type == "" || len(ev.Data) > events.MaxData) {
			t.Errorf("accepted an event without its required attributes: %+v", ev)
		}
	})
}
