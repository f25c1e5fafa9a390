package pave

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
)

// setHandler registers h for the duration of the test.
func setHandler(t *testing.T, h Handler) {
	t.Helper()
	old := handler
	handler = nil
	Handle(h)
	t.Cleanup(func() { handler = old })
}

func TestCallPassesTheRequest(t *testing.T) {
	want := &Request{
		Method:    "POST",
		Path:      "/users/42",
		Route:     "/users/{id}",
		Params:    []Param{{Name: "id", Value: "42"}},
		RawQuery:  "verbose=1",
		Header:    Header{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Trace", Value: "a"}},
		Body:      []byte(`{"name":"pave"}`),
		Caller:    "key:ci-bot",
		RequestID: "req-7",
	}
	var got *Request
	setHandler(t, func(r *Request) (*Response, error) {
		got = r
		return Text(200, "ok"), nil
	})
	if _, err := Call(want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("handler got\n%+v\nwant\n%+v", got, want)
	}
	if &got.Body[0] == &want.Body[0] {
		t.Error("the handler's body aliases the caller's: Call did not encode the request")
	}
}

func TestCallDefaults(t *testing.T) {
	var got *Request
	setHandler(t, func(r *Request) (*Response, error) {
		got = r
		return nil, nil
	})
	for _, req := range []*Request{nil, {}} {
		resp, err := Call(req)
		if err != nil {
			t.Fatal(err)
		}
		if got.Method != "GET" || got.Path != "/" {
			t.Errorf("Call(%v): handler got %s %s, want GET /", req, got.Method, got.Path)
		}
		if resp.Status != 204 || resp.Header != nil || resp.Body != nil {
			t.Errorf("nil response became %+v, want a bare 204", resp)
		}
	}
}

func TestCallResponses(t *testing.T) {
	tests := []struct {
		name string
		resp *Response
		want *Response
	}{
		{"nil", nil, &Response{Status: 204}},
		{"zero status", &Response{Body: []byte("x")}, &Response{Status: 200, Body: []byte("x")}},
		{
			"full",
			&Response{Status: 302, Header: Header{{Name: "Location", Value: "/there"}, {Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"}}, Body: []byte("moved")},
			&Response{Status: 302, Header: Header{{Name: "Location", Value: "/there"}, {Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"}}, Body: []byte("moved")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setHandler(t, func(*Request) (*Response, error) { return tt.resp, nil })
			got, err := Call(&Request{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

var errTest = errors.New("database unavailable")

func TestCallFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler Handler
		is      error  // errors.Is(err, is) must hold, unless nil
		text    string // err.Error() must contain text
	}{
		{
			name:    "error",
			handler: func(*Request) (*Response, error) { return nil, errTest },
			is:      errTest,
			text:    "pave: handler failed: database unavailable",
		},
		{
			name:    "error with response",
			handler: func(*Request) (*Response, error) { return Text(200, "ignored"), errTest },
			is:      errTest,
		},
		{
			name:    "panic",
			handler: func(*Request) (*Response, error) { panic("boom") },
			text:    "pave: handler panicked at ",
		},
		{
			name:    "status out of range",
			handler: func(*Request) (*Response, error) { return &Response{Status: 1000}, nil },
			is:      abi.ErrStatus,
			text:    "pave: invalid response",
		},
		{
			name: "header injection",
			handler: func(*Request) (*Response, error) {
				r := Text(200, "")
				r.Header.Set("X-Name", "a\r\nSet-Cookie: admin=1")
				return r, nil
			},
			is: abi.ErrHeaderValue,
		},
		{
			name: "bad header name",
			handler: func(*Request) (*Response, error) {
				return &Response{Status: 200, Header: Header{{Name: "Bad Name", Value: "v"}}}, nil
			},
			is: abi.ErrHeaderName,
		},
		{
			name: "too large",
			handler: func(*Request) (*Response, error) {
				return Bytes(200, "", make([]byte, abi.MaxResponseSize)), nil
			},
			is: abi.ErrTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setHandler(t, tt.handler)
			resp, err := Call(&Request{})
			if err == nil {
				t.Fatalf("Call succeeded with %+v", resp)
			}
			if resp != nil {
				t.Errorf("Call returned a response with error %v", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Call error = %v, want it to wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Call error = %q, want it to contain %q", err, tt.text)
			}
		})
	}
}

func TestCallPanicSite(t *testing.T) {
	var line int
	setHandler(t, func(*Request) (*Response, error) {
		var s []int
		_, _, line, _ = runtime.Caller(0)
		return nil, fmt.Errorf("unreachable: %d", s[line]) // a runtime error: index out of range
	})
	_, err := Call(nil)
	if err == nil {
		t.Fatal("Call succeeded")
	}
	var rerr runtime.Error
	if !errors.As(err, &rerr) {
		t.Errorf("Call error = %v, want it to wrap the runtime.Error", err)
	}
	site := "handle_test.go:" + strconv.Itoa(line+1) + ": "
	if !strings.Contains(err.Error(), site) {
		t.Errorf("Call error = %q, want the panic site %q", err, site)
	}
}

func TestCallWithoutHandler(t *testing.T) {
	old := handler
	handler = nil
	t.Cleanup(func() { handler = old })
	if _, err := Call(nil); !errors.Is(err, errNoHandler) {
		t.Fatalf("Call error = %v, want %v", err, errNoHandler)
	}
}

func TestCallInvalidRequest(t *testing.T) {
	setHandler(t, func(*Request) (*Response, error) {
		t.Error("handler called for an invalid request")
		return nil, nil
	})
	_, err := Call(&Request{Header: Header{{Name: "Bad Name", Value: "v"}}})
	if !errors.Is(err, abi.ErrHeaderName) {
		t.Fatalf("Call error = %v, want it to wrap %v", err, abi.ErrHeaderName)
	}
}

func TestHandlePanics(t *testing.T) {
	mustPanic := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			v := recover()
			if s, _ := v.(string); !strings.Contains(s, want) {
				t.Errorf("%s: panic value %v, want it to contain %q", name, v, want)
			}
		}()
		f()
	}
	setHandler(t, func(*Request) (*Response, error) { return nil, nil })
	mustPanic("second call", "Handle called twice", func() {
		Handle(func(*Request) (*Response, error) { return nil, nil })
	})
	mustPanic("nil handler", "nil handler", func() { Handle(nil) })
}
