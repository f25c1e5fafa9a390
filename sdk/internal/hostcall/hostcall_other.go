//go:build !wasip1

package hostcall

// Outside WebAssembly there is no host to call.
const available = false

func readResult([]byte) int32 { return -1 }
