package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	pave "github.com/pave-dev/pave/sdk"
)

// current is the engine the registered handler runs, set by each test.
var current *engine

func TestMain(m *testing.M) {
	pave.Handle(func(r *pave.Request) (*pave.Response, error) { return current.serve(r) })
	os.Exit(m.Run())
}

// load evaluates src as the body of an entry point, wrapped as pave build
// wraps one: its exports object becomes the bundle's global.
func load(t *testing.T, src string) {
	t.Helper()
	e, err := newEngine("var " + bundleGlobal + " = (function () { var exports = {};\n" + src + "\nreturn exports; })();")
	if err != nil {
		t.Fatal(err)
	}
	current = e
}

// TestWebAPIs is the conformance table of the web APIs: each expression is
// evaluated inside an async fetch handler, on the request below, and the
// handler answers with String() of its value. What the call logs follows,
// a line "level message" each.
func TestWebAPIs(t *testing.T) {
	load(t, `globalThis.hex = b => [...new Uint8Array(b)].map(x => x.toString(16).padStart(2, "0")).join("");
	globalThis.jefe = usages => crypto.subtle.importKey("raw", new TextEncoder().encode("Jefe"), {name: "HMAC", hash: {name: "SHA-256"}}, false, usages);
	exports.default = { async fetch(request, env) {
		const expr = await request.text();
		return new Response(String(await (0, eval)("(async (request, env) => (" + expr + "))")(request, env)));
	} };`)
	tests := []struct{ expr, want string }{
		// Request.
		{`request.method`, "POST"},
		{`request.url`, "http://fn.example/a%20b/c?x=1&y=%C3%A9"},
		{`request.headers.get("X-Multi")`, "1, 2"},
		{`request.headers.get("content-type")`, "text/plain"},
		{`request.headers.get("missing")`, "null"},
		{`request.headers.has("X-MULTI")`, "true"},
		{`[...request.headers.keys()].join()`, "content-type,host,x-multi"},
		{`request.params.id`, "7"},
		{`request.route`, "/a b/{id}"},
		{`request.caller`, "key:ci"},
		{`request.requestId`, "req-1"},
		{`(() => { const r = new Request(request, {body: "x"}).clone(); return [r.params.id, r.route, r.caller, r.requestId].join() })()`, "7,/a b/{id},key:ci,req-1"},
		{`JSON.stringify([new Request("https://a.example/").params, new Request("https://a.example/").route])`, `[{},""]`},
		{`request.bodyUsed`, "true"},
		{`request.text().then(() => "read twice", e => e.name)`, "TypeError"},
		{`new Request("https://a.example/p", {method: "post", body: "{\"a\":1}"}).json().then(v => v.a)`, "1"},
		{`new Request("https://a.example/p", {method: "PUT", body: new Uint8Array([104, 105])}).text()`, "hi"},
		{`(() => { try { new Request("https://a.example", {method: "GET", body: "x"}) } catch (e) { return e.name } })()`, "TypeError"},
		{`new Request("https://a.example/p").headers.get("content-type")`, "null"},
		{`new Request(new Request("https://a.example/p"), {method: "HEAD"}).method`, "HEAD"},
		{`new Request(new Request("https://a.example/p", {method: "POST", body: "x"})).text()`, "x"},
		{`new Request("https://a.example/p", {method: "POST", body: "x"}).headers.get("content-type")`, "text/plain;charset=UTF-8"},

		// Response.
		{`new Response("x").status`, "200"},
		{`new Response(null, {status: 204}).status`, "204"},
		{`new Response("x").headers.get("content-type")`, "text/plain;charset=UTF-8"},
		{`Response.json({a: [1, "b"]}).text()`, `{"a":[1,"b"]}`},
		{`Response.json({}, {status: 201, headers: {"X-A": "b"}}).headers.get("x-a")`, "b"},
		{`Response.json({}).headers.get("content-type")`, "application/json"},
		{`new Response("x", {status: 404}).ok`, "false"},
		{`Response.redirect("https://a.example/b", 301).headers.get("location")`, "https://a.example/b"},
		{`(() => { try { new Response("x", {status: 99}) } catch (e) { return e.name } })()`, "RangeError"},
		{`(() => { try { new Response("x", {status: 204}) } catch (e) { return e.name } })()`, "TypeError"},
		{`new Response(new TextEncoder().encode("é")).arrayBuffer().then(b => b.byteLength)`, "2"},
		{`new Response("abc").clone().text()`, "abc"},

		// Headers.
		{`(() => { const h = new Headers({A: "1"}); h.append("a", "2"); return h.get("A") })()`, "1, 2"},
		{`(() => { const h = new Headers([["b", "1"], ["a", "2"]]); return [...h].join(";") })()`, "a,2;b,1"},
		{`(() => { const h = new Headers({"Set-Cookie": "a=1"}); h.append("set-cookie", "b=2"); return h.getSetCookie().length })()`, "2"},
		{`(() => { const h = new Headers({a: "1"}); h.set("a", "2"); h.delete("b"); return h.get("a") })()`, "2"},
		{`(() => { try { new Headers({"bad name": "x"}) } catch (e) { return e.name } })()`, "TypeError"},
		{`(() => { try { new Headers({a: "x\ny"}) } catch (e) { return e.name } })()`, "TypeError"},
		{`new Headers({a: "  padded  "}).get("a")`, "padded"},

		// URL and URLSearchParams.
		{`new URL("https://user:pw@Example.COM:8443/a/b?c=d#e").host`, "example.com:8443"},
		{`new URL("https://example.com:443/x").href`, "https://example.com/x"},
		{`new URL("https://example.com").pathname`, "/"},
		{`new URL("../c?d", "https://a.example/x/y/z").href`, "https://a.example/x/c?d"},
		{`new URL("https://a.example/p?a=1&b=2&a=3").searchParams.getAll("a").join()`, "1,3"},
		{`new URL("http://a.example/").origin`, "http://a.example"},
		{`(() => { const u = new URL("https://a.example/p"); u.searchParams.set("q", "a b"); return u.href })()`, "https://a.example/p?q=a+b"},
		{`(() => { try { new URL("/relative") } catch (e) { return e.name } })()`, "TypeError"},
		{`URL.canParse("https://a.example")`, "true"},
		{`JSON.stringify({u: new URL("https://a.example/x")})`, `{"u":"https://a.example/x"}`},
		{`new URLSearchParams("a=1&b=%20x+y&c").toString()`, "a=1&b=+x+y&c="},
		{`new URLSearchParams({a: "é&="}).toString()`, "a=%C3%A9%26%3D"},
		{`new URLSearchParams("?a=%zz").get("a")`, "%zz"},
		{`(() => { const p = new URLSearchParams("b=2&a=1"); p.sort(); return p.toString() })()`, "a=1&b=2"},
		{`new URLSearchParams([["a", "1"]]).size`, "1"},

		// TextEncoder and TextDecoder.
		{`new TextEncoder().encode("aé€😀").length`, "10"},
		{`new TextDecoder().decode(new TextEncoder().encode("aé€😀"))`, "aé€😀"},
		{`new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0x62]))`, "a\uFFFDb"},
		{`(() => { try { new TextDecoder("utf-8", {fatal: true}).decode(new Uint8Array([0xff])) } catch (e) { return e.name } })()`, "TypeError"},
		{`new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]))`, "a"},
		{`(() => { try { new TextDecoder("latin1") } catch (e) { return e.name } })()`, "RangeError"},
		{`new TextDecoder().decode(new Uint8Array([0x61, 0x62, 0x63]).subarray(1))`, "bc"},

		// crypto, atob, btoa, queueMicrotask.
		{`crypto.getRandomValues(new Uint8Array(32)).some(b => b !== 0)`, "true"},
		{`(() => { const a = new Uint32Array(8); return crypto.getRandomValues(a) === a })()`, "true"},
		{`(() => { try { crypto.getRandomValues(new Float64Array(1)) } catch (e) { return e.name } })()`, "TypeError"},
		{`(() => { try { crypto.getRandomValues(new Uint8Array(65537)) } catch (e) { return e.name } })()`, "QuotaExceededError"},
		{`/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID())`, "true"},
		{`crypto.randomUUID() !== crypto.randomUUID()`, "true"},
		{`btoa("hello\xff")`, "aGVsbG//"},
		{`atob("aGVsbG//")`, "hello\u00ff"},
		{`atob(" aGVs bG8 ")`, "hello"},
		{`atob("aGVsbG8=")`, "hello"},
		{`(() => { try { btoa("€") } catch (e) { return e.name } })()`, "InvalidCharacterError"},
		{`(() => { try { atob("a") } catch (e) { return e.name } })()`, "InvalidCharacterError"},
		{`(() => { try { atob("a$bc") } catch (e) { return e.name } })()`, "InvalidCharacterError"},
		{`new Promise(r => queueMicrotask(() => r("ran")))`, "ran"},

		// crypto.subtle: FIPS 180-2's "abc" and RFC 4231's test case 2.
		{`crypto.subtle.digest("SHA-256", new TextEncoder().encode("abc")).then(hex)`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{`crypto.subtle.digest({name: "sha-1"}, new TextEncoder().encode("abc")).then(hex)`, "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{`crypto.subtle.digest("SHA-384", new Uint8Array(0)).then(b => b.byteLength)`, "48"},
		{`crypto.subtle.digest("MD5", new Uint8Array(0)).catch(e => e.name)`, "NotSupportedError"},
		{`jefe(["sign"]).then(k => crypto.subtle.sign("HMAC", k, new TextEncoder().encode("what do ya want for nothing?"))).then(hex)`, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{`(async () => { const k = await jefe(["sign", "verify"]); const data = new TextEncoder().encode("what do ya want for nothing?"); const sig = await crypto.subtle.sign("HMAC", k, data); const bad = new Uint8Array(sig.slice(0)); bad[0] ^= 1; return [await crypto.subtle.verify("HMAC", k, sig, data), await crypto.subtle.verify({name: "HMAC"}, k, bad, data), await crypto.subtle.verify("HMAC", k, sig.slice(1), data)].join() })()`, "true,false,false"},
		{`jefe(["verify"]).then(k => crypto.subtle.sign("HMAC", k, new Uint8Array(1))).catch(e => e.name)`, "InvalidAccessError"},
		{`jefe(["sign"]).then(k => [k.type, k.algorithm.name, k.algorithm.hash.name, k.algorithm.length, k.extractable, k.usages.join()].join())`, "secret,HMAC,SHA-256,32,false,sign"},
		{`jefe(["sign"]).then(k => crypto.subtle.exportKey("raw", k)).catch(e => e.name)`, "InvalidAccessError"},
		{`crypto.subtle.importKey("raw", new TextEncoder().encode("Jefe"), {name: "HMAC", hash: "SHA-256"}, true, ["sign"]).then(k => crypto.subtle.exportKey("raw", k)).then(b => new TextDecoder().decode(b))`, "Jefe"},
		{`crypto.subtle.importKey("pkcs8", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, ["sign"]).catch(e => e.name)`, "NotSupportedError"},
		{`crypto.subtle.importKey("jwk", {kty: "oct", k: "SmVmZQ"}, {name: "HMAC", hash: "SHA-256"}, false, ["sign"]).then(k => crypto.subtle.sign("HMAC", k, new TextEncoder().encode("what do ya want for nothing?"))).then(hex)`, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{`crypto.subtle.importKey("jwk", {kty: "oct", k: "SmVmZQ", alg: "HS512"}, {name: "HMAC", hash: "SHA-256"}, false, ["sign"]).catch(e => e.name)`, "DataError"},
		{`crypto.subtle.importKey("jwk", {kty: "oct", k: "SmVmZQ"}, {name: "HMAC", hash: "SHA-256"}, true, ["sign"]).then(k => crypto.subtle.exportKey("jwk", k)).then(j => [j.kty, j.k, j.alg, j.key_ops.join(), j.ext].join())`, "oct,SmVmZQ,HS256,sign,true"},
		{`crypto.subtle.generateKey({name: "HMAC", hash: "SHA-512"}, false, ["sign", "verify"]).then(k => [k.type, k.algorithm.length, k.extractable].join())`, "secret,1024,false"},
		{`crypto.subtle.generateKey({name: "HMAC", hash: "SHA-256"}, false, ["sign", "verify"]).then(async k => crypto.subtle.verify("HMAC", k, await crypto.subtle.sign("HMAC", k, new Uint8Array([1])), new Uint8Array([1])))`, "true"},
		{`crypto.subtle.importKey("raw", new Uint8Array(4), {name: "AES-GCM"}, false, ["encrypt"]).catch(e => e.name)`, "NotSupportedError"},
		{`crypto.subtle.importKey("raw", new Uint8Array(4), {name: "HMAC", hash: "SHA-256"}, false, ["encrypt"]).catch(e => e.name)`, "SyntaxError"},
		{`crypto.subtle.sign("HMAC", {type: "secret", usages: ["sign"], algorithm: {hash: {name: "SHA-256"}}}, new Uint8Array(1)).catch(e => e.name)`, "TypeError"},

		// Timers.
		{`new Promise(r => setTimeout(() => r("later"), 5))`, "later"},
		{`new Promise(r => { const out = []; setTimeout(() => out.push(2), 10); setTimeout(() => out.push(1), 1); setTimeout(() => r(out.join()), 20) })`, "1,2"},
		{`new Promise(r => { const out = []; for (const n of [1, 2, 3]) setTimeout(() => out.push(n), 0); setTimeout(() => r(out.join()), 0) })`, "1,2,3"},
		{`new Promise(r => { const id = setTimeout(() => r("cleared, and ran"), 1); clearTimeout(id); setTimeout(() => r("cleared"), 2) })`, "cleared"},
		{`new Promise(r => setTimeout((a, b) => r(a + b), 0, "x", "y"))`, "xy"},
		{`new Promise(r => { let n = 0; const id = setInterval(() => { if (++n === 3) { clearInterval(id); r(n) } }, 1) })`, "3"},
		{`(async () => { await new Promise(r => setTimeout(r, 1)); return "awaited" })()`, "awaited"},
		{`new Promise(r => { setTimeout(() => { throw new Error("boom") }, 0); setTimeout(() => r("went on"), 1) })`, "went on\nerror uncaught in a timer: Error: boom\n\tat <eval>"},
		{`(() => { try { setTimeout("code", 1) } catch (e) { return e.name } })()`, "TypeError"},
		{`typeof setTimeout(() => {}, 1)`, "number"},

		// structuredClone.
		{`structuredClone(1) + structuredClone("s") + structuredClone(null) + structuredClone(undefined) + structuredClone(2n)`, "1snullundefined2"},
		{`JSON.stringify(structuredClone({a: [1, {b: "c"}], d: null}))`, `{"a":[1,{"b":"c"}],"d":null}`},
		{`(() => { const o = {a: {}}; const c = structuredClone(o); return c !== o && c.a !== o.a })()`, "true"},
		{`(() => { const o = {}; o.self = o; const c = structuredClone(o); return c.self === c && c !== o })()`, "true"},
		{`(() => { const s = {}; const c = structuredClone([s, s]); return c[0] === c[1] && c[0] !== s })()`, "true"},
		{`(() => { const a = [1, , 3]; const c = structuredClone(a); return c.length + ":" + (1 in c) })()`, "3:false"},
		{`structuredClone(new Date(86400000)).toISOString()`, "1970-01-02T00:00:00.000Z"},
		{`(() => { const r = structuredClone(/a+b/gi); return r.source + r.flags + r.test("AAB") })()`, "a+bgitrue"},
		{`(() => { const m = structuredClone(new Map([[{k: 1}, new Set([1, 2])]])); const [[k, v]] = m; return k.k + ":" + [...v] })()`, "1:1,2"},
		{`(() => { const b = new Uint8Array([1, 2, 3]); const c = structuredClone(b); b[0] = 9; return c + ":" + (c.buffer !== b.buffer) })()`, "1,2,3:true"},
		{`(() => { const buf = new ArrayBuffer(8); const [a, b] = structuredClone([new Uint8Array(buf, 2, 2), new DataView(buf)]); return (a.buffer === b.buffer) + ":" + a.byteOffset + ":" + (b instanceof DataView) })()`, "true:2:true"},
		{`(() => { const e = structuredClone(new RangeError("r", {cause: 1})); return e instanceof RangeError && e.message + e.cause })()`, "r1"},
		{`(() => { class E extends TypeError {}; const e = structuredClone(new E("x")); return e.constructor.name })()`, "TypeError"},
		{`(() => { class P { constructor() { this.x = 1 } m() {} }; const c = structuredClone(new P()); return (c instanceof P) + ":" + c.x })()`, "false:1"},
		{`typeof structuredClone(new Number(1))`, "object"},
		{`(() => { const c = structuredClone({get g() { return "read" }}); return Object.getOwnPropertyDescriptor(c, "g").value })()`, "read"},
		{`(() => { try { structuredClone({f() {}}) } catch (e) { return e.name } })()`, "DataCloneError"},
		{`(() => { try { structuredClone(Symbol("s")) } catch (e) { return e.name } })()`, "DataCloneError"},
		{`(() => { try { structuredClone(Promise.resolve()) } catch (e) { return e.name } })()`, "DataCloneError"},
		{`(() => { try { structuredClone(new Headers()) } catch (e) { return e.name } })()`, "DataCloneError"},
		{`(() => { try { structuredClone(request) } catch (e) { return e.name } })()`, "DataCloneError"},
		{`(() => { try { structuredClone(new ArrayBuffer(1), {transfer: [new ArrayBuffer(1)]}) } catch (e) { return e.name } })()`, "DataCloneError"},
		{`(() => { try { structuredClone() } catch (e) { return e.name } })()`, "TypeError"},

		// console: a line each in the function's log.
		{`console.log("a", 1, {b: [2]}, null, undefined)`, "undefined\ninfo a 1 {\"b\":[2]} null undefined"},
		{`(console.debug("d"), console.info("i"), console.warn("w"), console.error("e"), console.trace("t"), "")`, "\ndebug d\ninfo i\nwarn w\nerror e\ndebug t"},
		{`console.log(function named() {}, () => 1, Symbol.iterator === Symbol.iterator)`, "undefined\ninfo [Function: named] [Function] true"},
		{`(() => { const o = {}; o.o = o; console.log(o) })()`, "undefined\ninfo [object Object]"},
		{`console.error(new TypeError("bad"))`, "undefined\nerror TypeError: bad\n\tat <eval>"},

		// The environment.
		{`typeof env.kv`, "function"},
		{`typeof __pave_native`, "undefined"},
		{`typeof console.log`, "function"},
		{`(async () => { await null; await Promise.resolve(); return "settled" })()`, "settled"},
	}
	var logged strings.Builder
	logLine = func(level pave.Level, msg string) { fmt.Fprintf(&logged, "\n%s %s", level, msg) }
	defer func() { logLine = pave.Log }()
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			logged.Reset()
			resp, err := pave.Call(&pave.Request{
				Method: "POST", Path: "/a b/c", RawQuery: "x=1&y=%C3%A9",
				Route: "/a b/{id}", Params: []pave.Param{{Name: "id", Value: "7"}},
				Caller: "key:ci", RequestID: "req-1",
				Header: pave.Header{{Name: "Host", Value: "fn.example"}, {Name: "X-Multi", Value: "1"}, {Name: "x-multi", Value: "2"}, {Name: "Content-Type", Value: "text/plain"}},
				Body:   []byte(tt.expr),
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(resp.Body) + logged.String(); resp.Status != 200 || !matches(got, tt.want) {
				t.Errorf("%d %q, want %q", resp.Status, got, tt.want)
			}
		})
	}
}

// matches reports whether got is want or, for a want that ends in a stack
// frame ("\tat name"), whether got starts with it: the rest of a stack
// has positions in the evaluated code.
func matches(got, want string) bool {
	if i := strings.LastIndex(want, "\tat "); i >= 0 && !strings.Contains(want[i:], "\n") {
		return strings.HasPrefix(got, want)
	}
	return got == want
}

func TestResponses(t *testing.T) {
	load(t, `exports.default = { fetch(request) {
		switch (new URL(request.url).pathname) {
		case "/sync": return new Response("sync", {status: 418, headers: [["X-A", "1"], ["x-a", "2"]]});
		case "/empty": return new Response(null, {status: 204});
		case "/bytes": return new Response(new Uint8Array([0, 1, 255]));
		}
	} };`)
	tests := []struct {
		path   string
		status int
		header pave.Header
		body   string
	}{
		{"/sync", 418, pave.Header{{Name: "x-a", Value: "1"}, {Name: "x-a", Value: "2"}, {Name: "content-type", Value: "text/plain;charset=UTF-8"}}, "sync"},
		{"/empty", 204, nil, ""},
		{"/bytes", 200, nil, "\x00\x01\xff"},
	}
	for _, tt := range tests {
		resp, err := pave.Call(&pave.Request{Path: tt.path})
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		if resp.Status != tt.status || string(resp.Body) != tt.body || len(resp.Header) != len(tt.header) {
			t.Errorf("%s = %d %v %q, want %d %v %q", tt.path, resp.Status, resp.Header, resp.Body, tt.status, tt.header, tt.body)
			continue
		}
		for i := range tt.header {
			if resp.Header[i] != tt.header[i] {
				t.Errorf("%s: header %d = %v, want %v", tt.path, i, resp.Header[i], tt.header[i])
			}
		}
	}
}

func TestFailures(t *testing.T) {
	load(t, `exports.default = { async fetch(request) {
		switch (new URL(request.url).pathname) {
		case "/throw": throw new Error("boom");
		case "/pending": return new Promise(() => {});
		case "/string": return "x";
		case "/recurse": const f = n => f(n + 1) + 1; return new Response(String(f(0)));
		case "/bad-header": return new Response("x", {headers: {"x": "a"}}).headers.set("y z", "b");
		}
	} };`)
	for _, path := range []string{"/throw", "/pending", "/string", "/recurse", "/bad-header"} {
		if path == "/recurse" {
			var b strings.Builder
			logLine = func(_ pave.Level, msg string) { b.WriteString(msg) }
			_, err := pave.Call(&pave.Request{Path: path})
			logLine = pave.Log
			want := "uncaught RangeError: Maximum call stack size exceeded (10000 nested calls)\n\tat f (bundle.js:"
			if err == nil || !strings.Contains(b.String(), want) {
				t.Errorf("%s logged %q, want %q", path, b.String(), want)
			}
			continue
		}
		resp, err := pave.Call(&pave.Request{Path: path})
		if err == nil || resp != nil {
			t.Errorf("%s = %v, %v; want an error", path, resp, err)
		}
	}
}

func TestShorten(t *testing.T) {
	long := "Error: x" + strings.Repeat("\n\tat f (bundle.js:1:1(1))", 100)
	got := shorten(long)
	if n := strings.Count(got, "\n"); n != maxStackLines {
		t.Errorf("shorten kept %d line breaks, want %d:\n%s", n, maxStackLines, got)
	}
	if !strings.HasSuffix(got, "\n\t... 77 more lines") {
		t.Errorf("shorten = ...%q", got[len(got)-40:])
	}
	if short := "Error: x\n\tat f"; shorten(short) != short {
		t.Errorf("shorten(%q) = %q", short, shorten(short))
	}
}

func TestNewEngineErrors(t *testing.T) {
	tests := []struct{ bundle, want string }{
		{"var " + bundleGlobal + " = {};", "no default export"},
		{"var " + bundleGlobal + " = {default: 1};", "must be an object with a fetch method"},
		{"var " + bundleGlobal + " = {default: {}};", "has no fetch method"},
		{"var x = 1;", "does not define " + bundleGlobal},
		{"throw new TypeError('at the top')", "TypeError: at the top"},
		{"var x = ;", "SyntaxError"},
	}
	for _, tt := range tests {
		_, err := newEngine(tt.bundle)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("newEngine(%q) = %v, want an error containing %q", tt.bundle, err, tt.want)
		}
	}
}

// BenchmarkServe is one call of a small handler, natively: the engine's
// own cost, without WebAssembly.
func BenchmarkServe(b *testing.B) {
	e, err := newEngine("var " + bundleGlobal + ` = {default: {fetch(request) {
		return new Response("Hello, " + (new URL(request.url).searchParams.get("name") || "world") + "!\n");
	}}};`)
	if err != nil {
		b.Fatal(err)
	}
	current = e
	req := &pave.Request{Method: "GET", Path: "/hello", RawQuery: "name=Ada"}
	for b.Loop() {
		if _, err := pave.Call(req); err != nil {
			b.Fatal(err)
		}
	}
}
