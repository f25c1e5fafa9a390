//go:build pave_kv

package main

import (
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

// Outside WebAssembly every kv operation fails as unavailable, which is
// enough to see each method return a promise that rejects with the SDK's
// error.
func TestKVOutsideWasm(t *testing.T) {
	load(t, `exports.default = { async fetch(request, env) {
		const b = env.kv("orders");
		const out = [];
		for (const op of [() => b.get("a"), () => b.put("a", "v"), () => b.delete("a"), () => b.list("")]) {
			const p = op();
			out.push(p instanceof Promise);
			await p.then(() => out.push("resolved"), e => out.push(e.message.includes("only to functions running in pave")));
		}
		return new Response(out.join());
	} };`)
	resp, err := pave.Call(nil)
	if want := "true,true,true,true,true,true,true,true"; err != nil || string(resp.Body) != want {
		t.Errorf("= %q, %v; want %q", resp.Body, err, want)
	}
}
