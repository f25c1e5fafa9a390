// Command js is pave's JavaScript engine: a pave_v1 reactor, written in Go
// with the pave SDK around the goja ECMAScript engine, that runs one
// function's JavaScript bundle.
//
// pave build compiles it once for GOOS=wasip1 GOARCH=wasm with
// -buildmode=c-shared, and a JavaScript function's module is that engine
// with the function's bundle appended as the custom section "pave.init".
// The host gives a reactor that section as its standard input while it
// initialises (docs/ABI.md), so the engine evaluates the bundle in its
// initialisation and the host's snapshot, taken right after, holds the
// evaluated bundle: every invocation starts from it and from nothing an
// earlier invocation left behind.
//
// Each invocation calls the fetch method of the bundle's default export
// with a web-standard Request and an env object, runs the promise jobs
// until what fetch returned has settled, and answers with the Response.
// docs/JAVASCRIPT.md lists the web APIs the engine provides.
//
// Capabilities are compiled in by build tag, one per group the manifest
// grants (pave_secrets, pave_kv, pave_http, pave_invoke, pave_publish),
// so that an engine never imports a capability group its function is not
// granted: the host refuses such a module at deploy.
package main

func main() {}
