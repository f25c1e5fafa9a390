//go:build pave_kv

package main

import (
	"errors"

	"github.com/dop251/goja"

	"github.com/pave-dev/pave/sdk/kv"
)

// env.kv(bucket) returns a bucket with promise-returning get, put, delete
// and list, backed by sdk/kv. Built only for functions granted kv: the
// engine then imports pave_kv_v1.
var _ = func() bool {
	capabilities = append(capabilities, func(vm *goja.Runtime, env *goja.Object) {
		must(env.Set("kv", func(call goja.FunctionCall) goja.Value {
			return newBucket(vm, kv.Open(call.Argument(0).String()))
		}))
	})
	return true
}()

func newBucket(vm *goja.Runtime, b *kv.Bucket) *goja.Object {
	o := vm.NewObject()
	// settle returns a promise settled with what fn returns: the host call
	// is synchronous, so the promise is settled before it is returned.
	settle := func(fn func() (any, error)) goja.Value {
		p, resolve, reject := vm.NewPromise()
		v, err := fn()
		if err != nil {
			must(reject(vm.NewGoError(err)))
		} else {
			must(resolve(v))
		}
		return vm.ToValue(p)
	}
	must(o.Set("get", func(key, as string) goja.Value {
		return settle(func() (any, error) {
			v, _, err := b.Get(key)
			switch {
			case errors.Is(err, kv.ErrNotFound):
				return nil, nil
			case err != nil:
				return nil, err
			case as == "arrayBuffer":
				return vm.NewArrayBuffer(v), nil
			case as == "json":
				parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
				return parse(goja.Undefined(), vm.ToValue(string(v)))
			}
			return string(v), nil
		})
	}))
	must(o.Set("put", func(key string, value goja.Value) goja.Value {
		return settle(func() (any, error) {
			var data []byte
			switch v := value.Export().(type) {
			case goja.ArrayBuffer:
				data = v.Bytes()
			case []byte:
				data = v
			default:
				data = []byte(value.String())
			}
			_, err := b.Put(key, data)
			return goja.Undefined(), err
		})
	}))
	must(o.Set("delete", func(key string) goja.Value {
		return settle(func() (any, error) {
			if err := b.Delete(key); err != nil && !errors.Is(err, kv.ErrNotFound) {
				return nil, err
			}
			return goja.Undefined(), nil
		})
	}))
	must(o.Set("list", func(prefix string) goja.Value {
		return settle(func() (any, error) {
			keys, err := b.List(prefix)
			if err != nil {
				return nil, err
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
