//go:build !wasip1

package invoke

import "github.com/pave-dev/pave/abi"

// hostCall stands in for the import outside WebAssembly, where
// hostcall.Call never calls it.
func hostCall(string, []byte) int32 { return abi.ErrCodeUnavailable }
