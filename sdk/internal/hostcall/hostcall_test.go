package hostcall

import (
	"bytes"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pave-dev/pave/abi"
)

var (
	errInvalid     = errors.New("invalid")
	errDenied      = errors.New("denied")
	errUnavailable = errors.New("unavailable")
)

var testKinds = Kinds{
	abi.ErrCodeInvalid:     errInvalid,
	abi.ErrCodeDenied:      errDenied,
	abi.ErrCodeUnavailable: errUnavailable,
}

// host imitates result_read over one pending result, as the host does:
// -1 when nothing is pending or the buffer is too small.
type host struct {
	pending []byte
	has     bool
	reads   int
	sizes   []int
}

func (h *host) read(buf []byte) int32 {
	h.reads++
	h.sizes = append(h.sizes, len(buf))
	if !h.has || len(buf) < len(h.pending) {
		return -1
	}
	return int32(copy(buf, h.pending))
}

func pending(b string) *host { return &host{pending: []byte(b), has: true} }

func TestFinishSuccess(t *testing.T) {
	h := pending("a secret value")
	got, err := finish(Op{Call: "op"}, testKinds, int32(len(h.pending)), h.read)
	if err != nil || string(got) != "a secret value" {
		t.Fatalf("finish = %q, %v", got, err)
	}
	if h.sizes[0] != len(h.pending) {
		t.Errorf("result_read got a %d-byte buffer, want exactly %d", h.sizes[0], len(h.pending))
	}
	got[0] = 'X'
	if h.pending[0] == 'X' {
		t.Error("the result aliases the host's bytes")
	}
}

func TestFinishEmpty(t *testing.T) {
	h := &host{}
	got, err := finish(Op{Call: "op"}, testKinds, 0, h.read)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("finish(0) = %#v, %v; want an empty, non-nil result", got, err)
	}
	if h.reads != 0 {
		t.Errorf("finish(0) called result_read %d times, want none", h.reads)
	}
}

func TestFinishReadFails(t *testing.T) {
	for name, h := range map[string]*host{
		"nothing pending": {},
		"host has more":   pending("longer than announced"),
		"host has less":   pending("ab"),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := finish(Op{Call: "op"}, testKinds, 5, h.read)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, errUnavailable) || e.Code != abi.ErrCodeUnavailable {
				t.Fatalf("finish = %q, %v; want an unavailable *Error", got, err)
			}
			if got != nil {
				t.Errorf("finish returned %q with its error", got)
			}
		})
	}
}

func TestFinishErrors(t *testing.T) {
	tests := []struct {
		name    string
		code    int32
		host    *host
		kind    error
		message string
	}{
		{"with message", abi.ErrCodeDenied, pending(`not granted: secrets "X" is not granted to this function`), errDenied, `not granted: secrets "X" is not granted to this function`},
		{"without message", abi.ErrCodeInvalid, &host{}, errInvalid, "invalid argument"},
		{"empty message", abi.ErrCodeDenied, pending(""), errDenied, "not granted"},
		{"code the package lacks", abi.ErrCodeConflict, pending("revision conflict: the key changed"), errUnavailable, "revision conflict: the key changed"},
		{"unknown code", -99, &host{}, errUnavailable, "unavailable"},
		{"message too long for the buffer", abi.ErrCodeDenied, pending(strings.Repeat("m", MaxMessage+1)), errDenied, "not granted"},
		{"message of the longest length", abi.ErrCodeDenied, pending(strings.Repeat("m", MaxMessage)), errDenied, strings.Repeat("m", MaxMessage)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := finish(Op{Call: "kv: get in bucket", Name: "b"}, testKinds, tt.code, tt.host.read)
			if got != nil {
				t.Errorf("finish returned %q with its error", got)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("finish error = %v, want an *Error", err)
			}
			if e.Code != tt.code || e.Kind != tt.kind || e.Message != tt.message {
				t.Errorf("error = %+v, want code %d, kind %v, message %q", e, tt.code, tt.kind, tt.message)
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.kind)
			}
			if want := `kv: get in bucket "b": ` + tt.message; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
			if tt.host.reads != 1 || tt.host.sizes[0] != MaxMessage {
				t.Errorf("result_read called %d times with sizes %v, want once with %d", tt.host.reads, tt.host.sizes, MaxMessage)
			}
		})
	}
}

// A read that claims to have written more than the buffer holds must not
// make finish slice past it.
func TestFinishLyingRead(t *testing.T) {
	lie := func([]byte) int32 { return MaxMessage + 100 }
	_, err := finish(Op{Call: "op"}, testKinds, abi.ErrCodeDenied, lie)
	var e *Error
	if !errors.As(err, &e) || e.Message != "not granted" {
		t.Fatalf("finish = %v, want the description of the code", err)
	}
}

func TestDescribe(t *testing.T) {
	for code, want := range map[int32]string{
		abi.ErrCodeInvalid:     "invalid argument",
		abi.ErrCodeDenied:      "not granted",
		abi.ErrCodeNotFound:    "not found",
		abi.ErrCodeConflict:    "revision conflict",
		abi.ErrCodeLimit:       "limit reached",
		abi.ErrCodeUnavailable: "unavailable",
		-42:                    "unavailable",
	} {
		if got := Describe(code); got != want {
			t.Errorf("Describe(%d) = %q, want %q", code, got, want)
		}
	}
}

// Only one result is pending on the host at a time, so a call and the
// reading of its result must not interleave with another goroutine's call.
func TestCallsAreSerialised(t *testing.T) {
	var h host // shared, like the host's pending slot
	var wg sync.WaitGroup
	const n = 50
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := []byte("result of call " + strconv.Itoa(i))
			call := func() int32 {
				h.pending, h.has = want, true
				runtime.Gosched() // invite another goroutine's call in
				return int32(len(want))
			}
			read := func(buf []byte) int32 {
				runtime.Gosched()
				return h.read(buf)
			}
			got, err := locked(Op{Call: "op"}, testKinds, call, read)
			if err != nil || !bytes.Equal(got, want) {
				errs <- "got " + strconv.Quote(string(got)) + ", want " + strconv.Quote(string(want))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestCallOutsideWebAssembly(t *testing.T) {
	if available {
		t.Skip("running in WebAssembly")
	}
	called := false
	_, err := Call(Op{Call: "secrets: get", Name: "API_KEY"}, testKinds, func() int32 { called = true; return 0 })
	if called {
		t.Error("Call called the import outside WebAssembly")
	}
	if !errors.Is(err, errUnavailable) {
		t.Fatalf("Call = %v, want it to wrap %v", err, errUnavailable)
	}
	if !strings.HasPrefix(err.Error(), `secrets: get "API_KEY": `) {
		t.Errorf("Error() = %q, want the op first", err)
	}
}

func FuzzFinish(f *testing.F) {
	f.Add(int32(3), []byte("abc"), true)
	f.Add(int32(-2), []byte("not granted"), true)
	f.Add(int32(-7), []byte{}, false)
	f.Fuzz(func(t *testing.T, ret int32, pend []byte, has bool) {
		if ret > 1<<20 {
			ret = 1 << 20 // keep allocations small
		}
		h := &host{pending: pend, has: has}
		got, err := finish(Op{Call: "op"}, testKinds, ret, h.read)
		switch {
		case err == nil && (ret < 0 || len(got) != int(ret)):
			t.Fatalf("finish(%d) = %d bytes and no error", ret, len(got))
		case err == nil && ret > 0 && !bytes.Equal(got, pend):
			t.Fatalf("finish(%d) = %q, pending %q", ret, got, pend)
		case err != nil && got != nil:
			t.Fatalf("finish returned bytes with error %v", err)
		case err != nil && len(err.(*Error).Message) > MaxMessage:
			t.Fatalf("message of %d bytes", len(err.(*Error).Message))
		}
	})
}

func TestOpString(t *testing.T) {
	long := strings.Repeat("n", 70)
	tests := []struct {
		op   Op
		want string
	}{
		{Op{Call: "secrets: get", Name: "API_KEY"}, `secrets: get "API_KEY"`},
		{Op{Call: "kv: put in bucket", Name: "orders"}, `kv: put in bucket "orders"`},
		{Op{Call: "events: publish", Name: long}, `events: publish "` + long[:64] + `..."`},
		{Op{Call: "invoke: call", Name: "a\"b\nc"}, `invoke: call "a\"b\nc"`},
		{Op{Call: "secrets: get"}, `secrets: get ""`},
		{Op{Call: "httpc: request", IsURL: true}, `httpc: request`},
		{Op{Call: "httpc: GET", Name: "https://u:pw@api.example.com:8443/p?q#f", IsURL: true}, `httpc: GET "api.example.com:8443"`},
		{Op{Call: "httpc: GET", Name: "api.example.com/p?token=t", IsURL: true}, `httpc: GET`},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.op, got, tt.want)
		}
	}
}
