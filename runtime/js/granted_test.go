//go:build pave_secrets && pave_kv && pave_http && pave_invoke && pave_publish

package main

import (
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

// TestGranted is the engine built for a function granted every capability
// group, natively: outside WebAssembly every SDK call fails as
// unavailable, which shows that each API reaches its SDK package and turns
// the SDK's error into a rejection with a code; what the engine refuses
// itself is refused before the SDK is called.
func TestGranted(t *testing.T) {
	load(t, `exports.default = { async fetch(request, env) {
		const expr = await request.text();
		try {
			const p = (0, eval)("(env) => " + expr)(env);
			if (!(p instanceof Promise)) return new Response("returned " + p);
			return await p.then(v => new Response("resolved " + v), e => new Response("rejected " + e.name + " " + e.code + ": " + e.message));
		} catch (e) {
			return new Response("threw " + e.name + ": " + e.message);
		}
	} };`)
	const away = "capabilities are available only to functions running in pave"
	tests := []struct{ expr, want string }{
		{`env.secret("API_KEY")`, `rejected Error unavailable: secrets: get "API_KEY": ` + away},
		{`env.secret("")`, `rejected Error invalid: secrets: get "": a secret name is 1 to 512 bytes`},
		{`fetch("https://api.example.com/v1?token=t0ps3cret", {method: "POST", body: "x"})`, `rejected TypeError unavailable: fetch: POST "api.example.com": ` + away},
		{`fetch(new Request("https://api.example.com/", {method: "PUT", body: new Uint8Array([1])}))`, `rejected TypeError unavailable: fetch: PUT "api.example.com": ` + away},
		{`fetch("/relative")`, "rejected TypeError undefined: Invalid URL: no scheme in /relative"},
		{`fetch("https://api.example.com/", {method: "GET", body: "x"})`, "rejected TypeError undefined: a GET request cannot have a body"},
		{`fetch("https://api.example.com/", {headers: {"bad name": "x"}})`, "rejected TypeError undefined: invalid header name"},
		{`env.invoke("billing", "/charge?dry=1", {body: "{}"})`, `rejected Error unavailable: invoke: call "billing": ` + away},
		{`env.invoke("", "/")`, `rejected Error invalid: invoke: call "": a function name is 1 to 512 bytes`},
		{`env.publish("orders.created", {id: 1})`, `rejected Error unavailable: events: publish "orders.created": ` + away},
		{`env.publish("orders.created", "x", {type: "t"})`, "rejected TypeError undefined: env.publish: an event's attributes are the host's (type is the topic, source the function); it takes no options"},
		{`env.publish("orders.created", undefined)`, `rejected Error unavailable: events: publish "orders.created": ` + away},
		{`env.publish("orders.created", 1n)`, "rejected TypeError undefined: Do not know how to serialize a BigInt"},
		{`env.publish("orders.created", new Uint8Array(1 << 20 + 1))`, `rejected Error limit: events: publish "orders.created": event data is over 1048576 bytes`},
		{`env.kv("orders").getWithRevision("k")`, `rejected Error unavailable: kv: get in bucket "orders": ` + away},
		{`env.kv("orders").put("k", "v", {ifRevision: 3})`, `rejected Error unavailable: kv: cas in bucket "orders": ` + away},
		{`env.kv("orders").put("k", "v", {ifRevision: 0})`, `rejected Error unavailable: kv: cas in bucket "orders": ` + away},
		{`env.kv("orders").put("k", "v", {})`, `rejected Error unavailable: kv: put in bucket "orders": ` + away},
		{`env.kv("orders").put("k", "v", {ifRevision: -1})`, "rejected TypeError undefined: kv: put: ifRevision must be an integer from 0 to 2^53-1, as getWithRevision returns it"},
		{`env.kv("orders").put("k", "v", {ifRevision: 1.5})`, "rejected TypeError undefined: kv: put: ifRevision must be an integer from 0 to 2^53-1, as getWithRevision returns it"},
		{`env.kv("orders").put("bad key!", "v")`, `rejected Error invalid: kv: put in bucket "orders": a key is 1 to 256 letters, digits and - _ = . /, not starting or ending with '.'`},
	}
	for _, tt := range tests {
		resp, err := pave.Call(&pave.Request{Method: "POST", Body: []byte(tt.expr)})
		if err != nil || string(resp.Body) != tt.want {
			t.Errorf("%s\n got %q, %v\nwant %q", tt.expr, resp.Body, err, tt.want)
		}
	}
}
