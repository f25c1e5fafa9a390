// Package hostcall carries out the calling convention every capability
// import of the pave ABI shares, so that the SDK's capability packages
// (secrets, kv, ...) only declare their imports and decode their results.
//
// A capability function answers with an i32: a length of zero or more on
// success, with the result pending on the host, or a negative error code
// with a short message pending instead. Either is copied into guest memory
// with pave_v1.result_read. Because only one result is pending at a time,
// Call serialises calls: a goroutine switch between a capability call and
// its result_read would otherwise let another call replace the result.
//
// Outside WebAssembly there is no host: Call fails with
// abi.ErrCodeUnavailable without calling anything, so that functions using
// the capability packages build and test with the ordinary go command.
package hostcall

import (
	"net/url"
	"strconv"
	"sync"

	"github.com/pave-dev/pave/abi"
)

// MaxMessage is the longest error message the host leaves pending; longer
// ones are cut.
const MaxMessage = 512

// Op names a capability call for people, such as `secrets: get "API_KEY"`
// or `httpc: GET "api.example.com"`: Call followed by the quoted name. It
// is made on every call but formatted only when an error is read:
// formatting (fmt, and parsing a URL for its host) costs a WebAssembly
// guest more than the rest of the call's own work.
type Op struct {
	// Call is the package and the verb, such as "kv: get in bucket".
	Call string
	// Name is what the call names (a secret, bucket, function or topic),
	// quoted and shortened when formatted, even when empty.
	Name string
	// IsURL says that Name is an outbound request's URL: its host and
	// port are named instead, and nothing for a URL without a host, so
	// that no credential in the URL reaches an error.
	IsURL bool
}

// String formats o.
func (o Op) String() string {
	name := o.Name
	if o.IsURL {
		if name = hostOf(o.Name); name == "" {
			return o.Call
		}
	}
	return o.Call + " " + strconv.Quote(Shorten(name))
}

// hostOf returns the host and port of an absolute URL, or "".
func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return ""
	}
	return u.Host
}

// Error is a failed capability call.
type Error struct {
	// Op names the call.
	Op Op
	// Code is the ABI's error code, one of abi.ErrCode*.
	Code int32
	// Kind is the sentinel error of the calling package that Code maps to;
	// Unwrap returns it, so errors.Is matches it.
	Kind error
	// Message is the host's reason, or, when it left none, a description
	// of Code.
	Message string
}

func (e *Error) Error() string { return e.Op.String() + ": " + e.Message }

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

// Kinds maps the ABI's error codes to a package's sentinel errors. A code
// the map lacks maps to the entry for abi.ErrCodeUnavailable.
type Kinds map[int32]error

func (k Kinds) of(code int32) error {
	if err, ok := k[code]; ok {
		return err
	}
	return k[abi.ErrCodeUnavailable]
}

// Describe returns a short description of an ABI error code, used when the
// host leaves no message.
func Describe(code int32) string {
	switch code {
	case abi.ErrCodeInvalid:
		return "invalid argument"
	case abi.ErrCodeDenied:
		return "not granted"
	case abi.ErrCodeNotFound:
		return "not found"
	case abi.ErrCodeConflict:
		return "revision conflict"
	case abi.ErrCodeLimit:
		return "limit reached"
	}
	return "unavailable"
}

// Fail returns the *Error of op for code with message, or with the
// description of code if message is empty. The capability packages use it
// for arguments they refuse before calling the host.
func Fail(op Op, kinds Kinds, code int32, message string) error {
	if message == "" {
		message = Describe(code)
	}
	return &Error{Op: op, Code: code, Kind: kinds.of(code), Message: message}
}

// mu serialises capability calls with the reading of their result.
var mu sync.Mutex

// Call runs call, which must be one capability import, and returns its
// result, copied out of the host; the slice is the caller's. On failure the
// error is an *Error whose Kind comes from kinds.
func Call(op Op, kinds Kinds, call func() int32) ([]byte, error) {
	if !available {
		return nil, Fail(op, kinds, abi.ErrCodeUnavailable, "capabilities are available only to functions running in pave")
	}
	return locked(op, kinds, call, readResult)
}

// locked makes call and reads its result with read, holding mu.
func locked(op Op, kinds Kinds, call func() int32, read func([]byte) int32) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	return finish(op, kinds, call(), read)
}

// finish turns ret, the answer of a capability call, into its result or
// error, copying the pending bytes out with read (result_read: it returns
// the length copied, or a negative number when the buffer is too small or
// nothing is pending).
func finish(op Op, kinds Kinds, ret int32, read func([]byte) int32) ([]byte, error) {
	if ret < 0 {
		buf := make([]byte, MaxMessage)
		n := read(buf)
		if n < 0 || int(n) > len(buf) {
			n = 0 // no message: Fail describes the code
		}
		return nil, Fail(op, kinds, ret, string(buf[:n]))
	}
	if ret == 0 {
		return []byte{}, nil
	}
	buf := make([]byte, ret)
	if n := read(buf); n != ret {
		return nil, Fail(op, kinds, abi.ErrCodeUnavailable, "reading the result from the host failed")
	}
	return buf, nil
}
