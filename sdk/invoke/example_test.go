package invoke_test

import (
	"net/http"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/invoke"
)

// A public function hands the work to an internal one (a function with no
// routes) that its manifest grants, and passes its answer on.
func ExampleCall() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		resp, err := invoke.Call("billing", &pave.Request{Method: "POST", Path: "/charge", Body: r.Body})
		if err != nil {
			return nil, err // not granted or not deployed: logged, the caller gets 502
		}
		if resp.Status != http.StatusOK {
			return pave.Text(http.StatusBadGateway, "billing is unavailable\n"), nil
		}
		return resp, nil
	})
}
