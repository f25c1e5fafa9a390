package invoke

import (
	"errors"
	"strings"
	"testing"

	"github.com/pave-dev/pave/abi"
	pave "github.com/pave-dev/pave/sdk"
	"github.com/pave-dev/pave/sdk/internal/hostcall"
)

var allErrors = []error{ErrInvalid, ErrDenied, ErrNotFound, ErrLimit, ErrUnavailable}

func only(err, want error) bool {
	for _, e := range allErrors {
		if errors.Is(err, e) != (e == want) {
			return false
		}
	}
	return true
}

func TestCallOutsideWebAssembly(t *testing.T) {
	resp, err := Call("billing", &pave.Request{Path: "/charge"})
	if resp != nil || !only(err, ErrUnavailable) {
		t.Fatalf("Call = %v, %v; want only %v", resp, err, ErrUnavailable)
	}
	if !strings.HasPrefix(err.Error(), `invoke: call "billing": `) {
		t.Errorf("error %q does not name the call", err)
	}
}

// fakeHost replaces the host for one test.
func fakeHost(t *testing.T, host func(function string, req []byte) ([]byte, error)) {
	t.Helper()
	saved := call
	call = func(_ hostcall.Op, function string, req []byte) ([]byte, error) { return host(function, req) }
	t.Cleanup(func() { call = saved })
}

func TestCallEncodesTheRequestAndDecodesTheResponse(t *testing.T) {
	var got *abi.Outbound
	var gotFn string
	fakeHost(t, func(function string, req []byte) ([]byte, error) {
		gotFn = function
		var err error
		if got, err = abi.DecodeOutbound(req); err != nil {
			t.Fatalf("the SDK sent a malformed request: %v", err)
		}
		return abi.AppendResponse(nil, &abi.Response{Status: 201, Headers: []abi.Header{{Name: "Content-Type", Value: "text/plain"}}, Body: []byte("charged")}), nil
	})
	resp, err := Call("billing", &pave.Request{Method: "PUT", Path: "/charge/7", RawQuery: "dry=1",
		Header: pave.Header{{Name: "X-Order", Value: "7"}}, Body: []byte(`{"cents":100}`)})
	if err != nil {
		t.Fatal(err)
	}
	if gotFn != "billing" || got.Method != "PUT" || got.URL != "/charge/7?dry=1" || string(got.Body) != `{"cents":100}` || got.Headers[0].Value != "7" {
		t.Errorf("host received %q %+v", gotFn, got)
	}
	if resp.Status != 201 || string(resp.Body) != "charged" || resp.Header.Get("content-type") != "text/plain" {
		t.Errorf("response = %+v", resp)
	}
}

func TestCallDefaults(t *testing.T) {
	var got *abi.Outbound
	fakeHost(t, func(_ string, req []byte) ([]byte, error) {
		got, _ = abi.DecodeOutbound(req)
		return abi.AppendResponse(nil, &abi.Response{Status: 204}), nil
	})
	if _, err := Call("billing", nil); err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.URL != "/" {
		t.Errorf("defaults: %s %s, want POST /", got.Method, got.URL)
	}
}

func TestCallRefusesBeforeTheHost(t *testing.T) {
	fakeHost(t, func(string, []byte) ([]byte, error) {
		t.Fatal("the host was called")
		return nil, nil
	})
	for name, c := range map[string]struct {
		fn  string
		req *pave.Request
	}{
		"empty name":       {"", nil},
		"long name":        {strings.Repeat("f", hostcall.MaxName+1), nil},
		"relative path":    {"billing", &pave.Request{Path: "charge"}},
		"query in path":    {"billing", &pave.Request{Path: "/charge?x=1"}},
		"bad method":       {"billing", &pave.Request{Method: "PO ST"}},
		"header with CRLF": {"billing", &pave.Request{Header: pave.Header{{Name: "X", Value: "a\r\nInjected: 1"}}}},
		"too large":        {"billing", &pave.Request{Body: make([]byte, abi.MaxOutboundSize)}},
	} {
		if _, err := Call(c.fn, c.req); !only(err, ErrInvalid) {
			t.Errorf("%s: error %v, want only %v", name, err, ErrInvalid)
		}
	}
}

func TestCallHostErrors(t *testing.T) {
	for code, want := range map[int32]error{
		abi.ErrCodeDenied: ErrDenied, abi.ErrCodeNotFound: ErrNotFound,
		abi.ErrCodeLimit: ErrLimit, abi.ErrCodeUnavailable: ErrUnavailable,
	} {
		fakeHost(t, func(string, []byte) ([]byte, error) {
			return nil, hostcall.Fail(hostcall.Op{Call: "invoke: call"}, kinds, code, "")
		})
		if _, err := Call("billing", nil); !only(err, want) {
			t.Errorf("code %d: error %v, want only %v", code, err, want)
		}
	}
	fakeHost(t, func(string, []byte) ([]byte, error) { return []byte{9, 9, 9}, nil })
	if _, err := Call("billing", nil); !only(err, ErrUnavailable) {
		t.Errorf("malformed result: error %v, want only %v", err, ErrUnavailable)
	}
}
