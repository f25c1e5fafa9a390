package daemon_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/testguests"
)

// Events the gateway refuses are refused with a message that names the
// attribute at fault and never repeats what the client sent: an attacker
// cannot use the error to reflect content, and a log reader sees no
// client text in the message.
func TestEventRefusalsNeverEcho(t *testing.T) {
	t.Parallel()
	n := start(t, "")
	n.deploy(manifestFor("hello", route("GET", "/hello"), ""), testguests.Example(t, "hello"))
	k, err := n.admin.CreateKey(context.Background(), client.CreateKeyRequest{Name: "pub", Functions: []string{"hello"}, Scopes: []string{"publish:orders.created"}})
	if err != nil {
		t.Fatal(err)
	}
	const mark = "LEAKMARK"
	binary := func(extra map[string]string) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + k.Secret, "Ce-Specversion": "1.0", "Ce-Id": "e-1",
			"Ce-Source": "/shop", "Ce-Type": "order.created", "Content-Type": "application/json"}
		for name, v := range extra {
			h[name] = v
		}
		return h
	}
	structured := map[string]string{"Authorization": "Bearer " + k.Secret, "Content-Type": "application/cloudevents+json"}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		body    string
		says    string // in the message
	}{
		{"a time that is not a time", binary(map[string]string{"Ce-Time": mark}), `{}`, "time"},
		{"a source that is not a URI", binary(map[string]string{"Ce-Source": "%zz" + mark}), `{}`, "source"},
		{"a dataschema that is not a URI", binary(map[string]string{"Ce-Dataschema": "%zz" + mark}), `{}`, "dataschema"},
		{"an id of 4000 characters", binary(map[string]string{"Ce-Id": strings.Repeat("i", 4000) + mark}), `{}`, "id may be at most"},
		{"a type of 1000 characters", binary(map[string]string{"Ce-Type": strings.Repeat("t", 1000) + mark}), `{}`, "type may be at most"},
		{"a control character in the subject", structured, `{"specversion":"1.0","id":"e","source":"/s","type":"t","subject":"a\u0001` + mark + `"}`, "subject"},
		{"data and data_base64 both", structured, `{"specversion":"1.0","id":"e","source":"/s","type":"t","data":"` + mark + `","data_base64":"aGk="}`, "exclusive"},
		{"a structured time that is not a time", structured, `{"specversion":"1.0","id":"e","source":"/s","type":"t","time":"` + mark + `"}`, "time"},
		{"a number for an id", structured, `{"specversion":"1.0","id":7,"source":"/s","type":"` + mark + `"}`, "id must be a string"},
		{"no type", structured, `{"specversion":"1.0","id":"e","source":"/` + mark + `"}`, "type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := n.send("POST", "/events/orders.created", tc.headers, []byte(tc.body))
			if r.status != 400 || r.errorCode(t) != "invalid_event" {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if strings.Contains(string(r.body), mark) || !strings.Contains(string(r.body), tc.says) {
				t.Fatalf("the refusal %s echoes the request or does not say %q", r.body, tc.says)
			}
		})
	}
	if r := n.send("POST", "/events/orders.created", binary(map[string]string{"Ce-Time": "2026-12-06T10:00:00Z"}), []byte(`{"order":1}`)); r.status != 202 {
		t.Fatalf("a good event: %d %s", r.status, r.body)
	}
	for _, l := range n.logs.lines(map[string]any{"code": "invalid_event"}) {
		if msg, _ := l["error"].(string); strings.Contains(msg, mark) {
			t.Errorf("the log's error message echoes the request: %v", l)
		}
	}
}
