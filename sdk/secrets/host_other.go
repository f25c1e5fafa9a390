//go:build !wasip1

package secrets

import "github.com/pave-dev/pave/abi"

// hostGet stands in for the import outside WebAssembly, where
// hostcall.Call never calls it.
func hostGet(string) int32 { return abi.ErrCodeUnavailable }
