package main

import (
	"net/url"
	"strings"
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

func TestHello(t *testing.T) {
	long := strings.Repeat("é", maxNameRunes+10)
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{"no name", "", "Hello, world!\n"},
		{"empty name", "name=", "Hello, world!\n"},
		{"name", "name=Ada", "Hello, Ada!\n"},
		{"escaped name", "name=" + url.QueryEscape("Grace Hopper"), "Hello, Grace Hopper!\n"},
		{"non-ASCII name", "name=" + url.QueryEscape("Jürgen"), "Hello, Jürgen!\n"},
		{"control characters", "name=" + url.QueryEscape("A\r\nda\x1b[31m"), "Hello, Ada[31m!\n"},
		{"only control characters", "name=%0A%0D%09", "Hello, world!\n"},
		{"surrounding space", "name=+Ada+", "Hello, Ada!\n"},
		// The gateway refuses a query with NUL or invalid UTF-8, and
		// Query() reads nothing from one.
		{"NUL", "name=A%00da", "Hello, world!\n"},
		{"invalid UTF-8", "name=A%FFda", "Hello, world!\n"},
		{"long name", "name=" + url.QueryEscape(long), "Hello, " + strings.Repeat("é", maxNameRunes) + "!\n"},
		{"first of several", "name=Ada&name=Grace", "Hello, Ada!\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := pave.Call(&pave.Request{Method: "GET", Path: "/hello", Route: "/hello", RawQuery: tt.query})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 200 {
				t.Errorf("status = %d, want 200", resp.Status)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type = %q, want text/plain", ct)
			}
			if got := string(resp.Body); got != tt.want {
				t.Errorf("body = %q, want %q", got, tt.want)
			}
		})
	}
}
