package pave

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pave-dev/pave/abi"
)

// Param is one path parameter of the matched route.
type Param = abi.Param

// Request is one invocation of the function.
type Request struct {
	// Method is the HTTP method, such as "GET".
	Method string
	// Path is the URL path as received.
	Path string
	// Route is the pattern of the matched route, such as "/users/{id}".
	Route string
	// Params are the path parameters, in pattern order; Param looks one up.
	Params []Param
	// RawQuery is the URL query without the leading '?'; Query parses it.
	RawQuery string
	// Header holds the request header fields in the order received.
	Header Header
	// Body is the whole request body.
	Body []byte
	// Caller identifies the authenticated caller, such as "key:ci-bot" or
	// "admin"; it is empty for an anonymous call of a public route.
	Caller string
	// RequestID is the identifier the host gave this invocation; it appears
	// in the host's logs.
	RequestID string
}

// Param returns the value of the path parameter name, or "" if the route
// has none by that name. For the route "/users/{id}" and the path
// "/users/42", r.Param("id") is "42".
func (r *Request) Param(name string) string {
	for _, p := range r.Params {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// Query parses RawQuery with abi.ParseQuery, the parser the gateway checks
// every query with, so it returns exactly the values a route's query
// contract validated. A query the gateway would refuse as ambiguous (which
// reaches a function only from a caller that bypasses the gateway, such
// as another function's invoke) gives no values at all rather than one
// reading of it; abi.ParseQuery(r.RawQuery) returns the reason. Each call
// parses afresh, so the result may be modified freely.
func (r *Request) Query() url.Values {
	v, _ := abi.ParseQuery(r.RawQuery)
	return v
}

// DecodeJSON unmarshals the request body, which must be a single JSON value,
// into v.
func (r *Request) DecodeJSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("pave: decoding JSON body: %w", err)
	}
	return nil
}

func newRequest(r *abi.Request) *Request {
	return &Request{
		Method:    r.Method,
		Path:      r.Path,
		Route:     r.Route,
		Params:    r.Params,
		RawQuery:  r.RawQuery,
		Header:    Header(r.Headers),
		Body:      r.Body,
		Caller:    r.Caller,
		RequestID: r.RequestID,
	}
}

func (r *Request) toABI() *abi.Request {
	return &abi.Request{
		Method:    r.Method,
		Path:      r.Path,
		Route:     r.Route,
		Params:    r.Params,
		RawQuery:  r.RawQuery,
		Headers:   []abi.Header(r.Header),
		Body:      r.Body,
		Caller:    r.Caller,
		RequestID: r.RequestID,
	}
}

// CallID returns the id of the asynchronous call this invocation runs: a
// call made with POST /async/..., an event delivery or a schedule tick.
// It is the same on every attempt of the call, so a function can use it
// to make its side effects happen once. It is "" for a synchronous call.
func (r *Request) CallID() string { return r.Header.Get("Pave-Call-Id") }

// ScheduledAt returns the time of the schedule tick this invocation runs
// for, when a schedule trigger made the call.
func (r *Request) ScheduledAt() (time.Time, bool) {
	if !strings.HasPrefix(r.Header.Get("Pave-Trigger"), "schedule ") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, r.Header.Get("Pave-Schedule-Tick"))
	return t, err == nil
}
