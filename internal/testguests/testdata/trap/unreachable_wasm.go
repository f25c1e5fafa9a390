package main

// unreachable executes the WebAssembly unreachable instruction, which traps.
func unreachable()
