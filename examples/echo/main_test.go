package main

import (
	"encoding/json"
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

func call(t *testing.T, body string) *pave.Response {
	t.Helper()
	resp, err := pave.Call(&pave.Request{
		Method:    "POST",
		Path:      "/echo",
		Route:     "/echo",
		Header:    pave.Header{{Name: "Content-Type", Value: "application/json"}},
		Body:      []byte(body),
		Caller:    "key:ci-bot",
		RequestID: "req-42",
	})
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return resp
}

func TestEcho(t *testing.T) {
	tests := []struct {
		body string
		want string // the expected "received" member
	}{
		{`{"hello": "world", "n": [1, 2.5, null]}`, `{"hello":"world","n":[1,2.5,null]}`},
		{`"just a string"`, `"just a string"`},
		{`12345678901234567890`, `12345678901234567890`},
		{` true `, `true`},
		{`null`, `null`},
		{`"<tag> & more"`, `"<tag> & more"`},
	}
	for _, tt := range tests {
		resp := call(t, tt.body)
		if resp.Status != 200 {
			t.Errorf("%s: status = %d, want 200", tt.body, resp.Status)
			continue
		}
		var got struct {
			Received  json.RawMessage `json:"received"`
			Method    string          `json:"method"`
			Path      string          `json:"path"`
			RequestID string          `json:"request_id"`
			Caller    string          `json:"caller"`
		}
		if err := json.Unmarshal(resp.Body, &got); err != nil {
			t.Fatalf("%s: response is not JSON: %v: %s", tt.body, err, resp.Body)
		}
		if string(got.Received) != tt.want {
			t.Errorf("%s: received = %s, want %s", tt.body, got.Received, tt.want)
		}
		if got.Method != "POST" || got.Path != "/echo" || got.RequestID != "req-42" || got.Caller != "key:ci-bot" {
			t.Errorf("%s: metadata = %+v", tt.body, got)
		}
	}
}

func TestEchoRejectsNonJSON(t *testing.T) {
	for _, body := range []string{"", "hello", `{"a":1`, `{"a":1} {"b":2}`, "\xff"} {
		resp := call(t, body)
		if resp.Status != 400 {
			t.Errorf("%q: status = %d, want 400", body, resp.Status)
		}
		if got, want := string(resp.Body), `{"error":"body must be JSON"}`+"\n"; got != want {
			t.Errorf("%q: body = %q, want %q", body, got, want)
		}
	}
}
