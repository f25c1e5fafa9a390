// Package pave is the Go SDK for pave functions.
//
// A function is a package main that registers its handler from an init
// function and leaves main empty:
//
//	package main
//
//	import pave "github.com/pave-dev/pave/sdk"
//
//	func init() {
//		pave.Handle(func(r *pave.Request) (*pave.Response, error) {
//			return pave.Text(200, "Hello, "+r.Param("name")+"\n"), nil
//		})
//	}
//
//	func main() {}
//
// and is built as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o function.wasm .
//
// The package exports the module's handle function and imports the host
// functions of the pave_v1 ABI (see docs/ABI.md). For every invocation the
// host instantiates the module afresh, runs package initialization and calls
// handle once, which runs the handler. main is never called, so a handler
// must be registered from init, and no package-level state survives from one
// invocation to the next.
//
// A handler that returns an error or panics fails the invocation: the
// reason is logged at error level and the caller gets 502 Bad Gateway,
// never the error text.
//
// Outside WebAssembly the package builds as well, so that handlers can be
// unit tested with go test: Call runs the registered handler on a request
// through the same encoding and decoding the host's call goes through, and
// the log functions write to standard error.
//
// The package deliberately does not use net/http, which would make every
// module several megabytes larger.
package pave
