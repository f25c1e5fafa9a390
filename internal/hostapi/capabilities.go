package hostapi

import (
	"context"
	"errors"
	"math"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/pave-dev/pave/abi"
)

// Capabilities is one invocation's access to what its manifest granted.
// The implementation (package capability) checks every call against the
// grants, records it and audits denials; the host functions here only move
// bytes between guest memory and it, and turn its errors into the ABI's
// error codes.
type Capabilities interface {
	Secret(ctx context.Context, name string) ([]byte, error)
	KVGet(ctx context.Context, bucket, key string) (value []byte, revision uint64, err error)
	KVPut(ctx context.Context, bucket, key string, value []byte) (revision uint64, err error)
	// KVCAS writes only if key is at revision; revision 0 creates.
	KVCAS(ctx context.Context, bucket, key string, value []byte, revision uint64) (uint64, error)
	KVDelete(ctx context.Context, bucket, key string) error
	KVList(ctx context.Context, bucket, prefix string) ([]string, error)
	// HTTP sends an outbound request to a granted host.
	HTTP(ctx context.Context, req *abi.Outbound) (*abi.Response, error)
	// Invoke runs a granted function on req, whose URL is a path and
	// query.
	Invoke(ctx context.Context, function string, req *abi.Outbound) (*abi.Response, error)
	// Publish stores data as an event on a granted topic and returns the
	// event's id.
	Publish(ctx context.Context, topic string, data []byte) (id string, err error)
}

// Errors a Capabilities implementation returns, wrapped with a message the
// guest may read. Anything else becomes ErrCodeUnavailable.
var (
	ErrInvalid  = errors.New("invalid argument")
	ErrDenied   = errors.New("not granted")
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("revision conflict")
	ErrLimit    = errors.New("limit reached")
)

type capsKey struct{}

// WithCapabilities returns a context whose invocations use caps.
func WithCapabilities(ctx context.Context, caps Capabilities) context.Context {
	return context.WithValue(ctx, capsKey{}, caps)
}

// CapabilitiesFrom returns the capabilities bound to ctx, or nil.
func CapabilitiesFrom(ctx context.Context) Capabilities {
	c, _ := ctx.Value(capsKey{}).(Capabilities)
	return c
}

// maxNameArg bounds the names (secrets, buckets, keys, prefixes) a guest
// passes.
const maxNameArg = 512

// setResult makes b the pending result and returns its length for the
// guest.
func (c *Call) setResult(b []byte) uint64 {
	c.result, c.hasResult = b, true
	return api.EncodeI32(int32(len(b)))
}

// fail makes a short message the pending result and returns code.
func (c *Call) fail(code int32, err error) uint64 {
	msg := "unavailable"
	if err != nil {
		msg = err.Error()
		if len(msg) > 512 {
			msg = msg[:512]
		}
	}
	c.result, c.hasResult = []byte(msg), true
	return api.EncodeI32(code)
}

// codeOf maps a capability error to the ABI's error code.
func codeOf(err error) int32 {
	switch {
	case errors.Is(err, ErrInvalid):
		return abi.ErrCodeInvalid
	case errors.Is(err, ErrDenied):
		return abi.ErrCodeDenied
	case errors.Is(err, ErrNotFound):
		return abi.ErrCodeNotFound
	case errors.Is(err, ErrConflict):
		return abi.ErrCodeConflict
	case errors.Is(err, ErrLimit):
		return abi.ErrCodeLimit
	}
	return abi.ErrCodeUnavailable
}

// failErr is fail with the code of err. Messages of unexpected errors stay
// on the host: they may name internals.
func (c *Call) failErr(err error) uint64 {
	code := codeOf(err)
	if code == abi.ErrCodeUnavailable {
		return c.fail(code, errors.New("unavailable"))
	}
	return c.fail(code, err)
}

func resultRead(ctx context.Context, m api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	c := CallFrom(ctx)
	if c == nil || !c.hasResult || int(n) < len(c.result) || !inMemory(m, ptr, n) || !m.Memory().Write(ptr, c.result) {
		stack[0] = failed
		return
	}
	stack[0] = uint64(len(c.result))
}

// guestArgs reads the arguments of a capability host function: ranges of
// guest memory named by (pointer, length) pairs on the stack. A range that
// is too long or outside memory marks the call bad and reads as empty.
type guestArgs struct {
	m     api.Module
	stack []uint64
	bad   bool
}

// read returns the range named by stack[i:i+2], if it is at most max
// bytes long, without copying it.
func (a *guestArgs) read(i int, max uint32) []byte {
	n := api.DecodeU32(a.stack[i+1])
	if n > max {
		a.bad = true
		return nil
	}
	b, ok := a.m.Memory().Read(api.DecodeU32(a.stack[i]), n)
	if !ok {
		a.bad = true
		return nil
	}
	return b
}

// name copies a string argument (a secret, bucket, key, prefix, topic or
// function name).
func (a *guestArgs) name(i int) string {
	return string(a.read(i, maxNameArg))
}

// bytes copies a byte argument of at most max bytes.
func (a *guestArgs) bytes(i int, max uint32) []byte {
	return append([]byte(nil), a.read(i, max)...)
}

// outbound decodes an encoded request argument; the arguments read before
// it must be good too.
func (a *guestArgs) outbound(i int) (*abi.Outbound, error) {
	b := a.read(i, math.MaxUint32)
	if a.bad {
		return nil, ErrInvalid
	}
	req, err := abi.DecodeOutbound(b)
	if err != nil {
		return nil, guestError{abi.ErrCodeInvalid, err}
	}
	return req, nil
}

// guestError is a failure whose code and message the host function chose,
// passed to the guest as it is.
type guestError struct {
	code int32
	err  error
}

func (e guestError) Error() string { return e.err.Error() }

// capability makes f a host function: the preamble every capability call
// shares (the invocation and its capabilities), then f's result, or its
// error as an ABI error code and message.
func capability(f func(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error)) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, stack []uint64) {
		c := CallFrom(ctx)
		if c == nil {
			// Not inside an invocation (module initialisation): nothing is
			// granted then.
			stack[0] = api.EncodeI32(abi.ErrCodeDenied)
			return
		}
		caps := CapabilitiesFrom(ctx)
		if caps == nil {
			stack[0] = c.fail(abi.ErrCodeDenied, ErrDenied)
			return
		}
		b, err := f(ctx, caps, &guestArgs{m: m, stack: stack})
		var ge guestError
		switch {
		case errors.As(err, &ge):
			stack[0] = c.fail(ge.code, ge.err)
		case err != nil:
			stack[0] = c.failErr(err)
		default:
			stack[0] = c.setResult(b)
		}
	}
}

// InstantiateCapabilities adds the capability modules pave implements to r.
// They are linked into a guest only if it imports them, and the deploy
// check refuses imports of groups the manifest does not grant.
func InstantiateCapabilities(ctx context.Context, r wazero.Runtime) error {
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	fn := func(b wazero.HostModuleBuilder, name string, f api.GoModuleFunc, params ...api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(f, params, []api.ValueType{i32}).Export(name)
	}
	sec := r.NewHostModuleBuilder(abi.ImportModuleSecrets)
	fn(sec, abi.FuncSecretGet, capability(secretGet), i32, i32)
	if _, err := sec.Instantiate(ctx); err != nil {
		return err
	}
	kv := r.NewHostModuleBuilder(abi.ImportModuleKV)
	fn(kv, abi.FuncKVGet, capability(kvGet), i32, i32, i32, i32)
	fn(kv, abi.FuncKVPut, capability(kvPut), i32, i32, i32, i32, i32, i32)
	fn(kv, abi.FuncKVCAS, capability(kvCAS), i32, i32, i32, i32, i32, i32, i64)
	fn(kv, abi.FuncKVDelete, capability(kvDelete), i32, i32, i32, i32)
	fn(kv, abi.FuncKVList, capability(kvList), i32, i32, i32, i32)
	if _, err := kv.Instantiate(ctx); err != nil {
		return err
	}
	h := r.NewHostModuleBuilder(abi.ImportModuleHTTP)
	fn(h, abi.FuncHTTPFetch, capability(httpFetch), i32, i32)
	if _, err := h.Instantiate(ctx); err != nil {
		return err
	}
	inv := r.NewHostModuleBuilder(abi.ImportModuleInvoke)
	fn(inv, abi.FuncInvokeCall, capability(invokeCall), i32, i32, i32, i32)
	if _, err := inv.Instantiate(ctx); err != nil {
		return err
	}
	pub := r.NewHostModuleBuilder(abi.ImportModulePublish)
	fn(pub, abi.FuncPublish, capability(publish), i32, i32, i32, i32)
	_, err := pub.Instantiate(ctx)
	return err
}

func invokeCall(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	name := a.name(0)
	req, err := a.outbound(2)
	if err != nil {
		return nil, err
	}
	return response(caps.Invoke(ctx, name, req))
}

func publish(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	topic, data := a.name(0), a.bytes(2, abi.MaxEventData)
	if a.bad {
		return nil, ErrInvalid
	}
	id, err := caps.Publish(ctx, topic, data)
	return []byte(id), err
}

func httpFetch(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	req, err := a.outbound(0)
	if err != nil {
		return nil, err
	}
	return response(caps.HTTP(ctx, req))
}

// response encodes the answer of an outbound request or an invocation for
// the guest.
func response(resp *abi.Response, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	if err := resp.Validate(); err != nil {
		return nil, guestError{abi.ErrCodeUnavailable, errors.New("the response cannot be passed to the function")}
	}
	return abi.AppendResponse(nil, resp), nil
}

func secretGet(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	name := a.name(0)
	if a.bad {
		return nil, ErrInvalid
	}
	return caps.Secret(ctx, name)
}

func kvGet(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	bucket, key := a.name(0), a.name(2)
	if a.bad {
		return nil, ErrInvalid
	}
	v, rev, err := caps.KVGet(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	return abi.AppendKVEntry(nil, rev, v), nil
}

func kvPut(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	bucket, key, value := a.name(0), a.name(2), a.bytes(4, abi.MaxKVValue)
	if a.bad {
		return nil, ErrInvalid
	}
	return revision(caps.KVPut(ctx, bucket, key, value))
}

func kvCAS(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	bucket, key, value := a.name(0), a.name(2), a.bytes(4, abi.MaxKVValue)
	if a.bad {
		return nil, ErrInvalid
	}
	return revision(caps.KVCAS(ctx, bucket, key, value, a.stack[6]))
}

// revision encodes the answer of a kv write for the guest.
func revision(rev uint64, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return abi.AppendKVEntry(nil, rev, nil), nil
}

func kvDelete(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	bucket, key := a.name(0), a.name(2)
	if a.bad {
		return nil, ErrInvalid
	}
	return nil, caps.KVDelete(ctx, bucket, key)
}

func kvList(ctx context.Context, caps Capabilities, a *guestArgs) ([]byte, error) {
	bucket, prefix := a.name(0), a.name(2)
	if a.bad {
		return nil, ErrInvalid
	}
	keys, err := caps.KVList(ctx, bucket, prefix)
	if err != nil {
		return nil, err
	}
	return abi.AppendStrings(nil, keys), nil
}
