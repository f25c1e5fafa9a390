package abi_test

import (
	"fmt"

	"github.com/pave-dev/pave/abi"
)

func Example() {
	// The host encodes the request and the guest decodes it.
	wire := abi.AppendRequest(nil, &abi.Request{
		Method:    "GET",
		Path:      "/users/42",
		Route:     "/users/{id}",
		Params:    []abi.Param{{Name: "id", Value: "42"}},
		Headers:   []abi.Header{{Name: "Accept", Value: "application/json"}},
		Caller:    "key:ci-bot",
		RequestID: "req-1",
	})
	req, err := abi.DecodeRequest(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Method, req.Path, req.Params[0].Name, "=", req.Params[0].Value)

	// The guest encodes the response and the host decodes it.
	wire = abi.AppendResponse(nil, &abi.Response{
		Status:  404,
		Headers: []abi.Header{{Name: "Content-Type", Value: "text/plain"}},
		Body:    []byte("no such user\n"),
	})
	fmt.Printf("% x\n", wire[:4])
	resp, err := abi.DecodeResponse(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d %s: %q\n", resp.Status, resp.Headers[0].Value, resp.Body)

	// A header value that would end the header line is rejected.
	bad := &abi.Response{Status: 200, Headers: []abi.Header{{Name: "X-Note", Value: "ok\r\nSet-Cookie: a=b"}}}
	_, err = abi.DecodeResponse(abi.AppendResponse(nil, bad))
	fmt.Println(err, bad.Validate() == err)

	// Output:
	// GET /users/42 id = 42
	// 01 94 03 01
	// 404 text/plain: "no such user\n"
	// abi: invalid header value true
}
