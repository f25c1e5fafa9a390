package pave_test

import (
	"fmt"

	pave "github.com/pave-dev/pave/sdk"
)

// A function registers its handler from init; main stays empty because a
// reactor module's main is never called.
func ExampleHandle() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		var in struct {
			Name string `json:"name"`
		}
		if err := r.DecodeJSON(&in); err != nil {
			return pave.JSON(400, map[string]string{"error": "body must be JSON"}), nil
		}
		pave.Infof("greeting %q for %s", in.Name, r.Caller)
		return pave.JSON(200, map[string]string{"greeting": "Hello, " + in.Name}), nil
	})
}

func ExampleHeader() {
	h := pave.Header{{Name: "Set-Cookie", Value: "a=1"}}
	h.Add("set-cookie", "b=2")
	h.Set("Cache-Control", "no-store")
	fmt.Println(h.Get("cache-control"), h.Values("Set-Cookie"))
	// Output: no-store [a=1 b=2]
}
