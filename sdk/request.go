package pave

import (
	"encoding/json"
	"fmt"
	"net/url"

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

// Query parses RawQuery. Malformed pairs are skipped. Each call parses
// afresh, so the result may be modified freely.
func (r *Request) Query() url.Values {
	v, _ := url.ParseQuery(r.RawQuery)
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
