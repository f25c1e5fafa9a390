package apierror

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Body is the one JSON error shape of every pave response.
type Body struct {
	Error Detail `json:"error"`
}

// Detail is the content of Body.
type Detail struct {
	Code      Code   `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	// Violations are set for invalid_input.
	Violations []Violation `json:"violations,omitempty"`
}

// Write sends e as the JSON error shape. The caller has already set
// X-Request-Id.
func Write(w http.ResponseWriter, e *Error, requestID string) {
	SetHeaders(w.Header(), e)
	w.WriteHeader(e.Code.Status())
	_, _ = w.Write(Encode(e, requestID))
}

// SetHeaders sets the headers that go with e's body in h.
func SetHeaders(h http.Header, e *Error) {
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
}

// Encode returns the JSON error shape of e, with a final newline.
func Encode(e *Error, requestID string) []byte {
	b, err := json.Marshal(Body{Error: Detail{Code: e.Code, Message: e.Message, RequestID: requestID, Violations: e.Violations}})
	if err != nil {
		// Every field is a string or a list of strings: this cannot fail.
		panic(err)
	}
	return append(b, '\n')
}
