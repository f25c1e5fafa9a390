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
		{"not json", structured, `{"specversion":`, events.Event{}, "not a JSON object"},
		{"data and data_base64", structured, `{"specversion":"1.0","id":"e","source":"/s","type":"t","data":1,"data_base64":"aGk="}`, events.Event{}, "exclusive"},
		{"bad time", structured, `{"specversion":"1.0","id":"e","source":"/s","type":"t","time":"yesterday"}`, events.Event{}, "time must be"},
		{"bad source", with(binary, "Ce-Source", "%zz"), `{}`, events.Event{}, "source must be"},
		{"long id", with(binary, "Ce-Id", strings.Repeat("x", events.MaxID+1)), `{}`, events.Event{}, "id may be at most"},
		{"id at its bound", with(binary, "Ce-Id", strings.Repeat("x", events.MaxID)), `{}`,
			events.Event{ID: strings.Repeat("x", events.MaxID), Source: "/shop", Type: "order.created", Subject: "order/7", ContentType: "application/json", Data: []byte(`{}`)}, ""},
		{"control character", with(binary, "Ce-Type", "a\x01b"), `{}`, events.Event{}, "type must be printable"},
		{"no type, no source", structured, `{"specversion":"1.0","id":"e"}`, events.Event{}, "source, type: required"},
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

// with returns a copy of h with name set to value.
func with(h http.Header, name, value string) http.Header {
	c := h.Clone()
	c.Set(name, value)
	return c
}

func FuzzFromHTTP(f *testing.F) {
	f.Add("application/cloudevents+json", "", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1}`)
	f.Add("application/json", "1.0", `{"a":1}`)
	f.Add("application/cloudevents-batch+json", "", `[{}]`)
	f.Add("application/cloudevents+json", "", `{"specversion":"1.0","id":"1","source":"%zz","type":"t","time":"x"}`)
	f.Add("application/cloudevents+json", "", `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":1,"data_base64":""}`)
	f.Fuzz(func(t *testing.T, contentType, version, body string) {
		h := http.Header{"Content-Type": {contentType}}
		if version != "" {
			h.Set("Ce-Specversion", version)
			h.Set("Ce-Id", "1")
			h.Set("Ce-Source", "/s")
			h.Set("Ce-Type", "t")
		}
		ev, err := events.FromHTTP(context.Background(), h, []byte(body))
		if err == nil && (ev.ID == "" || ev.Source == "" || ev.Type == "" || len(ev.Data) > events.MaxData ||
			len(ev.ID) > events.MaxID || len(ev.Type) > events.MaxType || len(ev.Source) > events.MaxURI || len(ev.Subject) > events.MaxURI) {
			t.Errorf("accepted an event without its required attributes or past a bound: %+v", ev)
		}
		// The messages are fixed text: a quote would be a value quoted
		// from the request, as the SDK's own errors do.
		if err != nil && strings.ContainsAny(err.Error(), "\"`") {
			t.Errorf("the error quotes the request: %v", err)
		}
	})
}
