//go:build pave_kv

package main

import (
	"errors"
	"math"

	"github.com/dop251/goja"

	"github.com/pave-dev/pave/sdk/kv"
)

// env.kv(bucket) returns a bucket with promise-returning get,
// getWithRevision, put (with ifRevision, a compare-and-swap), delete and
// list, backed by sdk/kv. Built only for functions granted kv: the engine
// then imports pave_kv_v1.
var _ = func() bool {
	capabilities = append(capabilities, func(e *engine, env *goja.Object) {
		must(env.Set("kv", func(call goja.FunctionCall) goja.Value {
			return e.newBucket(kv.Open(call.Argument(0).String()))
		}))
	})
	return true
}()

// kvErrors are sdk/kv's errors and the codes a rejection carries for them.
var kvErrors = []errorKind{
	{kv.ErrInvalid, "invalid"}, {kv.ErrDenied, "denied"}, {kv.ErrNotFound, "not_found"},
	{kv.ErrConflict, "conflict"}, {kv.ErrLimit, "limit"}, {kv.ErrUnavailable, "unavailable"},
}

func (e *engine) newBucket(b *kv.Bucket) *goja.Object {
	vm := e.vm
	o := vm.NewObject()
	fail := func(err error) error { return e.capabilityError("Error", err, kvErrors) }
	// value returns v as get's type asks: a string, an ArrayBuffer or the
	// parsed JSON.
	value := func(v []byte, as string) (goja.Value, error) {
		switch as {
		case "arrayBuffer":
			return vm.ToValue(vm.NewArrayBuffer(v)), nil
		case "json":
			parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
			return parse(goja.Undefined(), vm.ToValue(string(v)))
		}
		return vm.ToValue(string(v)), nil
	}
	must(o.Set("get", func(key, as string) goja.Value {
		return e.settle(func() (goja.Value, error) {
			v, _, err := b.Get(key)
			switch {
			case errors.Is(err, kv.ErrNotFound):
				return goja.Null(), nil
			case err != nil:
				return nil, fail(err)
			}
			return value(v, as)
		})
	}))
	// getWithRevision resolves to {value, revision}: the value as get
	// returns it and the revision a put's ifRevision compares with; a
	// missing key is {value: null, revision: 0}.
	must(o.Set("getWithRevision", func(key, as string) goja.Value {
		return e.settle(func() (goja.Value, error) {
			v, rev, err := b.Get(key)
			out := vm.NewObject()
			switch {
			case errors.Is(err, kv.ErrNotFound):
				must(out.Set("value", goja.Null()))
				must(out.Set("revision", 0))
				return out, nil
			case err != nil:
				return nil, fail(err)
			}
			val, err := value(v, as)
			if err != nil {
				return nil, err
			}
			must(out.Set("value", val))
			must(out.Set("revision", float64(rev)))
			return out, nil
		})
	}))
	// put resolves to the key's new revision. With {ifRevision: n} it is
	// sdk/kv's CAS: it writes only if the key is at revision n (0: only if
	// it does not exist), and otherwise rejects with code "conflict".
	must(o.Set("put", func(key string, v goja.Value, opts goja.Value) goja.Value {
		return e.settle(func() (goja.Value, error) {
			var data []byte
			switch x := v.Export().(type) {
			case goja.ArrayBuffer:
				data = x.Bytes()
			case []byte:
				data = x
			default:
				data = []byte(v.String())
			}
			var rev uint64
			var err error
			if ifRev, ok, cerr := e.ifRevision(opts); cerr != nil {
				return nil, cerr
			} else if ok {
				rev, err = b.CAS(key, data, ifRev)
			} else {
				rev, err = b.Put(key, data)
			}
			if err != nil {
				return nil, fail(err)
			}
			return vm.ToValue(float64(rev)), nil
		})
	}))
	must(o.Set("delete", func(key string) goja.Value {
		return e.settle(func() (goja.Value, error) {
			if err := b.Delete(key); err != nil && !errors.Is(err, kv.ErrNotFound) {
				return nil, fail(err)
			}
			return goja.Undefined(), nil
		})
	}))
	must(o.Set("list", func(prefix string) goja.Value {
		return e.settle(func() (goja.Value, error) {
			keys, err := b.List(prefix)
			if err != nil {
				return nil, fail(err)
			}
			out := make([]any, len(keys))
			for i, k := range keys {
				out[i] = k
			}
			return vm.NewArray(out...), nil
		})
	}))
	return o
}

// ifRevision reads put's options: ok is false when they hold no
// ifRevision, which must otherwise be an integer from 0 to 2^53-1.
func (e *engine) ifRevision(opts goja.Value) (rev uint64, ok bool, err error) {
	if opts == nil || goja.IsUndefined(opts) || goja.IsNull(opts) {
		return 0, false, nil
	}
	v := opts.ToObject(e.vm).Get("ifRevision")
	if v == nil || goja.IsUndefined(v) {
		return 0, false, nil
	}
	f := v.ToFloat()
	if f < 0 || f > 1<<53-1 || f != math.Trunc(f) || math.IsNaN(f) {
		return 0, false, e.thrown(e.vm.NewTypeError("kv: put: ifRevision must be an integer from 0 to 2^53-1, as getWithRevision returns it"))
	}
	return uint64(f), true, nil
}
