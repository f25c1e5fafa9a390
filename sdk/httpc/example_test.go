package httpc_test

import (
	"errors"
	"fmt"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/httpc"
)

// A handler that asks a granted API for a rate. The manifest grants the
// host:
//
//	capabilities:
//	  http: [api.example.com]
func ExampleGet() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		resp, err := httpc.Get("https://api.example.com/v1/rates/" + r.Param("currency"))
		switch {
		case errors.Is(err, httpc.ErrDenied), errors.Is(err, httpc.ErrLimit):
			return nil, err // a fault of the function: logged, the caller gets 502
		case err != nil:
			return pave.Text(503, "the rates service is unreachable, try again\n"), nil
		case resp.Status != 200:
			return pave.Text(502, fmt.Sprintf("the rates service answered %d\n", resp.Status)), nil
		}
		return pave.Bytes(200, resp.Header.Get("Content-Type"), resp.Body), nil
	})
}

// A request with its own method and header fields.
func ExampleDo() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		req := &httpc.Request{
			Method: "PUT",
			URL:    "https://api.example.com/v1/items/42",
			Body:   r.Body,
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", r.RequestID)
		resp, err := httpc.Do(req)
		if err != nil {
			return nil, err
		}
		return pave.JSON(200, map[string]int{"upstream_status": resp.Status}), nil
	})
}

// Outside pave, as under go test, there is no host to send requests.
func ExamplePost() {
	_, err := httpc.Post("https://api.example.com/v1/events", "application/json", []byte(`{"event":"signup"}`))
	fmt.Println(errors.Is(err, httpc.ErrUnavailable))
	// Output: true
}
