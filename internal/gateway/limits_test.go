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

func TestCredentialsAndNominatedHeadersDoNotReachTheGuest(t *testing.T) {
	f := newFixture(t)
	for _, auth := range []string{tokGood, "Token " + tokGood, "Bearer pave_a_whatever"} {
		r := request("GET", "/files/x", "", nil) // a public route
		r.Header.Set("Authorization", auth)
		r.Header.Set("Connection", "X-Private, keep-alive")
		r.Header.Set("X-Private", "hop")
		if rec := f.serve(r); rec.Code != 200 {
			t.Fatalf("%d", rec.Code)
		}
		for _, h := range f.eng.lastRequest(t).Headers {
			if h.Name == "Authorization" || h.Name == "X-Private" {
				t.Errorf("%s: %s reached the guest", auth, h.Name)
			}
		}
	}
}
