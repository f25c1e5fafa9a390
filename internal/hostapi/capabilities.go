package hostapi

import (
	"context"
	"errors"

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

// readArg copies a guest string argument, refusing oversized or
// out-of-bounds ones.
func readArg(m api.Module, ptr, n uint32, max uint32) (string, bool) {
	if n > max {
		return "", false
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return "", false
	}
	return string(b), true
}

// readBytes copies a guest byte argument.
func readBytes(m api.Module, ptr, n uint32, max uint32) ([]byte, bool) {
	if n > max {
		return nil, false
	}
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), b...), true
}

// capCall is the preamble of every capability host function: the
// invocation state and its capabilities, or a failure already answered.
func capCall(ctx context.Context, stack []uint64) (*Call, Capabilities, bool) {
	c := CallFrom(ctx)
	if c == nil {
		// Not inside an invocation (module initialisation): nothing is
		// granted then.
		stack[0] = api.EncodeI32(abi.ErrCodeDenied)
		return nil, nil, false
	}
	caps := CapabilitiesFrom(ctx)
	if caps == nil {
		stack[0] = c.fail(abi.ErrCodeDenied, ErrDenied)
		return nil, nil, false
	}
	return c, caps, true
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
	fn(sec, abi.FuncSecretGet, secretGet, i32, i32)
	if _, err := sec.Instantiate(ctx); err != nil {
		return err
	}
	kv := r.NewHostModuleBuilder(abi.ImportModuleKV)
	fn(kv, abi.FuncKVGet, kvGet, i32, i32, i32, i32)
	fn(kv, abi.FuncKVPut, kvPut, i32, i32, i32, i32, i32, i32)
	fn(kv, abi.FuncKVCAS, kvCAS, i32, i32, i32, i32, i32, i32, i64)
	fn(kv, abi.FuncKVDelete, kvDelete, i32, i32, i32, i32)
	fn(kv, abi.FuncKVList, kvList, i32, i32, i32, i32)
	if _, err := kv.Instantiate(ctx); err != nil {
		return err
	}
	h := r.NewHostModuleBuilder(abi.ImportModuleHTTP)
	fn(h, abi.FuncHTTPFetch, httpFetch, i32, i32)
	if _, err := h.Instantiate(ctx); err != nil {
		return err
	}
	inv := r.NewHostModuleBuilder(abi.ImportModuleInvoke)
	fn(inv, abi.FuncInvokeCall, invokeCall, i32, i32, i32, i32)
	if _, err := inv.Instantiate(ctx); err != nil {
		return err
	}
	pub := r.NewHostModuleBuilder(abi.ImportModulePublish)
	fn(pub, abi.FuncPublish, publish, i32, i32, i32, i32)
	_, err := pub.Instantiate(ctx)
	return err
}

func invokeCall(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	name, ok := readArg(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), maxNameArg)
	if !ok {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return
	}
	b, ok := m.Memory().Read(api.DecodeU32(stack[2]), api.DecodeU32(stack[3]))
	if !ok {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return
	}
	req, err := abi.DecodeOutbound(b)
	if err != nil {
		stack[0] = c.fail(abi.ErrCodeInvalid, err)
		return
	}
	resp, err := caps.Invoke(ctx, name, req)
	if err != nil {
		stack[0] = c.failErr(err)
		return
	}
	if err := resp.Validate(); err != nil {
		stack[0] = c.fail(abi.ErrCodeUnavailable, errors.New("the response cannot be passed to the function"))
		return
	}
	stack[0] = c.setResult(abi.AppendResponse(nil, resp))
}

func publish(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	topic, ok := readArg(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), maxNameArg)
	if !ok {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return
	}
	data, ok := readBytes(m, api.DecodeU32(stack[2]), api.DecodeU32(stack[3]), abi.MaxEventData)
	if !ok {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return
	}
	id, err := caps.Publish(ctx, topic, data)
	if err != nil {
		stack[0] = c.failErr(err)
		return
	}
	stack[0] = c.setResult([]byte(id))
}

func httpFetch(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	b, ok := m.Memory().Read(api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	if !ok {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return
	}
	req, err := abi.DecodeOutbound(b)
	if err != nil {
		stack[0] = c.fail(abi.ErrCodeInvalid, err)
		return
	}
	resp, err := caps.HTTP(ctx, req)
	if err != nil {
		stack[0] = c.failErr(err)
		return
	}
	if err := resp.Validate(); err != nil {
		stack[0] = c.fail(abi.ErrCodeUnavailable, errors.New("the response cannot be passed to the function"))
		return
	}
	stack[0] = c.setResult(abi.AppendResponse(nil, resp))
}

func secretGet(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	name, ok := readArg(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), maxNameArg)
	if !ok {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return
	}
	v, err := caps.Secret(ctx, name)
	if err != nil {
		stack[0] = c.failErr(err)
		return
	}
	stack[0] = c.setResult(v)
}

// bucketKey reads the (bucket, key) pair of a kv call from stack[0:4].
func bucketKey(c *Call, m api.Module, stack []uint64) (bucket, key string, ok bool) {
	bucket, ok1 := readArg(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), maxNameArg)
	key, ok2 := readArg(m, api.DecodeU32(stack[2]), api.DecodeU32(stack[3]), maxNameArg)
	if !ok1 || !ok2 {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return "", "", false
	}
	return bucket, key, true
}

func kvGet(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	bucket, key, ok := bucketKey(c, m, stack)
	if !ok {
		return
	}
	v, rev, err := caps.KVGet(ctx, bucket, key)
	if err != nil {
		stack[0] = c.failErr(err)
		return
	}
	stack[0] = c.setResult(abi.AppendKVEntry(nil, rev, v))
}

func kvPut(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	bucket, key, ok := bucketKey(c, m, stack)
	if !ok {
		return
	}
	value, ok := readBytes(m, api.DecodeU32(stack[4]), api.DecodeU32(stack[5]), abi.MaxKVValue)
	if !ok {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return
	}
	rev, err := caps.KVPut(ctx, bucket, key, value)
	if err != nil {
		stack[0] = c.failErr(err)
		return
	}
	stack[0] = c.setResult(abi.AppendKVEntry(nil, rev, nil))
}

func kvCAS(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	bucket, key, ok := bucketKey(c, m, stack)
	if !ok {
		return
	}
	value, ok := readBytes(m, api.DecodeU32(stack[4]), api.DecodeU32(stack[5]), abi.MaxKVValue)
	if !ok {
		stack[0] = c.fail(abi.ErrCodeInvalid, ErrInvalid)
		return
	}
	rev, err := caps.KVCAS(ctx, bucket, key, value, stack[6])
	if err != nil {
		stack[0] = c.failErr(err)
		return
	}
	stack[0] = c.setResult(abi.AppendKVEntry(nil, rev, nil))
}

func kvDelete(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	bucket, key, ok := bucketKey(c, m, stack)
	if !ok {
		return
	}
	if err := caps.KVDelete(ctx, bucket, key); err != nil {
		stack[0] = c.failErr(err)
		return
	}
	stack[0] = c.setResult(nil)
}

func kvList(ctx context.Context, m api.Module, stack []uint64) {
	c, caps, ok := capCall(ctx, stack)
	if !ok {
		return
	}
	bucket, prefix, ok := bucketKey(c, m, stack)
	if !ok {
		return
	}
	keys, err := caps.KVList(ctx, bucket, prefix)
	if err != nil {
		stack[0] = c.failErr(err)
		return
	}
	stack[0] = c.setResult(abi.AppendStrings(nil, keys))
}
