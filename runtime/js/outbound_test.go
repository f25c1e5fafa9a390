package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/dop251/goja"

	pave "github.com/pave-dev/pave/sdk"
)

// TestNewRequest is what fetch and env.invoke hand their SDK package for
// the arguments a script passes: the prelude's Request checks and converts
// them.
func TestNewRequest(t *testing.T) {
	load(t, `exports.default = { fetch() { return new Response("") } };`)
	e := current
	tests := []struct {
		args      string // the arguments, as JavaScript
		forInvoke bool
		method    string
		url       string
		header    pave.Header
		body      string
		err       string
	}{
		{args: `"https://a.example/p?q=1"`, method: "GET", url: "https://a.example/p?q=1"},
		{args: `"https://a.example/p", {method: "post", body: "hi", headers: {"X-A": "1"}}`, method: "POST", url: "https://a.example/p",
			header: pave.Header{{Name: "x-a", Value: "1"}, {Name: "content-type", Value: "text/plain;charset=UTF-8"}}, body: "hi"},
		{args: `"https://a.example/", {method: "PUT", body: new Uint8Array([104, 105, 33]).subarray(1)}`, method: "PUT", url: "https://a.example/", body: "i!"},
		{args: `"https://a.example/", {method: "POST", body: new URLSearchParams({a: "b c"})}`, method: "POST", url: "https://a.example/",
			header: pave.Header{{Name: "content-type", Value: "application/x-www-form-urlencoded;charset=UTF-8"}}, body: "a=b+c"},
		{args: `"https://a.example/", {method: "PATCH", body: new TextEncoder().encode("x").buffer}`, method: "PATCH", url: "https://a.example/", body: "x"},
		{args: `new Request("https://a.example/r", {method: "DELETE", headers: [["a", "1"], ["a", "2"]]})`, method: "DELETE", url: "https://a.example/r",
			header: pave.Header{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}}},
		{args: `new Request("https://a.example/r"), {method: "HEAD"}`, method: "HEAD", url: "https://a.example/r"},
		{args: `"https://a.example/", {method: "GET", body: "x"}`, err: "TypeError: a GET request cannot have a body"},
		{args: `"https://a.example/", {method: "BAD METHOD"}`, err: "TypeError: invalid method"},
		{args: `"not a url"`, err: "TypeError: Invalid URL"},

		// env.invoke: a path, POST by default.
		{args: `undefined`, forInvoke: true, method: "POST", url: "http://function.invalid/"},
		{args: `"/charge?dry=1", {body: "{}"}`, forInvoke: true, method: "POST", url: "http://function.invalid/charge?dry=1",
			header: pave.Header{{Name: "content-type", Value: "text/plain;charset=UTF-8"}}, body: "{}"},
		{args: `"/items", {method: "GET"}`, forInvoke: true, method: "GET", url: "http://function.invalid/items"},
		{args: `"/a b"`, forInvoke: true, method: "POST", url: "http://function.invalid/a%20b"},
		{args: `new Request("https://ignored.example/x?y=1")`, forInvoke: true, method: "GET", url: "https://ignored.example/x?y=1"},
	}
	for _, tt := range tests {
		args, err := e.vm.RunString("[" + tt.args + "]")
		if err != nil {
			t.Fatalf("%s: %v", tt.args, err)
		}
		a := args.ToObject(e.vm)
		r, err := e.newRequest(a.Get("0"), a.Get("1"), tt.forInvoke)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %+v, %v; want an error %q", tt.args, r, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.args, err)
			continue
		}
		if r.method != tt.method || r.url != tt.url || !slices.Equal(r.header, tt.header) || string(r.body) != tt.body {
			t.Errorf("%s = %q %q %v %q, want %q %q %v %q", tt.args, r.method, r.url, r.header, r.body, tt.method, tt.url, tt.header, tt.body)
		}
	}
}

// TestNewResponse is the Response fetch and env.invoke resolve to: any
// status the host passes on, the fields and body as they came, and the URL
// fetched.
func TestNewResponse(t *testing.T) {
	load(t, `exports.default = { fetch() { return new Response("") } };`)
	e := current
	res, err := e.newResponse(304, pave.Header{{Name: "ETag", Value: `"x"`}, {Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"}}, []byte("body"), "https://a.example/")
	if err != nil {
		t.Fatal(err)
	}
	must(e.vm.Set("res", res))
	got, err := e.vm.RunString(`[res instanceof Response, res.status, res.ok, res.headers.get("etag"), res.headers.getSetCookie().join(";"), res.url, res.bodyUsed].join()`)
	if want := `true,304,false,"x",a=1;b=2,https://a.example/,false`; err != nil || got.String() != want {
		t.Errorf("= %v, %v; want %s", got, err, want)
	}
	p, err := e.vm.RunString(`res.text()`)
	if err != nil {
		t.Fatal(err)
	}
	if pr := p.Export().(*goja.Promise); pr.State() != goja.PromiseStateFulfilled || pr.Result().String() != "body" {
		t.Errorf("text() = %v", pr.Result())
	}
}
