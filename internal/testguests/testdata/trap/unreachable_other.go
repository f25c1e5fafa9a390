//go:build !wasm

package main

// unreachable stands in for the WebAssembly trap when the guest is built
// natively.
func unreachable() {
	panic("trap: unreachable")
}
