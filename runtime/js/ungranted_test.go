//go:build !pave_secrets && !pave_kv && !pave_http && !pave_invoke && !pave_publish

package main

import (
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

// TestNotGranted is the engine built for a function granted nothing: each
// capability's API is there, and fails with a TypeError that names the
// grant it lacks, kv's at once and the others' as a rejected promise.
func TestNotGranted(t *testing.T) {
	load(t, `exports.default = { async fetch(request, env) {
		const expr = await request.text();
		try {
			const p = (0, eval)("(env) => " + expr)(env);
			if (!(p instanceof Promise)) return new Response("returned " + p);
			return await p.then(() => new Response("resolved"), e => new Response("rejected " + e.name + ": " + e.message));
		} catch (e) {
			return new Response("threw " + e.name + ": " + e.message);
		}
	} };`)
	tests := []struct{ expr, want string }{
		{`env.kv("orders")`, "threw TypeError: env.kv: the manifest grants no kv capability"},
		{`env.secret("API_KEY")`, "rejected TypeError: env.secret: the manifest grants no secrets capability"},
		{`env.invoke("billing", "/charge")`, "rejected TypeError: env.invoke: the manifest grants no invoke capability"},
		{`env.publish("orders.created", {id: 1})`, "rejected TypeError: env.publish: the manifest grants no publish capability"},
		{`fetch("https://api.example.com/")`, "rejected TypeError: fetch: the manifest grants no http capability"},
		{`Object.keys(globalThis).includes("fetch") ? "enumerable" : Promise.resolve()`, "resolved"},
	}
	for _, tt := range tests {
		resp, err := pave.Call(&pave.Request{Method: "POST", Body: []byte(tt.expr)})
		if err != nil || string(resp.Body) != tt.want {
			t.Errorf("%s = %v, %v; want %q", tt.expr, resp, err, tt.want)
		}
	}
}
