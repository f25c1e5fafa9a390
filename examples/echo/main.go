// Command echo is a pave function that answers POST /echo with the JSON
// value it was sent and what it knows about the request. A body that is not
// JSON gets 400 Bad Request.
//
// Build it as a WASI reactor module:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o echo.wasm .
package main

import (
	"encoding/json"

	pave "github.com/pave-dev/pave/sdk"
)

// reply is the response body.
type reply struct {
	// Received is the request body, validated and re-encoded compactly.
	// Holding it as raw JSON keeps numbers exactly as sent.
	Received  json.RawMessage `json:"received"`
	Method    string          `json:"method"`
	Path      string          `json:"path"`
	RequestID string          `json:"request_id"`
	Caller    string          `json:"caller"`
}

func init() {
	pave.Handle(echo)
}

func echo(r *pave.Request) (*pave.Response, error) {
	var received json.RawMessage
	if err := r.DecodeJSON(&received); err != nil {
		return pave.JSON(400, map[string]string{"error": "body must be JSON"}), nil
	}
	return pave.JSON(200, reply{
		Received:  received,
		Method:    r.Method,
		Path:      r.Path,
		RequestID: r.RequestID,
		Caller:    r.Caller,
	}), nil
}

func main() {}
