//go:build !wasip1

package main

// linearMemory has no meaning outside WebAssembly.
func linearMemory() []byte { return nil }
