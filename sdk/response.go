package pave

import (
	"bytes"
	"encoding/json"

	"github.com/pave-dev/pave/abi"
)

// Response is the result of an invocation.
type Response struct {
	// Status is the HTTP status code, 100 to 599; zero means 200.
	Status int
	// Header holds the response header fields. Names must be HTTP tokens
	// and values must not contain CR, LF or NUL, or the invocation fails.
	Header Header
	// Body is the response body. The encoded response, body and header
	// fields together, is limited to 16 MiB.
	Body []byte
}

// Text returns a response with a plain text body.
func Text(status int, s string) *Response {
	return Bytes(status, "text/plain; charset=utf-8", []byte(s))
}

// JSON returns a response whose body is v encoded as JSON, followed by a
// newline, without HTML escaping. If v cannot be encoded, JSON logs the
// error and returns a 500 response with the body {"error":"internal error"}.
func JSON(status int, v any) *Response {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		Errorf("pave: encoding JSON response: %v", err)
		return Bytes(500, jsonContentType, []byte(`{"error":"internal error"}`+"\n"))
	}
	return Bytes(status, jsonContentType, buf.Bytes())
}

const jsonContentType = "application/json"

// Bytes returns a response with body b. If contentType is not empty it is
// sent as the Content-Type header field.
func Bytes(status int, contentType string, b []byte) *Response {
	r := &Response{Status: status, Body: b}
	if contentType != "" {
		r.Header = Header{{Name: "Content-Type", Value: contentType}}
	}
	return r
}

// toABI returns the response as it crosses the ABI, with the defaults
// applied: a nil response is 204 No Content and a zero status is 200.
func (r *Response) toABI() *abi.Response {
	if r == nil {
		return &abi.Response{Status: 204}
	}
	status := r.Status
	if status == 0 {
		status = 200
	}
	return &abi.Response{Status: status, Headers: []abi.Header(r.Header), Body: r.Body}
}
