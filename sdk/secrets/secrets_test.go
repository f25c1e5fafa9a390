package secrets

import (
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

func TestGetOutsideWebAssembly(t *testing.T) {
	v, err := Get("STRIPE_KEY")
	if v != "" || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get = %q, %v; want %v", v, err, ErrUnavailable)
	}
	for _, other := range []error{ErrInvalid, ErrDenied, ErrNotFound, ErrLimit} {
		if errors.Is(err, other) {
			t.Errorf("error %v also matches %v", err, other)
		}
	}
	if !strings.HasPrefix(err.Error(), `secrets: get "STRIPE_KEY": `) {
		t.Errorf("error = %q, want it to name the call", err)
	}
}

func TestGetInvalidNames(t *testing.T) {
	for _, name := range []string{"", strings.Repeat("n", hostcall.MaxName+1)} {
		v, err := Get(name)
		if v != "" || !errors.Is(err, ErrInvalid) {
			t.Errorf("Get of a %d-byte name = %q, %v; want %v", len(name), v, err, ErrInvalid)
		}
		if len(err.Error()) > 200 {
			t.Errorf("error of %d bytes quotes the whole name: %q", len(err.Error()), err)
		}
	}
}

func TestKinds(t *testing.T) {
	for code, want := range map[int32]error{
		abi.ErrCodeInvalid:     ErrInvalid,
		abi.ErrCodeDenied:      ErrDenied,
		abi.ErrCodeNotFound:    ErrNotFound,
		abi.ErrCodeConflict:    ErrUnavailable, // secrets have no revisions
		abi.ErrCodeLimit:       ErrLimit,
		abi.ErrCodeUnavailable: ErrUnavailable,
		-100:                   ErrUnavailable,
	} {
		err := hostcall.Fail(hostcall.Op{Call: "op"}, kinds, code, "")
		if !errors.Is(err, want) {
			t.Errorf("code %d: %v does not match %v", code, err, want)
		}
	}
}
