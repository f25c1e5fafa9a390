package main

import (
	"crypto"
	"crypto/hmac"
	_ "crypto/sha1" // the digests crypto.Hash.New needs linked in
	_ "crypto/sha256"
	_ "crypto/sha512"
	"hash"

	"github.com/dop251/goja"
)

// The native half of crypto.subtle: digests and HMAC over the standard
// library's implementations. The prelude checks the algorithms, keys and
// usages as Web Crypto does and calls these with a hash name it has
// normalised.

// hashes are the digests crypto.subtle offers, by Web Crypto's names.
var hashes = map[string]crypto.Hash{
	"SHA-1":   crypto.SHA1,
	"SHA-256": crypto.SHA256,
	"SHA-384": crypto.SHA384,
	"SHA-512": crypto.SHA512,
}

// subtleBytes returns the bytes of v, an ArrayBuffer the prelude passes to
// a native of crypto.subtle, or throws a TypeError.
func (e *engine) subtleBytes(v goja.Value) []byte {
	b, ok := v.Export().(goja.ArrayBuffer)
	if !ok {
		panic(e.vm.NewTypeError("crypto.subtle: not an ArrayBuffer"))
	}
	return b.Bytes()
}

// defineSubtle adds the native functions crypto.subtle is built on.
func (e *engine) defineSubtle(n *goja.Object) {
	vm := e.vm
	newHash := func(name string) func() hash.Hash {
		h, ok := hashes[name]
		if !ok {
			panic(vm.NewTypeError("crypto.subtle: unsupported hash " + name))
		}
		return h.New
	}
	bytes := e.subtleBytes
	must(n.Set("digest", func(c goja.FunctionCall) goja.Value {
		h := newHash(c.Argument(0).String())()
		h.Write(bytes(c.Argument(1)))
		return vm.ToValue(vm.NewArrayBuffer(h.Sum(nil)))
	}))
	must(n.Set("hmac", func(c goja.FunctionCall) goja.Value {
		m := hmac.New(newHash(c.Argument(0).String()), bytes(c.Argument(1)))
		m.Write(bytes(c.Argument(2)))
		return vm.ToValue(vm.NewArrayBuffer(m.Sum(nil)))
	}))
	// hmacEqual compares in constant time, as a verify must.
	must(n.Set("hmacEqual", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(hmac.Equal(bytes(c.Argument(0)), bytes(c.Argument(1))))
	}))
}
