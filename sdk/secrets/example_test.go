package secrets_test

import (
	"errors"

	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/secrets"
)

// A handler reads a granted secret when it needs it and keeps the value out
// of its responses and logs.
func ExampleGet() {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) {
		key, err := secrets.Get("PAYMENTS_API_KEY")
		switch {
		case errors.Is(err, secrets.ErrNotFound):
			return pave.Text(503, "payments are not configured\n"), nil
		case err != nil:
			return nil, err // logged by the SDK; the caller gets 502
		}
		_ = key // authenticate to the payments service with key
		return pave.Text(200, "paid\n"), nil
	})
}
