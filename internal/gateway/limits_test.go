package gateway

import (
	"fmt"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/internal/apierror"
)

// A request the ABI cannot carry is the caller's fault, not the function's.
func TestTooManyHeadersIsABadRequest(t *testing.T) {
	f := newFixture(t)
	r := request("GET", "/hello", tokGood, nil)
	for i := 0; i <= abi.MaxHeaders; i++ {
		r.Header.Set(fmt.Sprintf("X-H%d", i), "v")
	}
	errorDetail(t, f.serve(r), apierror.BadRequest)
	if n := len(f.eng.requests()); n != 0 {
		t.Fatalf("the engine ran %d times", n)
	}
}
