package apierror

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteSanitizes(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   Code
		msg    string
	}{
		{"catalogued", New(Forbidden, "not for you"), 403, Forbidden, "not for you"},
		{"cause hidden", Wrap(errors.New("open /var/secret.key: permission denied"), FunctionFailed, "the function failed"), 502, FunctionFailed, "the function failed"},
		{"unknown error", errors.New("goroutine 7 [running]: main.go:12"), 500, Internal, "internal error"},
		{"wrapped catalogued", errors.Join(errors.New("context"), New(BodyTooLarge, "too big")), 413, BodyTooLarge, "too big"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Write(w, From(tt.err), "req-1")
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			var b Body
			dec := json.NewDecoder(w.Body)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&b); err != nil {
				t.Fatal(err)
			}
			if b.Error.Code != tt.code || b.Error.Message != tt.msg || b.Error.RequestID != "req-1" {
				t.Errorf("body %+v", b)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	w := httptest.NewRecorder()
	Write(w, &Error{Code: ConcurrencyLimited, Message: "busy", RetryAfter: 2}, "r")
	if w.Code != 429 || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
}

func TestEveryCodeHasAStatus(t *testing.T) {
	for code, status := range statuses {
		if status < 400 || status > 599 {
			t.Errorf("%s maps to %d", code, status)
		}
		if strings.ToLower(string(code)) != string(code) || strings.Contains(string(code), " ") {
			t.Errorf("code %q is not a stable snake_case name", code)
		}
	}
	if Code("nope").Status() != 500 {
		t.Error("unknown code is not 500")
	}
}

func ExampleWrap() {
	err := Wrap(errors.New("dial tcp 10.0.0.7:4222: refused"), Unavailable, "the function cannot be loaded right now")
	e := From(err)
	// The client sees the code and the message; the cause is for the log.
	fmt.Println(e.Code, e.Code.Status(), e.Message)
	// Output: unavailable 503 the function cannot be loaded right now
}
