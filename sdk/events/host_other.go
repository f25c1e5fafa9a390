//go:build !wasip1

package events

import "github.com/pave-dev/pave/abi"

// hostPublish stands in for the import outside WebAssembly, where
// hostcall.Call never calls it.
func hostPublish(string, []byte) int32 { return abi.ErrCodeUnavailable }
