// Command noexport is a test guest that is a valid WASI reactor but does not
// use the SDK, so it exports no handle function; the host must refuse it.
package main

// greeting is set by init so that the module has initialization work to do.
var greeting string

func init() {
	greeting = "initialized"
}

func main() {}
