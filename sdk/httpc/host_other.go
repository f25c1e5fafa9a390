//go:build !wasip1

package httpc

import "github.com/pave-dev/pave/abi"

// hostFetch stands in for the import outside WebAssembly, where
// hostcall.Call never calls it.
func hostFetch([]byte) int32 { return abi.ErrCodeUnavailable }
