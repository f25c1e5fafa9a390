package main

import (
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

// Outside pave the capabilities are unavailable: the handler says so with
// a 503 rather than failing, and refuses bad input before touching them.
func TestNotesOutsidePave(t *testing.T) {
	tests := []struct {
		name         string
		method, path string
		route        string
		params       []pave.Param
		body         string
		status       int
	}{
		{"create", "POST", "/notes", "/notes", nil, `{"text":"hi"}`, 503},
		{"create not an object", "POST", "/notes", "/notes", nil, `[1,2]`, 400},
		{"create not JSON", "POST", "/notes", "/notes", nil, `text`, 400},
		{"list", "GET", "/notes", "/notes", nil, "", 503},
		{"get", "GET", "/notes/0123456789abcdef", "/notes/{id}", []pave.Param{{Name: "id", Value: "0123456789abcdef"}}, "", 503},
		{"get a malformed id", "GET", "/notes/x", "/notes/{id}", []pave.Param{{Name: "id", Value: "../x"}}, "", 404},
		{"no route", "DELETE", "/notes", "/notes", nil, "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := pave.Call(&pave.Request{Method: tt.method, Path: tt.path, Route: tt.route, Params: tt.params, Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.status {
				t.Errorf("status %d, want %d: %s", resp.Status, tt.status, resp.Body)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	a, b := newID(), newID()
	if !validID(a) || !validID(b) || a == b {
		t.Errorf("ids %q and %q", a, b)
	}
	for _, bad := range []string{"", "0123456789abcde", "0123456789abcdeg", "0123456789ABCDEF0"} {
		if validID(bad) {
			t.Errorf("validID(%q) = true", bad)
		}
	}
}
